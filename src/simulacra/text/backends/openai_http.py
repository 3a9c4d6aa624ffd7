"""Any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama, OpenAI) through the ``openai`` client.

Requests run concurrently under a cap; failures that may pass (HTTP 408/409/429/5xx, timeouts, refused
connections) are retried with exponential backoff and jitter, honouring ``Retry-After``; HTTP 429 also
halves the concurrency for a while. A request that still fails comes back with ``error`` set.

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
        Retry policy: up to ``max_retries`` retries, each request limited to ``timeout`` seconds.
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
                 max_retries: int = 8, timeout: float = 120.0, backoff_base: float = 0.5, backoff_max: float = 30.0,
                 schema_mode: str = "auto", seed: int | None = None, **_ignored: Any) -> None:
        if schema_mode not in SCHEMA_MODES:
            raise InputError(f"schema_mode must be one of {', '.join(SCHEMA_MODES)}, got '{schema_mode}'")
        require("openai", "llm", "talking to OpenAI-compatible servers")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "sk-local-no-key"
        self.model = model or self._first_model()
        self.model_id = f"openai:{self.model}"
        self.concurrency = max(1, int(concurrency))
        self.max_retries = int(max_retries)
        self.timeout = float(timeout)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.schema_mode = schema_mode
        self.retries = 0
        self.rate_limited = 0
        self._schema_confirmed = False
        self._rng = random.Random(seed)

    def _first_model(self) -> str:
        import openai

        client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=2, timeout=30)
        try:
            models = [m.id for m in client.models.list()]
        except openai.OpenAIError as exc:
            raise InputError(f"Could not list the models of {self.base_url} ({exc}); is the server running? "
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

    async def _with_retries(self, client: Any, limiter: AdaptiveLimiter, req: ChatRequest) -> Completion:
        import openai

        last = "unknown error"
        for attempt in range(self.max_retries + 1):
            await limiter.acquire()
            start = time.perf_counter()
            try:
                resp = await client.chat.completions.create(**self._payload(req))
            except openai.APIStatusError as exc:
                status, last = exc.status_code, f"HTTP {exc.status_code}: {_short(exc)}"
                wait = parse_retry_after(exc.response.headers.get("retry-after"))
                if status == 429:
                    limiter.on_rate_limited(wait)
                if req.schema is not None and self._maybe_switch_mode(status):
                    continue
                if status not in RETRY_STATUSES:
                    return Completion("", error=last)
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                wait, last = None, f"{type(exc).__name__}: {_short(exc)}"
            else:
                limiter.on_success()
                if req.schema is not None:
                    self._schema_confirmed = True
                return _completion(resp, time.perf_counter() - start)
            finally:
                await limiter.release()
            if attempt < self.max_retries:
                self.retries += 1
                delay = backoff_delay(attempt, self.backoff_base, self.backoff_max, self._rng)
                await asyncio.sleep(max(delay, wait or 0.0))
        return Completion("", error=f"gave up after {self.max_retries + 1} attempts; last: {last}")

    def _maybe_switch_mode(self, status: int) -> bool:
        if self.schema_mode == "auto" and not self._schema_confirmed and status in (400, 422, 500):
            self.schema_mode = "json_object"  # llama-cpp-python's server rejects the json_schema form
            return True
        return False

    def _payload(self, req: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "messages": list(req.messages), "max_tokens": req.max_tokens,
            "temperature": req.temperature, "top_p": req.top_p, "seed": req.seed,
        }
        if req.stop:
            body["stop"] = list(req.stop)
        mode = self.schema_mode
        if req.schema is not None and mode != "none":
            if mode in ("auto", "json_schema"):
                body["response_format"] = {"type": "json_schema",
                                           "json_schema": {"name": "output", "schema": req.schema, "strict": False}}
            else:
                body["response_format"] = {"type": "json_object", "schema": req.schema}
        return body

    def close(self) -> None:
        """Nothing held between batches."""


def _completion(resp: Any, seconds: float) -> Completion:
    choice = resp.choices[0] if resp.choices else None
    text = (choice.message.content or "") if choice is not None else ""
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
