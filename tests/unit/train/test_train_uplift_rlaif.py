"""The LLM uplift (base vs tuned, seeds as repeats, verdicts, JSON summary, HTML), the verifier labels, the
pairs from the model's own answers, and DPO on them; through the API and the command line."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from simulacra.errors import InputError


def test_uplift_base_vs_tuned_with_seed_repeats(tmp_path, tiny_model, tuned_tiny, tiny_api_path, rows, write_rows):
    from simulacra.augment.llm import run_llm_uplift

    folder, _ = tuned_tiny
    for s in (0, 1):  # the same model twice: a run over two seeds with no seed-to-seed noise
        shutil.copytree(folder, tmp_path / "seeds" / f"seed-{s}")
    result = run_llm_uplift(tiny_api_path, write_rows(tmp_path / "eval.jsonl", rows),
                            ["base", str(folder), str(tmp_path / "seeds")], base=str(tiny_model), max_tokens=40)
    s = result.summary().set_index("model")
    assert s.loc[str(folder), "exact_match"] == 1.0 and s.loc[str(tmp_path / "seeds"), "repeats"] == 2
    assert s.loc[str(folder), "schema_valid"] == 1.0 and s.loc[str(folder), "no_call_accuracy"] == 1.0
    assert s.loc["base", "exact_match"] < 1.0
    verdicts = {v["method"]: v for v in result.verdicts()}
    assert verdicts[str(folder)]["verdict"].startswith("cannot tell")  # one run each: no noise estimate
    assert verdicts[str(tmp_path / "seeds")]["gain"] > 0 and verdicts[str(tmp_path / "seeds")]["repeats"] == 2
    assert f"{tmp_path / 'seeds'} over {folder}" in verdicts
    data = result.to_dict()
    assert [e["model"] for e in data["summary"]] == ["base", str(folder), str(tmp_path / "seeds")]
    assert all("exact_match" in e and "exact_match_sd" in e for e in data["summary"])
    assert len(data["answers"]) == 2 * 4
    result.save_html(tmp_path / "u.html")
    assert "Does fine-tuning help?" in (tmp_path / "u.html").read_text()


def test_uplift_refuses_what_is_not_a_model(tmp_path, tiny_api_path, rows, write_rows):
    from simulacra.augment.llm import run_llm_uplift

    with pytest.raises(InputError, match="not a folder"):
        run_llm_uplift(tiny_api_path, write_rows(tmp_path / "e.jsonl", rows), ["nowhere/"])


def test_verifier_labels(tiny_api_path):
    from simulacra.text.calls import load_api
    from simulacra.train.pairs import label

    add = {"name": "add", "arguments": {"a": 3, "b": 4}}
    with load_api(tiny_api_path) as api:
        assert label(api, '<tool_call>{"name": "add", "arguments": {"b": 4, "a": 3.0}}</tool_call>', [add]) == "correct"
        assert label(api, '<tool_call>{"name": "add", "arguments": {"a": 3, "b": 5}}</tool_call>', [add]) == "wrong call"
        assert label(api, '<tool_call>{"name": "add", "arguments": {"a": "x"}}</tool_call>', [add]) == "invalid call"
        assert label(api, "<tool_call>add(3, 4)</tool_call>", [add]) == "unparsable"
        assert label(api, "I cannot.", [add]) == "no call"
        assert label(api, "I cannot.", []) == "correct"
        assert label(api, '<tool_call>{"name": "greet", "arguments": {"name": "x"}}</tool_call>', []) == "extra call"


def test_pair_choice_prefers_own_right_answer_and_hardest_wrong_one():
    from simulacra.train.pairs import _pair

    render = lambda call: f"REF {call}"  # noqa: E731
    got = _pair(["a", "b", "c"], ["no call", "correct", "wrong call"], [{"name": "f"}], False, render)
    assert (got["chosen"], got["rejected"], got["chosen_source"]) == ("b", "c", "model")
    got = _pair(["a", "c"], ["invalid call", "wrong call"], [{"name": "f"}], False, render)
    assert got["chosen"].startswith("REF") and got["rejected"] == "c"
    assert "chosen" not in _pair(["a"], ["no call"], [{"name": "f"}], True, render)
    assert _pair(["a", "b"], ["correct", "correct"], [], False, render) is None


def test_pairs_then_dpo_per_seed(tmp_path, tuned_tiny, tiny_api_path, rows, fast_settings, write_rows):
    from simulacra.text.calls import load_api
    from simulacra.train.dpo import train_dpo
    from simulacra.train.pairs import make_pairs

    folder, _ = tuned_tiny
    for s in (0, 1):
        shutil.copytree(folder, tmp_path / "tuned" / f"seed-{s}")
    pairs, report = make_pairs(tmp_path / "tuned", tiny_api_path, write_rows(tmp_path / "c.jsonl", rows), samples=3,
                               temperature=1.5, max_tokens=40)
    assert report["models"] == 2 and sum(report["outcomes"].values()) == 2 * len(rows)
    assert sum(report["labels"].values()) == 2 * len(rows) * 3
    assert all(p["seed"] in (0, 1) and p["chosen"] != p["rejected"] for p in pairs)
    hand = [{"request": r["request"], "chosen": c, "rejected": "I cannot.", "seed": s}
            for s in (0, 1) for r, c in [(rows[0], '<tool_call>{"name": "add", "arguments": {"a": 3, "b": 4}}</tool_call>')]]
    with load_api(tiny_api_path) as api:
        infos = train_dpo(write_rows(tmp_path / "p.jsonl", hand), base=tmp_path / "tuned", output=tmp_path / "dpo",
                          api=api, settings=replace(fast_settings, epochs=2, learning_rate=1e-3), progress=False)
    assert [i["kind"] for i in infos] == ["dpo", "dpo"] and infos[0]["rows"] == 1
    assert (tmp_path / "dpo" / "seed-1" / "config.json").is_file()
    # DPO runs trl's own loss: the SFT-only CPU savings are recorded off, though this run is on the CPU
    recorded = json.loads((tmp_path / "dpo" / "seed-1" / "simulacra-train.json").read_text())["settings"]
    assert recorded["device"] == "cpu"
    assert [recorded[k] for k in ("label_only_loss", "frozen_bf16", "pad_to_multiple_of", "share_prompt")] == [
        False, False, None, False]


@pytest.mark.parametrize(("asked", "message"), [
    ({"label_only_loss": True}, "label_only_loss applies to SFT only"),
    ({"frozen_bf16": True, "pad_to_multiple_of": 16}, "frozen_bf16, pad_to_multiple_of apply to SFT only"),
])
def test_dpo_refuses_the_sft_only_settings(asked, message):
    from simulacra.train.dpo import DPO_DEFAULTS, dpo_settings

    with pytest.raises(InputError, match=message):
        dpo_settings(replace(DPO_DEFAULTS, **asked))
    off = dpo_settings(replace(DPO_DEFAULTS, label_only_loss=False, pad_to_multiple_of=1))
    assert (off.label_only_loss, off.frozen_bf16, off.pad_to_multiple_of) == (False, False, 1)


def test_cli_uplift_llm_writes_summary(tmp_path, tiny_model, tuned_tiny, tiny_api_path, rows, write_rows):
    from simulacra.cli.main import app

    folder, _ = tuned_tiny
    res = CliRunner().invoke(app, ["uplift", "llm", "--api", str(tiny_api_path), "--eval",
                                   str(write_rows(tmp_path / "e.jsonl", rows)), "--models", f"base,{folder}",
                                   "--base", str(tiny_model), "--max-tokens", "40", "--json", str(tmp_path / "u.json"),
                                   "--html", str(tmp_path / "u.html"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "u.json").read_text())["info"]["device"] == "cpu"
    summary = json.loads((tmp_path / "u.json").read_text())["summary"]
    assert [(e["model"], e["exact_match"]) for e in summary][1] == (str(folder), 1.0)
    assert "| model | repeats | exact match" in res.output


def test_cli_train_sft_seeds(tmp_path, tiny_model, tiny_api_path, rows, write_rows):
    from simulacra.cli.main import app

    res = CliRunner().invoke(app, ["train", "sft", str(write_rows(tmp_path / "c.jsonl", rows)), "--base", str(tiny_model),
                                   "--api", str(tiny_api_path), "--full", "--max-steps", "2", "--batch-size", "2",
                                   "--seeds", "0,1", "-o", str(tmp_path / "t"), "--threads", "1", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["seed-0", "seed-1"]
    settings = json.loads((tmp_path / "t" / "seed-1" / "simulacra-train.json").read_text())["settings"]
    assert settings["seed"] == 1 and settings["device"] == "cpu"
    res = CliRunner().invoke(app, ["train", "sft", str(tmp_path / "c.jsonl"), "--base", str(tiny_model), "--api",
                                   str(tiny_api_path), "-o", str(tmp_path / "u"), "--device", "tpu"])
    assert res.exit_code != 0 and "cpu, cuda or cuda:N" in str(res.exception) and not (tmp_path / "u").exists()
