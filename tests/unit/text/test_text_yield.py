"""Ask for n, get n, or be told why: every text command tops up or reports its shortfall (issue 14)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import simulacra.text.backends.fake as fake_module
from simulacra.cli.main import app
from simulacra.errors import ShortfallError
from simulacra.text.types import ChatRequest

runner = CliRunner()
SEEDS = ["Write a poem about rain", "Sort three numbers", "Explain tides simply", "Name two rivers in Asia",
         "Summarize a news story", "Plan a picnic menu"]


@pytest.fixture
def junk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[ChatRequest], bool]], dict[str, int]]]:
    """Make the fake backend answer junk to the requests a predicate picks; returns a call counter."""
    original = fake_module.FakeBackend.answer

    def install(pick: Callable[[ChatRequest], bool]) -> dict[str, int]:
        seen = {"junk": 0}

        def answer(self: fake_module.FakeBackend, req: ChatRequest) -> str:
            if pick(req):
                seen["junk"] += 1
                return "sorry, I cannot help with that"
            return original(self, req)

        monkeypatch.setattr(fake_module.FakeBackend, "answer", answer)
        return seen

    yield install


def _first(k: int, prefix: str = "") -> Callable[[ChatRequest], bool]:
    left = {"n": k}

    def pick(req: ChatRequest) -> bool:
        if left["n"] > 0 and req.messages[-1]["content"].startswith(prefix):
            left["n"] -= 1
            return True
        return False

    return pick


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _manifest(path: Path) -> dict:
    return json.loads(path.with_suffix(".manifest.json").read_text())


def test_label_tops_up_each_label_after_junk(tmp_path: Path, junk) -> None:
    seen = junk(_first(4))
    out = tmp_path / "l.jsonl"
    res = runner.invoke(app, ["text", "label", "--labels", "pos,neg", "--per-label", "3", "--domain", "reviews", "--llm", "fake",
                              "--retries", "0", "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    assert seen["junk"] == 4 and len(rows) == 6 and sorted(r["label"] for r in rows) == ["neg"] * 3 + ["pos"] * 3
    m = _manifest(out)
    assert m["config"]["fill"]["pos"]["rounds"] >= 2 and m["accounting_balanced"]
    assert "6 valid rows of 6 asked" in res.output and "invalid output: " in res.output


def test_label_shortfall_is_reported_per_filter_and_fails(tmp_path: Path, junk) -> None:
    junk(lambda req: True)
    out = tmp_path / "l.jsonl"
    res = runner.invoke(app, ["text", "label", "--labels", "pos,neg", "--per-label", "2", "--llm", "fake", "--retries", "0",
                              "--attempts", "2", "-o", str(out)])
    assert isinstance(res.exception, ShortfallError), res.output
    assert "0 valid rows of 4 asked" in res.output and "invalid output: " in res.output
    assert "label 'pos': 0 of 2 valid rows" in res.output and "attempt budget (4) was spent" in res.output
    assert "max_calls_factor" not in res.output  # not an option of the command
    ok = runner.invoke(app, ["text", "label", "--labels", "pos,neg", "--per-label", "2", "--llm", "fake", "--retries", "0",
                             "--attempts", "1", "--min-yield", "0", "-o", str(tmp_path / "l2.jsonl")])
    assert ok.exit_code == 0, ok.output


def test_instruct_replaces_invalid_outputs_by_topping_up(tmp_path: Path, junk) -> None:
    junk(_first(2, "Task:"))  # the first two outputs written for accepted instructions are junk
    (tmp_path / "seeds.txt").write_text("\n".join(SEEDS))
    out = tmp_path / "i.jsonl"
    res = runner.invoke(app, ["text", "instruct", "--seeds", str(tmp_path / "seeds.txt"), "-n", "4", "--llm", "fake",
                              "--retries", "0", "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = _rows(out)
    assert len(rows) == 4 and all(r.get("_status", "ok") == "ok" and r["output"] for r in rows)
    assert len({r["instruction"] for r in rows}) == 4
    m = _manifest(out)
    assert m["config"]["fill"]["rounds"] >= 2 and m["accounting_balanced"]
    filtered = _rows(out.with_suffix(".filtered.jsonl"))
    assert sum(1 for f in filtered if f["_reason"].startswith("invalid output")) == 2


def test_instruct_shortfall_fails_below_min_yield(tmp_path: Path, junk) -> None:
    junk(lambda req: req.messages[-1]["content"].startswith("Task:"))
    (tmp_path / "seeds.txt").write_text("\n".join(SEEDS))
    args = ["text", "instruct", "--seeds", str(tmp_path / "seeds.txt"), "-n", "3", "--llm", "fake", "--retries", "0",
            "--attempts", "1"]
    res = runner.invoke(app, [*args, "-o", str(tmp_path / "i.jsonl")])
    assert isinstance(res.exception, ShortfallError) and "0 valid rows of 3 asked" in res.output
    assert "only 0 valid rows of the 3 required" in str(res.exception)


@pytest.mark.parametrize("command", ["evolve", "judge"])
def test_one_output_per_input_commands_report_and_fail(tmp_path: Path, junk, command: str) -> None:
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"instruction": s, "output": "ok."}) + "\n" for s in SEEDS[:3]))
    junk(lambda req: True)
    out = tmp_path / "o.jsonl"
    extra = ["--min-judge-accuracy", "0"] if command == "judge" else []
    res = runner.invoke(app, ["text", command, str(tmp_path / "in.jsonl"), "-o", str(out), "--llm", "fake", "--retries", "0",
                              *extra])
    assert isinstance(res.exception, ShortfallError), res.output
    assert "0 valid rows of 3 asked" in res.output
    expected = {"evolve": "removed invalid output", "judge": "in, 3 out; invalid kept 3"}[command]
    assert expected in res.output
    ok = runner.invoke(app, ["text", command, str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o2.jsonl"), "--llm", "fake",
                             "--retries", "0", "--min-yield", "0", *extra])
    assert ok.exit_code == 0, ok.output


def test_label_completion_form_continues_a_numbered_list() -> None:
    from simulacra.testing.llm import FakeBackend
    from simulacra.text.engine import Engine
    from simulacra.text.tasks.label import generate_labelled

    prompts: list[str] = []

    def responder(req: ChatRequest) -> str | None:
        prompts.append(req.raw_prompt or "")
        texts = ("The battery lasts two full days of heavy use.", "Setup took a minute and the screen is bright.",
                 "My kids love the colours and it survived a drop.", "Fast delivery, sturdy box, nothing missing at all.",
                 "Quiet fan, cool keyboard, and a crisp webcam.", "I would buy this kettle again without thinking.")
        return texts[(len(prompts) - 1) % 6] if req.raw_prompt else None

    res = generate_labelled(["positive"], 3, domain="product reviews", prompt_form="completion",
                            examples={"positive": ["Great value.", "Works fine."]}, engine=Engine(FakeBackend(responder=responder)))
    assert len(res.records) == 3 and res.config["prompt_form"] == "completion"
    assert prompts[0].startswith("A list of product reviews whose label is 'positive'") and prompts[0].endswith("2. Works fine.\n3.")
    with pytest.raises(Exception, match="prompt_form"):
        generate_labelled(["a"], 1, prompt_form="poem", backend="fake")
