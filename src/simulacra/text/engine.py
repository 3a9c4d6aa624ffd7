"""The engine between tasks and backends: cache look-ups, batching, structured output with retries.

Tasks build :class:`~simulacra.text.types.ChatRequest` objects and hand them to :class:`Engine`; it answers
from the cache when it can, sends the rest to the backend, stores every answer the moment it arrives,
and for structured requests parses, validates and resamples invalid outputs up to ``retries`` times.

Two budgets are kept apart: the backend retries a failed *request* (refused, timed out, HTTP 5xx/429)
under its own policy and deadline; the engine resamples an *output* that came back but does not parse or
validate. A request the backend gave up on is not sent again by the output retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulacra.text.backends import Backend, get_backend
from simulacra.text.cache import ResponseCache
from simulacra.text.schema import extract_json, validation_errors, validator
from simulacra.text.types import ChatRequest, Completion

Check = Callable[[Any], list[str]]
_RETRY_SEED_STEP = 7919


@dataclass
class Structured:
    """A parsed and validated structured output; ``errors`` is empty when it is valid."""

    value: Any
    raw: str
    errors: list[str] = field(default_factory=list)
    attempts: int = 1
    #: the backend gave no answer (transport failure, crash, deadline): not a model output at all
    backend_failed: bool = False

    @property
    def ok(self) -> bool:
        """True when the output parsed and validated."""
        return not self.errors


class Engine:
    """Runs requests against a backend through a response cache.

    Parameters
    ----------
    backend
        A :class:`~simulacra.text.backends.Backend` or a description for
        :func:`~simulacra.text.backends.get_backend` (``"local"``, a ``.gguf`` path, a URL, ``"fake"``).
    cache
        A :class:`ResponseCache`, a path to its sqlite file, or None for an in-memory cache.
    progress
        Show a progress bar while the backend works.

    Examples
    --------
    >>> eng = Engine("fake")
    >>> out = eng.complete([ChatRequest.user("Say hi", seed=1)] * 2)
    >>> out[0].text == out[1].text, eng.calls
    (True, 1)
    >>> _ = eng.complete([ChatRequest.user("Say hi", seed=1)])
    >>> eng.calls, eng.cache_hits
    (1, 1)
    """

    def __init__(
        self,
        backend: Backend | str | None = "local",
        *,
        cache: ResponseCache | str | Path | None = None,
        progress: bool = False,
        **backend_options: Any,
    ) -> None:
        self.backend = get_backend(backend, **backend_options) if not isinstance(backend, Backend) else backend
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache if cache is not None else ":memory:")
        self.progress = progress
        self.calls = 0
        self.cache_hits = 0
        self.errors = 0
        self.failures: dict[str, int] = {}
        self.structured_first = 0
        self.structured_first_ok = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.model_seconds = 0.0

    @property
    def model_id(self) -> str:
        """The backend's model identifier."""
        return str(self.backend.model_id)

    def complete(self, requests: Sequence[ChatRequest], *, label: str = "generating") -> list[Completion]:
        """Answer ``requests`` in order; identical requests are sent once; answers are cached at once."""
        model = self.model_id
        keys = [r.key(model) for r in requests]
        found = self.cache.get_many(keys)
        self.cache_hits += sum(1 for k in keys if k in found)
        missing: dict[str, ChatRequest] = {}
        for key, req in zip(keys, requests):
            if key not in found and key not in missing:
                missing[key] = req
        if missing:
            found.update(self._call(list(missing.items()), label))
        return [found[k] for k in keys]

    def _call(self, items: list[tuple[str, ChatRequest]], label: str) -> dict[str, Completion]:
        out: dict[str, Completion] = {}
        model = self.model_id
        bar = _progress(self.progress, label, len(items))

        def on_result(i: int, comp: Completion) -> None:
            key = items[i][0]
            out[key] = comp
            self.cache.put(key, model, comp)
            if bar is not None:
                bar[0].advance(bar[1])

        start = time.perf_counter()
        try:
            results = self.backend.complete([r for _, r in items], on_result=on_result)
        finally:
            if bar is not None:
                bar[0].stop()
            self.model_seconds += time.perf_counter() - start
        for (key, _), comp in zip(items, results):
            if key not in out:
                self.cache.put(key, model, comp)
            out[key] = comp
        self.calls += len(items)
        for comp in out.values():
            if comp.error is not None:
                self.errors += 1
                self.failures[comp.error] = self.failures.get(comp.error, 0) + 1
            self.prompt_tokens += comp.prompt_tokens
            self.completion_tokens += comp.completion_tokens
        return out

    def structured(
        self, requests: Sequence[ChatRequest], *, retries: int = 2, check: Check | None = None, label: str = "generating"
    ) -> list[Structured]:
        """Answer structured requests: parse JSON, validate against the request's schema and ``check``.

        Invalid outputs are resampled (a new seed) up to ``retries`` times; an output still invalid is
        returned with its errors, never dropped. A request the backend failed to answer is not resampled
        (the backend's own retries were spent on it); it comes back with ``backend_failed``.
        """
        validators: dict[int, Any] = {}
        results: list[Structured | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        for attempt in range(retries + 1):
            batch = [requests[i].with_seed(requests[i].seed + _RETRY_SEED_STEP * attempt) for i in pending]
            answers = self.complete(batch, label=label if attempt == 0 else f"{label} (retry {attempt})")
            still = []
            for i, req, comp in zip(pending, batch, answers):
                res = self._parse(req, comp, validators, check)
                res.attempts = attempt + 1
                results[i] = res
                if attempt == 0 and not res.backend_failed:
                    self.structured_first += 1
                    self.structured_first_ok += res.ok
                if not res.ok and not res.backend_failed:
                    still.append(i)
            pending = still
            if not pending:
                break
        return [r for r in results if r is not None]

    @staticmethod
    def _parse(req: ChatRequest, comp: Completion, validators: dict[int, Any], check: Check | None) -> Structured:
        if comp.error is not None:
            return Structured(None, comp.text, [f"backend: {comp.error}"], backend_failed=True)
        try:
            value = extract_json(comp.text)
        except ValueError as exc:
            return Structured(None, comp.text, [f"parse: {exc}"])
        errors: list[str] = []
        if req.schema is not None:
            sid = id(req.schema)
            if sid not in validators:
                validators[sid] = validator(req.schema)
            errors = validation_errors(value, validators[sid])
        if not errors and check is not None:
            errors = list(check(value))
        if comp.finish_reason == "length" and errors:
            errors.append("output cut at max_tokens")
        return Structured(value, comp.text, errors)

    @property
    def gave_up(self) -> str | None:
        """Why the backend stopped answering for good (a passed deadline), or None."""
        return getattr(self.backend, "gave_up", None)

    def failure_summary(self) -> str | None:
        """One line on the backend's failures (the most frequent first), or None when there were none.

        Examples
        --------
        >>> eng = Engine("fake")
        >>> eng.failures = {"HTTP 500: boom": 3, "timed out": 1}; eng.errors = 4
        >>> eng.failure_summary()
        '4 requests failed in the backend: HTTP 500: boom (3); timed out (1)'
        """
        if not self.failures:
            return None
        top = sorted(self.failures.items(), key=lambda kv: -kv[1])[:3]
        more = f"; and {len(self.failures) - 3} other errors" if len(self.failures) > 3 else ""
        return (f"{self.errors} request{'s' if self.errors != 1 else ''} failed in the backend: "
                + "; ".join(f"{msg} ({k})" for msg, k in top) + more)

    def stats(self) -> dict[str, Any]:
        """Counters for the run manifest."""
        return {
            "model": self.model_id,
            "model_calls": self.calls,
            "cache_hits": self.cache_hits,
            "backend_errors": self.errors,
            "backend_failures": dict(sorted(self.failures.items(), key=lambda kv: -kv[1])[:10]),
            "gave_up": self.gave_up,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "model_seconds": round(self.model_seconds, 3),
        }

    def close(self) -> None:
        """Release the backend and the cache."""
        self.backend.close()
        self.cache.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _progress(enabled: bool, label: str, total: int) -> Any:
    if not enabled or total < 2:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task(label, total=total)
    bar.start()
    return bar, task


__all__ = ["Engine", "Structured"]
