"""The small value types shared by backends, the engine and the tasks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any


def stable_hash(obj: Any) -> str:
    """SHA-256 of the canonical JSON form of ``obj`` (sorted keys, no whitespace).

    Examples
    --------
    >>> stable_hash({"b": 1, "a": [1, 2]}) == stable_hash({"a": [1, 2], "b": 1})
    True
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request, backend-independent.

    ``schema`` (a JSON Schema dict) asks for structured output: constrained decoding where the backend
    supports it, and validation always. ``seed`` makes sampling reproducible and is part of the cache key.

    Examples
    --------
    >>> r = ChatRequest(messages=({"role": "user", "content": "Hi"},), seed=3)
    >>> r.with_seed(4).seed, r.seed
    (4, 3)
    >>> r.key("m") == ChatRequest(messages=({"role": "user", "content": "Hi"},), seed=3).key("m")
    True
    """

    messages: tuple[dict[str, str], ...]
    max_tokens: int = 256
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int = 0
    schema: dict[str, Any] | None = None
    stop: tuple[str, ...] = ()

    @classmethod
    def user(cls, prompt: str, *, system: str | None = None, **kwargs: Any) -> ChatRequest:
        """A request made of one user message (and an optional system message)."""
        msgs: list[dict[str, str]] = []
        if system:
            msgs.append({"role": "system", "content": system})
        msgs.append({"role": "user", "content": prompt})
        return cls(messages=tuple(msgs), **kwargs)

    @classmethod
    def raw(cls, prompt: str, **kwargs: Any) -> ChatRequest:
        """A plain completion request: ``prompt`` is continued as it is, without a chat template.

        Few-shot completion prompts measure better than chat for small models on some tasks (SmolLM2-135M
        wrote about 13 sensible new tasks in 20 from a numbered list, 3 in 20 in chat form).

        Examples
        --------
        >>> ChatRequest.raw("1. a\\n2.").raw_prompt
        '1. a\\n2.'
        """
        return cls(messages=({"role": "raw", "content": prompt},), **kwargs)

    @property
    def raw_prompt(self) -> str | None:
        """The prompt of a :meth:`raw` request, or None for a chat request."""
        if len(self.messages) == 1 and self.messages[0].get("role") == "raw":
            return self.messages[0]["content"]
        return None

    def with_seed(self, seed: int) -> ChatRequest:
        """The same request with another sampling seed."""
        return replace(self, seed=int(seed))

    def params(self) -> dict[str, Any]:
        """The sampling parameters, as they enter the cache key."""
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "stop": list(self.stop),
        }

    def key(self, model: str) -> str:
        """Cache key: hash of model, messages, parameters, schema and seed."""
        return stable_hash(
            {"model": model, "messages": list(self.messages), "params": self.params(), "schema": self.schema, "seed": self.seed}
        )


@dataclass
class Completion:
    """The answer to one :class:`ChatRequest`; ``error`` is set when the backend gave up."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    error: str | None = None
    cached: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the backend returned text (it may still fail validation)."""
        return self.error is None


@dataclass
class StageCount:
    """Row accounting of one pipeline stage: ``inputs == outputs + sum(filtered.values())``."""

    name: str
    inputs: int = 0
    outputs: int = 0
    filtered: dict[str, int] = field(default_factory=dict)
    invalid: int = 0

    def drop(self, reason: str, n: int = 1) -> None:
        """Record ``n`` rows filtered out for ``reason``."""
        self.filtered[reason] = self.filtered.get(reason, 0) + n

    @property
    def balanced(self) -> bool:
        """Whether every input row is accounted for."""
        return self.inputs == self.outputs + sum(self.filtered.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form, as written in the run manifest."""
        return {
            "stage": self.name,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "filtered": dict(self.filtered),
            "invalid_kept": self.invalid,
            "balanced": self.balanced,
        }


__all__ = ["ChatRequest", "Completion", "StageCount", "stable_hash"]
