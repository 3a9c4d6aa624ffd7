"""The deterministic fake LLM backend: the same request always gets the same answer.

Structured requests get a value valid under their JSON Schema. It lives with the other backends so that
``get_backend("fake")`` needs nothing above the text layer; :mod:`simulacra.testing.llm` re-exports it
beside the fake HTTP server.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from simulacra.text.types import ChatRequest, Completion

_WORDS = (
    "river stone garden light market window quiet bright travel music paper winter silver north forest "
    "engine letter harbor simple modern yellow ocean story signal teacher doctor city village summer "
    "careful rapid gentle honest ancient clever data model question answer table chart value season "
    "coffee bridge island mountain planet rocket kitchen library museum festival journey pattern "
    "measure balance compare explain describe create improve review protect discover organize"
).split()


def example_from_schema(schema: dict[str, Any], rng: random.Random, defs: dict[str, Any] | None = None) -> Any:
    """A random value valid under a (simple) JSON Schema: objects, arrays, strings, numbers, enums, refs.

    Examples
    --------
    >>> s = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3, "maximum": 5}}}
    >>> 3 <= example_from_schema(s, random.Random(0))["n"] <= 5
    True
    """
    defs = defs if defs is not None else schema.get("$defs", schema.get("definitions", {}))
    if "$ref" in schema:
        return example_from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], rng, defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(list(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return example_from_schema(rng.choice(schema[key]), rng, defs)
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _question(rng, sub) if name == "question" and sub.get("type") == "string" and "enum" not in sub
                else example_from_schema(sub, rng, defs) for name, sub in props.items()}
    if kind == "array":
        lo = int(schema.get("minItems", 1))
        hi = max(lo, int(schema.get("maxItems", lo + 2)))
        return [example_from_schema(schema.get("items", {}), rng, defs) for _ in range(rng.randint(lo, hi))]
    if kind == "integer":
        lo = int(schema.get("minimum", 0))
        return rng.randint(lo, int(schema.get("maximum", lo + 100)))
    if kind == "number":
        flo = float(schema.get("minimum", 0.0))
        return round(rng.uniform(flo, float(schema.get("maximum", flo + 100.0))), 3)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _text(rng, int(schema.get("minLength", 0)), int(schema.get("maxLength", 120)))


def _question(rng: random.Random, schema: dict[str, Any]) -> str:
    """A field named ``question`` gets a question (the text filters drop word salad that is not one)."""
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 8)))
    text = f"{rng.choice(('What', 'Why', 'How', 'When'))} does the {words} change?"
    return text[:int(schema.get("maxLength", 300))]


def _text(rng: random.Random, min_len: int = 0, max_len: int = 120) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 14))]
    text = " ".join(words).capitalize()
    while len(text) < min_len:
        text += " " + rng.choice(_WORDS)
    return text[:max_len].rstrip() if len(text) > max_len else text


class FakeBackend:
    """A deterministic in-process backend: same request (and seed), same answer.

    Parameters
    ----------
    model_id
        Name used in cache keys.
    latency
        Seconds to sleep per request (to test progress and interruption).
    invalid_rate
        Probability that a structured request gets a broken answer (to test retries and error rows).
    responder
        ``f(request) -> str | None``: a custom answer; None falls back to the default.

    Examples
    --------
    >>> fb = FakeBackend()
    >>> req = ChatRequest.user("hi", schema={"type": "object", "properties": {"x": {"type": "boolean"}}})
    >>> sorted(json.loads(fb.complete([req])[0].text)), fb.calls
    (['x'], 1)
    """

    supports_schema = True

    def __init__(
        self,
        model_id: str = "fake",
        *,
        latency: float = 0.0,
        invalid_rate: float = 0.0,
        responder: Callable[[ChatRequest], str | None] | None = None,
        **_ignored: Any,
    ) -> None:
        self.model_id = model_id
        self.latency = latency
        self.invalid_rate = invalid_rate
        self.responder = responder
        self.calls = 0
        self.requests: list[ChatRequest] = []
        self._lock = threading.Lock()

    def answer(self, request: ChatRequest) -> str:
        """The deterministic answer to one request."""
        if self.responder is not None:
            custom = self.responder(request)
            if custom is not None:
                return custom
        rng = random.Random(int(request.key(self.model_id)[:16], 16))
        if request.schema is not None:
            if rng.random() < self.invalid_rate:
                return '{"unfinished": "the model rambled until max_tokens'
            return json.dumps(example_from_schema(request.schema, rng), ensure_ascii=False)
        return _text(rng, 0, 4 * request.max_tokens)

    def complete(self, requests: Sequence[ChatRequest], on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        """Answer each request in order."""
        out = []
        for i, req in enumerate(requests):
            if self.latency:
                time.sleep(self.latency)
            text = self.answer(req)
            with self._lock:
                self.calls += 1
                self.requests.append(req)
            comp = Completion(text, prompt_tokens=sum(len(m["content"].split()) for m in req.messages),
                              completion_tokens=len(text.split()))
            if on_result is not None:
                on_result(i, comp)
            out.append(comp)
        return out

    def close(self) -> None:
        """Nothing to free."""
