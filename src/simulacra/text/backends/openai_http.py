"""Any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, OpenAI) through the ``openai`` client.

Requests run concurrently under a cap; failures that may pass (HTTP 408/409/429/5xx, timeouts, refused
connections, dropped connections, a body that is not a chat completion) are retried with exponential
backoff and jitter, honouring ``Retry-After``; HTTP 429 also halves the concurrency for a while. A request
that still fails comes back with ``error`` set.

Two clocks bound a run against a server that is down, hangs or crashes: ``timeout`` limits each attempt,
and ``deadline`` ends the whole run once the server has given no answer for that many seconds (from the
start of the run or from its last answer): every request still waiting then fails at once, and so does
every later request of this backend, so that a task finishes with the rows it has.

Structured output: OpenAI and vLLM take ``response_format={"type": "json_schema", ...}``;
llama-cpp-python's server answers 500 to that form but takes ``{"type": "json_object", "schema": ...}``.
``schema_mode="auto"`` tries the first and switches to the second once if the server refuses it.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

from simulacra.errors import InputError, require
from simulacra.text.backends import ResultCallback
from simulacra.text.backends.limiter import AdaptiveLimiter, backoff_delay, parse_retry_after
from simulacra.text.schema import grammar_schema
from simulacra.text.types import ChatRequest, Completion

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
SCHEMA_MODES = ("auto", "json_schema", "json_object", "none")


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible HTTP server.

    Parameters
    ----------
    base_url
        E.g. ``http://127.0.0.1:8000/v1``.
    model
        The served model's name; None asks the server (``GET /models``) and takes the first.
    api_key
        Defaults to ``$OPENAI_API_KEY`` or a placeholder (local servers ignore it).
    concurrency
        Most requests in flight at once (lowered adaptively on HTTP 429).
    max_retries, timeout, backoff_base, backoff_max
        Retry policy: up to ``max_retries`` retries, each attempt limited to ``timeout`` seconds.
    deadline
        Seconds without any answer from the server after which the run stops (None: never).
    schema_mode
        ``auto``, ``json_schema``, ``json_object`` (llama.cpp server) or ``none`` (validate only).

    Examples
    --------
    >>> from simulacra.testing.llm import FakeOpenAIServer
    >>> with FakeOpenAIServer() as srv:
    ...     out = OpenAIBackend(srv.url).complete([ChatRequest.user("hello")])
    >>> out[0].text
    'echo: hello'
    """

    supports_schema = True

    def __init__(self, base_url: str, *, model: str | None = None, api_key: str | None = None, concurrency: int = 8,
                 max_retries: int = 6, timeout: float = 60.0, deadline: float | None = 180.0, backoff_base: float = 0.5,
                 backoff_max: float = 30.0, schema_mode: str = "auto", seed: int | None = None, **_ignored: Any) -> None:
        if schema_mode not in SCHEMA_MODES:
            raise InputError(f"schema_mode must be one of {', '.join(SCHEMA_MODES)}, got '{schema_mode}'")
        if not timeout or timeout <= 0 or (deadline is not None and deadline <= 0) or max_retries < 0:
            raise InputError("timeout and deadline must be positive numbers of seconds, and max_retries >= 0")
        require("openai", "llm", "talking to OpenAI-compatible servers")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "sk-local-no-key"
        self.timeout = float(timeout)
        self.deadline = float(deadline) if deadline is not None else None
        self.gave_up: str | None = None
        self._last_answer = time.monotonic()
        self.model = model or self._first_model()
        self.model_id = f"openai:{self.model}"
        self.concurrency = max(1, int(concurrency))
        self.max_retries = int(max_retries)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.schema_mode = schema_mode
        self.retries = 0
        self.rate_limited = 0
        self._schema_confirmed = False
        self._rng = random.Random(seed)

    def _first_model(self) -> str:
        import openai

        client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=1, timeout=min(self.timeout, 30.0))
        try:
            models = [str(m.id) for m in client.models.list()]
        except Exception as exc:  # refused, timed out, or an answer that is not a model list
            raise InputError(f"Could not list the models of {self.base_url} ({_short(exc)}); is the server running? "
                             "Pass --model NAME to skip this step") from exc
        finally:
            client.close()
        if not models:
            raise InputError(f"The server {self.base_url} serves no model; pass --model NAME")
        return str(models[0])

    def complete(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None = None) -> list[Completion]:
        """Answer ``requests`` concurrently (in order); never raises for one failed request."""
        if not requests:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run(requests, on_result))
        box: list[list[Completion]] = []  # inside a running loop (e.g. Jupyter): use a worker thread
        worker = threading.Thread(target=lambda: box.append(asyncio.run(self._run(requests, on_result))))
        worker.start()
        worker.join()
        return box[0]

    async def _run(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None) -> list[Completion]:
        import openai

        client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=0, timeout=self.timeout)
        limiter = AdaptiveLimiter(self.concurrency)
        results: list[Completion | None] = [None] * len(requests)
        self._last_answer = time.monotonic()

        async def one(i: int) -> None:
            comp = await self._with_retries(client, limiter, requests[i])
            results[i] = comp
            if on_result is not None:
                on_result(i, comp)

        try:
            await asyncio.gather(*(one(i) for i in range(len(requests))))
        finally:
            self.rate_limited += limiter.rate_limited
            await client.close()
        return [r if r is not None else Completion("", error="not run") for r in results]

    def _left(self) -> float | None:
        """Seconds until the deadline (None: no deadline); marks the backend as given up when it passes."""
        if self.deadline is None:
            return None
        left = self._last_answer + self.deadline - time.monotonic()
        if left <= 0 and self.gave_up is None:
            self.gave_up = (f"the server at {self.base_url} gave no answer for {self.deadline:g} s (--deadline); "
                            "stopped")
        return left

    async def _with_retries(self, client: Any, limiter: AdaptiveLimiter, req: ChatRequest) -> Completion:
        last = "unknown error"
        for attempt in range(self.max_retries + 1):
            left = self._left()
            if self.gave_up is not None:
                return Completion("", error=f"{self.gave_up}; last error: {last}" if attempt else self.gave_up)
            await limiter.acquire()
            start = time.perf_counter()
            try:
                limit = self.timeout if left is None else max(0.01, min(self.timeout, left))
                outcome = await asyncio.wait_for(self._attempt(client, limiter, req), timeout=limit)
            except asyncio.TimeoutError:
                outcome = (True, None, f"Timeout: no answer within {limit:g} s")
            finally:
                await limiter.release()
            retry, wait, result = outcome
            if isinstance(result, Completion):
                result.seconds = time.perf_counter() - start
                return result
            last = str(result)
            if retry == "switch":
                continue
            if not retry:
                return Completion("", error=last)
            if attempt < self.max_retries:
                self.retries += 1
                delay = max(backoff_delay(attempt, self.backoff_base, self.backoff_max, self._rng), wait or 0.0)
                left = self._left()
                await asyncio.sleep(delay if left is None else max(0.0, min(delay, left)))
        return Completion("", error=f"gave up after {self.max_retries + 1} attempts; last: {last}")

    async def _attempt(self, client: Any, limiter: AdaptiveLimiter, req: ChatRequest) -> tuple[Any, float | None, Any]:
        """One try: ``(retry?, wait, Completion or error text)``; never raises for what the server does."""
        import openai

        try:
            resp = await client.chat.completions.create(**self._payload(req))
        except openai.APIStatusError as exc:
            status, msg = exc.status_code, f"HTTP {exc.status_code}: {_short(exc)}"
            wait = parse_retry_after(exc.response.headers.get("retry-after"))
            if status == 429:
                limiter.on_rate_limited(wait)
            if req.schema is not None and self._maybe_switch_mode(status):
                return "switch", None, msg
            return status in RETRY_STATUSES, wait, msg
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            return True, None, f"{type(exc).__name__}: {_short(exc)}"
        except Exception as exc:  # a 200 whose body is not JSON, a broken stream: a failed attempt like any other
            return True, None, f"bad response ({type(exc).__name__}: {_short(exc)})"
        try:
            comp = _completion(resp, 0.0)
        except Exception as exc:
            return True, None, f"bad response (not a chat completion: {_short(exc)})"
        limiter.on_success()
        self._last_answer = time.monotonic()
        if req.schema is not None:
            self._schema_confirmed = True
        return False, None, comp

    def _maybe_switch_mode(self, status: int) -> bool:
        if self.schema_mode == "auto" and not self._schema_confirmed and status in (400, 422, 500):
            self.schema_mode = "json_object"  # llama-cpp-python's server rejects the json_schema form
            return True
        return False

    def _payload(self, req: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            # a raw (few-shot completion) prompt goes as one user message: served models are chat models
            "model": self.model, "max_tokens": req.max_tokens,
            "messages": [{"role": "user", "content": req.raw_prompt}] if req.raw_prompt is not None else list(req.messages),
            "temperature": req.temperature, "top_p": req.top_p, "seed": req.seed,
        }
        if req.stop:
            body["stop"] = list(req.stop)
        mode = self.schema_mode
        if req.schema is not None and mode != "none":
            if mode in ("auto", "json_schema"):
                body["response_format"] = {"type": "json_schema",
                                           "json_schema": {"name": "output", "schema": req.schema, "strict": False}}
            else:  # llama.cpp's server: its grammar cannot take long string bounds (checked after decoding)
                body["response_format"] = {"type": "json_object", "schema": grammar_schema(req.schema)}
        return body

    def close(self) -> None:
        """Nothing held between batches."""


def _completion(resp: Any, seconds: float) -> Completion:
    choices = getattr(resp, "choices", None)
    if not choices:
        raise ValueError("no choices in the answer")
    choice = choices[0]
    text = choice.message.content or ""
    if not isinstance(text, str):
        raise ValueError("the message content is not text")
    usage = getattr(resp, "usage", None)
    return Completion(
        text,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        finish_reason=str(getattr(choice, "finish_reason", "stop") or "stop"),
        seconds=seconds,
    )


def _short(exc: Exception) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) < 160 else text[:157] + "..."


__all__ = ["OpenAIBackend", "RETRY_STATUSES"]
