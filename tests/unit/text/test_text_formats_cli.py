"""Output formats, manifest and sidecars, atomic writes, the report, and the ``simulacra text`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from simulacra.cli.main import app
from simulacra.text.formats import read_jsonl, write_result
from simulacra.text.report import render_report, text_report
from simulacra.text.result import TaskResult
from simulacra.text.tasks.calibration import JudgeRefusedError
from simulacra.text.tasks.qa import generate_qa

runner = CliRunner()


def _qa_responder(req):
    return json.dumps({"question": f"Which river flows past town number {req.seed}?", "answer": f"The river {req.seed}."})


def _qa_result() -> TaskResult:
    from simulacra.testing.llm import FakeBackend
    from simulacra.text.engine import Engine

    res = generate_qa(["maps", "rivers"], 4, engine=Engine(FakeBackend(responder=_qa_responder)), dedup=False)
    res.records.append({"question": None, "answer": None, "topic": "x", "_status": "invalid", "_error": "parse: cut"})
    return res


def test_jsonl_manifest_and_invalid_rows_kept(tmp_path: Path) -> None:
    out = tmp_path / "qa.jsonl"
    manifest = write_result(_qa_result(), out, engine_stats={"model": "fake", "model_calls": 4})
    rows = read_jsonl(out)
    assert len(rows) == 5 and rows[-1]["_status"] == "invalid"
    saved = json.loads((tmp_path / "qa.manifest.json").read_text())
    assert saved == json.loads(json.dumps(manifest)) and saved["rows_invalid_kept"] == 1 and saved["accounting_balanced"]
    assert saved["engine"]["model"] == "fake" and saved["config"]["n"] == 4


def test_chat_format_moves_invalid_rows_to_filtered_file(tmp_path: Path) -> None:
    out = tmp_path / "chat.jsonl"
    manifest = write_result(_qa_result(), out, format="chat", system="Be brief.")
    rows = read_jsonl(out)
    assert len(rows) == 4 and [m["role"] for m in rows[0]["messages"]] == ["system", "user", "assistant"]
    filtered = read_jsonl(tmp_path / "chat.filtered.jsonl")
    assert [f["_reason"] for f in filtered] == ["invalid output"] and manifest["accounting_balanced"]


def test_parquet_and_preference(tmp_path: Path) -> None:
    res = TaskResult("judge", records=[{"prompt": "p", "chosen": "a", "rejected": "b", "chosen_score": 9, "meta": {"k": 1}}])
    write_result(res, tmp_path / "p.parquet")
    frame = pd.read_parquet(tmp_path / "p.parquet")
    assert frame.loc[0, "chosen"] == "a" and json.loads(frame.loc[0, "meta"]) == {"k": 1}
    write_result(res, tmp_path / "pref.jsonl", format="preference")
    assert read_jsonl(tmp_path / "pref.jsonl") == [{"prompt": "p", "chosen": "a", "rejected": "b"}]


def test_output_never_half_written(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    out.write_text('{"old": 1}\n')

    class Boom:
        def __str__(self) -> str:
            raise RuntimeError("disk full")

    res = TaskResult("x", records=[{"a": 1}, {"b": Boom()}])
    with pytest.raises(RuntimeError, match="disk full"):
        write_result(res, out)
    assert out.read_text() == '{"old": 1}\n' and not list(tmp_path.glob(".x.jsonl.*"))


def test_report_measures(tmp_path: Path) -> None:
    rows = [{"text": "great phone, lasts long", "label": "pos"}, {"text": "great phone, lasts long", "label": "pos"},
            {"text": "screen broke in a week", "label": "neg"}, {"text": None, "label": "neg", "_status": "invalid"}]
    rep = text_report(rows)
    f = rep["fields"]["text"]
    assert rep["invalid_kept"] == 1 and rep["labels"] == {"neg": 1, "pos": 2}
    assert f["exact_duplicate_rate"] == pytest.approx(1 / 3, abs=1e-3) and f["count"] == 3
    assert 0 < f["distinct_2"] <= 1 and f["words"]["max"] == 5
    assert "| text | 3 |" in render_report(rep)


def test_cli_qa_rerun_zero_calls_and_report(tmp_path: Path) -> None:
    (tmp_path / "topics.txt").write_text("volcanoes\ntides\n")
    args = ["text", "qa", "--topics", str(tmp_path / "topics.txt"), "-n", "6", "-o", str(tmp_path / "qa.jsonl"), "--llm", "fake"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    m1 = json.loads((tmp_path / "qa.manifest.json").read_text())
    second = runner.invoke(app, args)
    assert second.exit_code == 0
    m2 = json.loads((tmp_path / "qa.manifest.json").read_text())
    calls = m1["engine"]["model_calls"]
    assert calls >= 6 and m2["engine"]["model_calls"] == 0 and m2["engine"]["cache_hits"] == calls
    assert read_jsonl(tmp_path / "qa.jsonl") and (tmp_path / ".simulacra-cache.sqlite").is_file()
    rep = runner.invoke(app, ["text", "report", str(tmp_path / "qa.jsonl"), "--json", str(tmp_path / "r.json")])
    assert rep.exit_code == 0 and json.loads((tmp_path / "r.json").read_text())["rows"] == 6
    quality = json.loads((tmp_path / "qa.quality.json").read_text())
    assert quality["kept"] == 6 and quality["asked"] == 6 and "Diversity and length" in (tmp_path / "qa.quality.html").read_text()


def test_cli_every_task_with_fake(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer", "minimum": 1, "maximum": 9}, "bio": {"type": "string"}}}
    (tmp_path / "s.json").write_text(json.dumps(schema))
    (tmp_path / "seeds.txt").write_text("\n".join(["Write a poem about rain", "Sort three numbers", "Explain tides simply",
                                                   "Name two rivers in Asia", "Summarize a news story", "Plan a picnic menu"]))
    fake = ["--llm", "fake"]
    cmds = [
        ["text", "rows", "--schema", str(tmp_path / "s.json"), "-n", "5", "-o", str(tmp_path / "rows.jsonl")],
        ["text", "label", "--labels", "pos,neg", "--per-label", "3", "--domain", "reviews", "-o", str(tmp_path / "l.jsonl")],
        ["text", "instruct", "--seeds", str(tmp_path / "seeds.txt"), "-n", "4", "-o", str(tmp_path / "i.jsonl")],
        ["text", "evolve", str(tmp_path / "i.jsonl"), "--rounds", "1", "-o", str(tmp_path / "e.jsonl"), "--format", "chat"],
        ["text", "judge", str(tmp_path / "i.jsonl"), "--pairs", "--min-judge-accuracy", "0", "--min-yield", "1",
         "-o", str(tmp_path / "pairs.jsonl")],
    ]
    for cmd in cmds:
        result = runner.invoke(app, cmd + fake)
        assert result.exit_code == 0, (cmd, result.output)
    assert len(read_jsonl(tmp_path / "rows.jsonl")) == 5 and len(read_jsonl(tmp_path / "l.jsonl")) == 6
    assert "messages" in read_jsonl(tmp_path / "e.jsonl")[0]
    pairs = read_jsonl(tmp_path / "pairs.jsonl")
    assert all(set(p) == {"prompt", "chosen", "rejected", "preference_source"} for p in pairs)
    refused = runner.invoke(app, ["text", "judge", str(tmp_path / "i.jsonl"), "--pairs", "-o", str(tmp_path / "p2.jsonl")] + fake)
    assert isinstance(refused.exception, JudgeRefusedError) and "calibration set" in str(refused.exception)  # at chance: refused


def test_cli_bad_input_is_one_line_error(tmp_path: Path) -> None:
    from simulacra.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["text", "qa", "--topics", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o.jsonl"), "--llm", "fake"])
    assert exc.value.code == 2


def test_cli_rows_conditioned_on_a_spec(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("rows: 10\ncolumns:\n  age: {kind: uniform, min: 20, max: 30, round: 0}\n"
                                     "  extra: {kind: uniform, min: 0, max: 1}\n")
    schema = {"type": "object", "properties": {"age": {"type": "number"}, "bio": {"type": "string", "maxLength": 40}}}
    (tmp_path / "s.json").write_text(json.dumps(schema))
    out = tmp_path / "rows.jsonl"
    result = runner.invoke(app, ["text", "rows", "--schema", str(tmp_path / "s.json"), "--conditions", str(tmp_path / "p.yaml"),
                                 "-n", "6", "-o", str(out), "--llm", "fake"])
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    assert len(rows) == 6 and all(20 <= r["age"] <= 30 and "extra" not in r and r["bio"] for r in rows)
