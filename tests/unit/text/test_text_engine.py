"""Engine: cache, resume after interruption, structured output with validation, retries and error rows."""

from __future__ import annotations

import json

import pytest

from simulacra.testing.llm import FakeBackend
from simulacra.text.cache import ResponseCache
from simulacra.text.engine import Engine
from simulacra.text.types import ChatRequest

SCHEMA = {"type": "object", "properties": {"age": {"type": "integer", "minimum": 0, "maximum": 120}},
          "required": ["age"], "additionalProperties": False}


def _reqs(n: int, schema: dict | None = None) -> list[ChatRequest]:
    return [ChatRequest.user(f"prompt {i}", seed=i, schema=schema) for i in range(n)]


def test_cache_key_covers_model_messages_params_schema_seed() -> None:
    base = ChatRequest.user("x", seed=1)
    keys = {base.key("m"), base.key("m2"), base.with_seed(2).key("m"), ChatRequest.user("y", seed=1).key("m"),
            ChatRequest.user("x", seed=1, temperature=0.1).key("m"), ChatRequest.user("x", seed=1, schema=SCHEMA).key("m")}
    assert len(keys) == 6


def test_rerun_makes_zero_model_calls(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    fb = FakeBackend()
    first = Engine(fb, cache=path).complete(_reqs(20))
    assert fb.calls == 20
    fb2 = FakeBackend()
    eng = Engine(fb2, cache=path)
    second = eng.complete(_reqs(20))
    assert fb2.calls == 0 and eng.cache_hits == 20
    assert [c.text for c in first] == [c.text for c in second]


class _Crash(FakeBackend):
    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def answer(self, request: ChatRequest) -> str:
        if self.calls >= self.after:
            raise KeyboardInterrupt
        return super().answer(request)


def test_interrupted_run_resumes_without_losing_answers(tmp_path) -> None:
    path = tmp_path / "c.sqlite"
    with pytest.raises(KeyboardInterrupt):
        Engine(_Crash(after=7), cache=path).complete(_reqs(20))
    assert len(ResponseCache(path)) == 7  # every answer before the crash was committed
    fb = FakeBackend()
    out = Engine(fb, cache=path).complete(_reqs(20))
    assert fb.calls == 13 and len(out) == 20


def test_structured_output_validated_and_out_of_range_resampled() -> None:
    # the first attempt gives an out-of-range value (grammars do not enforce maximum), the retry a valid one
    def responder(req: ChatRequest) -> str:
        return json.dumps({"age": 300 if req.seed < 1000 else 30})

    eng = Engine(FakeBackend(responder=responder))
    out = eng.structured(_reqs(3, SCHEMA), retries=2)
    assert all(r.ok for r in out) and [r.value["age"] for r in out] == [30, 30, 30]
    assert all(r.attempts == 2 for r in out)


def test_invalid_after_retries_is_kept_with_error() -> None:
    eng = Engine(FakeBackend(invalid_rate=1.0))
    out = eng.structured(_reqs(4, SCHEMA), retries=2)
    assert len(out) == 4 and not any(r.ok for r in out)
    assert all(r.attempts == 3 and r.errors[0].startswith("parse:") for r in out)
    assert eng.calls == 12


def test_partial_invalid_rate_is_repaired_by_retries() -> None:
    eng = Engine(FakeBackend(invalid_rate=0.4))
    out = eng.structured(_reqs(50, SCHEMA), retries=4)
    assert sum(r.ok for r in out) >= 49
    assert eng.calls > 50


def test_identical_requests_sent_once() -> None:
    fb = FakeBackend()
    Engine(fb).complete([ChatRequest.user("same", seed=1)] * 5)
    assert fb.calls == 1
