"""The OpenAI-compatible backend against local test servers: retries, Retry-After, 429 slow-down,
concurrency cap, timeouts, and the schema form fallback. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import time

import pytest

from simulacra.testing.llm import FakeOpenAIServer
from simulacra.text.backends.limiter import AdaptiveLimiter, parse_retry_after
from simulacra.text.backends.openai_http import OpenAIBackend
from simulacra.text.engine import Engine
from simulacra.text.types import ChatRequest

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}, "required": ["name"]}


def _reqs(n: int, schema: dict | None = None) -> list[ChatRequest]:
    return [ChatRequest.user(f"q{i}", seed=i, schema=schema) for i in range(n)]


def test_no_request_lost_under_429_and_500() -> None:
    with FakeOpenAIServer(fault_rate=0.4, retry_after=0.02, seed=3) as srv:
        be = OpenAIBackend(srv.url, concurrency=8, max_retries=12, backoff_base=0.01, backoff_max=0.1, seed=0)
        t0 = time.perf_counter()
        out = be.complete(_reqs(60))
        elapsed = time.perf_counter() - t0
    assert [c.text for c in out] == [f"echo: q{i}" for i in range(60)]  # all answered, in order
    assert srv.statuses[429] > 0 and srv.statuses[500] > 0 and srv.statuses[200] == 60
    assert be.retries == srv.statuses[429] + srv.statuses[500]
    assert be.rate_limited == srv.statuses[429]
    assert elapsed < 20


def test_retry_after_is_honoured() -> None:
    with FakeOpenAIServer(faults=[429, 200], retry_after=0.6) as srv:
        be = OpenAIBackend(srv.url, concurrency=1, backoff_base=0.01, backoff_max=0.02)
        t0 = time.perf_counter()
        out = be.complete(_reqs(1))
    assert out[0].ok and time.perf_counter() - t0 >= 0.55


def test_gives_up_with_error_row_never_raises() -> None:
    with FakeOpenAIServer(faults=[500]) as srv:
        be = OpenAIBackend(srv.url, max_retries=2, backoff_base=0.01, backoff_max=0.02)
        out = be.complete(_reqs(3))
    assert all(c.error and "gave up after 3 attempts" in c.error for c in out)
    assert srv.statuses[500] == 9


def test_non_retryable_status_fails_fast() -> None:
    with FakeOpenAIServer(faults=[404]) as srv:
        out = OpenAIBackend(srv.url, max_retries=5, backoff_base=0.01).complete(_reqs(2))
    assert all(c.error and c.error.startswith("HTTP 404") for c in out) and srv.received == 2


def test_concurrency_cap_respected_and_used() -> None:
    with FakeOpenAIServer(latency=0.1) as srv:
        OpenAIBackend(srv.url, concurrency=4).complete(_reqs(16))
    assert srv.max_in_flight == 4


def test_timeout_bounded() -> None:
    with FakeOpenAIServer(latency=1.5) as srv:
        be = OpenAIBackend(srv.url, timeout=0.2, max_retries=1, backoff_base=0.01, backoff_max=0.02)
        t0 = time.perf_counter()
        out = be.complete(_reqs(1))
    assert out[0].error and "Timeout" in out[0].error and time.perf_counter() - t0 < 1.5


def test_schema_falls_back_to_json_object_form_like_llama_cpp_server() -> None:
    with FakeOpenAIServer(reject_json_schema=True) as srv:
        eng = Engine(OpenAIBackend(srv.url, max_retries=2, backoff_base=0.01))
        out = eng.structured(_reqs(3, SCHEMA))
        forms = [b["response_format"]["type"] for b in srv.bodies]
    assert all(r.ok for r in out)
    assert forms[0] == "json_schema" and forms[-1] == "json_object" and forms.count("json_schema") <= 3
    assert srv.bodies[-1]["response_format"]["schema"] == SCHEMA


def test_explicit_json_schema_mode_sends_openai_form() -> None:
    with FakeOpenAIServer() as srv:
        OpenAIBackend(srv.url, schema_mode="json_schema").complete(_reqs(1, SCHEMA))
        fmt = srv.bodies[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == SCHEMA


def test_model_discovered_from_server() -> None:
    with FakeOpenAIServer(model="served-x") as srv:
        be = OpenAIBackend(srv.url)
        be.complete(_reqs(1))
        assert be.model_id == "openai:served-x" and srv.bodies[0]["model"] == "served-x"


def test_limiter_halves_and_pauses() -> None:
    lim = AdaptiveLimiter(16)
    lim.on_rate_limited(1.0)
    assert lim.limit == 8 and lim.pause_until > time.monotonic() + 0.9
    for _ in range(100):
        lim.on_success()
    assert lim.limit == 16
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("bad", ["ftp://x", "nonsense-model"])
def test_unknown_backend_description(bad: str) -> None:
    from simulacra.errors import InputError
    from simulacra.text.backends import get_backend

    with pytest.raises(InputError, match="Unknown (LLM|model)"):
        get_backend(bad)


def test_engine_over_http_caches(tmp_path) -> None:
    with FakeOpenAIServer() as srv:
        Engine(srv.url, cache=tmp_path / "c.sqlite").complete(_reqs(5))
        eng = Engine(srv.url, cache=tmp_path / "c.sqlite")
        eng.complete(_reqs(5))
        assert srv.statuses[200] == 5 and eng.calls == 0
    assert json.dumps(eng.stats())


def test_backends_keep_the_contract() -> None:
    from simulacra.testing.llm import FakeBackend, check_backend

    check_backend(FakeBackend())
    with FakeOpenAIServer(fault_rate=0.2, retry_after=0.01, seed=5) as srv:
        check_backend(OpenAIBackend(srv.url, backoff_base=0.01, backoff_max=0.05))
