"""The sequence benchmark's entity split (issue 15): seed 0 is the split every recorded figure used, and
``--split-seeds`` runs the benchmark and its DCR checks on other random entity splits."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def modules():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield importlib.import_module("bench_sequence"), importlib.import_module("sequence_dcr_checks")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def toy_panel(entities: int = 40, seed: int = 0) -> pd.DataFrame:
    """Entities with two static attributes and a random walk of 3-7 events each."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(entities):
        n = int(rng.integers(3, 8))
        parts.append(pd.DataFrame({
            "id": f"e{i:02d}", "t": np.arange(n), "kind": "ab"[i % 2], "size": float(10 + i % 5),
            "x": np.cumsum(rng.normal(size=n)),
        }))
    return pd.concat(parts, ignore_index=True)


def test_default_split_is_the_recorded_one(modules):
    bench, _ = modules
    df = pd.DataFrame({"id": [f"e{i:02d}" for i in range(40) for _ in range(3)], "v": range(120)})
    # the held-out entities of the split used before split seeds existed (np.random.default_rng(0))
    recorded = ["e00", "e01", "e02", "e09", "e11", "e17", "e21", "e28"]
    for train, hold in (bench.split(df, "id"), bench.split(df, "id", 0)):
        assert sorted(hold["id"].unique()) == recorded
        assert len(train) == 96 and not set(train["id"]) & set(recorded)


def test_other_split_seeds_hold_out_other_entities_and_keep_every_event(modules):
    bench, _ = modules
    df = toy_panel()
    held = {}
    for seed in (0, 1, 2, 3):
        train, hold = bench.split(df, "id", seed)
        assert hold["id"].nunique() == 8 and train["id"].nunique() == 32
        assert not set(train["id"]) & set(hold["id"]) and len(train) + len(hold) == len(df)
        held[seed] = frozenset(hold["id"])
    assert len(set(held.values())) == 4
    assert bench.split(df, "id", 3)[1].equals(bench.split(df, "id", 3)[1])  # a seed is one split every time


def test_seed_lists_are_parsed_or_refused_with_a_message(modules):
    bench, _ = modules
    assert bench.seeds_arg("0,1,2,3") == [0, 1, 2, 3]
    for bad in ("a,b", "1,-2", "1,1", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="seeds|integers"):
            bench.seeds_arg(bad)


def test_result_keys_of_the_headline_split_are_unchanged(modules):
    bench, _ = modules
    assert [bench.result_key("ours", s, 0) for s in (0, 1)] == ["ours", "ours_seed1"]
    assert bench.result_key("par", None, 0) == "par"
    assert [bench.result_key("ours", s, 2) for s in (0, 1)] == ["ours_split2", "ours_split2_seed1"]


def test_benchmark_runs_the_whole_pipeline_on_each_split(modules, monkeypatch, tmp_path):
    bench, _ = modules
    monkeypatch.setattr(bench, "load", lambda name: (toy_panel(), "id", "t"))
    out = tmp_path / "splits.json"
    monkeypatch.setattr(sys, "argv", ["bench_sequence.py", "--tables", "toy", "--split-seeds", "0,5",
                                      "--out", str(out)])
    bench.main()
    runs = json.loads(out.read_text())["toy"]
    assert sorted(runs) == ["ours", "ours_split5"]
    assert [runs[k]["split_seed"] for k in ("ours", "ours_split5")] == [0, 5]
    assert all(0.0 <= runs[k]["entity_dcr"] <= 1.0 and runs[k]["training_entities"] == 32 for k in runs)


@pytest.mark.parametrize("param, message", [
    ("entity_volatilty=true", "entity_volatilty: not a SequenceSynthesizer parameter"),
    ("random_state=3", "random_state: not a SequenceSynthesizer parameter this benchmark leaves open"),
    ("entity_volatility", "expects COLUMN=VALUE"),
])
def test_ours_params_are_checked_before_any_data_is_loaded(modules, monkeypatch, capsys, param, message):
    """Regression: a misspelt ``--ours-param`` was a TypeError at the first fit, after the data set loaded."""
    bench, _ = modules
    monkeypatch.setattr(bench, "load", lambda name: pytest.fail("loaded the data before checking --ours-param"))
    monkeypatch.setattr(sys, "argv", ["bench_sequence.py", "--tables", "toy", "--ours-param", param])
    with pytest.raises(SystemExit):
        bench.main()
    assert message in capsys.readouterr().err


def test_dcr_checks_run_on_each_split_and_restore_the_model(modules, monkeypatch):
    _, checks = modules
    monkeypatch.setattr(checks, "load", lambda name: (toy_panel(), "id", "t"))
    fit_steps = checks.sequence.SequenceSynthesizer._fit_steps
    nulls = checks.main(["null", "toy", "--split-seeds", "0,1,2"])
    assert sorted(nulls) == [0, 1, 2] and all(len(v) == 5 for v in nulls.values())
    assert len({tuple(v) for v in nulls.values()}) == 3  # each split its own reference and held-out entities
    boot = checks.main(["entity", "toy", '{"statics_from": "training", "length_from": "holdout"}', "0,1",
                        "--split-seeds", "1,4"])
    assert sorted(boot) == [1, 4] and all(len(v) == 2 and all(0 <= s <= 1 for s in v) for v in boot.values())
    model = checks.main(["entity", "toy", "{}", "0", "--split-seeds", "2"])  # the entity model itself
    assert sorted(model) == [2] and 0 <= model[2][0] <= 1
    # the entity check swaps in an entity-table-only model while it runs, and only then
    assert checks.sequence.SequenceSynthesizer._fit_steps is fit_steps
    assert checks.autoreg.AutoregressiveSynthesizer.__name__ == "AutoregressiveSynthesizer"


def test_column_groups_split_the_entity_vector_by_what_it_summarises(modules):
    _, checks = modules
    cols = ["__length", "kind_a", "kind_b", "size", "x_first", "x_last", "x_mean", "x_std", "x_vol", "y_mean"]
    groups = checks.column_groups(cols, ["x", "y"])
    assert groups["length"] == ["__length"] and groups["statics"] == ["kind_a", "kind_b", "size"]
    assert groups["first"] == ["x_first"] and groups["mean"] == ["x_mean", "y_mean"] and groups["vol"] == ["x_vol"]
    assert sorted(groups["levels (mean, first, last)"]) == ["x_first", "x_last", "x_mean", "y_mean"]


def test_groups_check_scores_the_full_vector_as_the_report_does(modules, monkeypatch, capsys):
    bench, checks = modules
    monkeypatch.setattr(checks, "load", lambda name: (toy_panel(), "id", "t"))
    result = checks.main(["groups", "toy", "0", "--split-seeds", "3"])[3]
    train, hold = bench.split(toy_panel(), "id", 3)
    synth, _ = bench.run_ours(train, "id", "t", train["id"].nunique(), 0)
    report = bench.evaluate_sequences(train, synth, entity="id", order="t", holdout=hold)
    assert result["full vector"][0][0] == pytest.approx(report["privacy"]["entity_dcr_share"])
    assert {"without length", "length alone", "statics alone", "without levels (mean, first, last)"} <= set(result)
    assert all(0 <= m <= 1 and 0 <= n <= 1 for pairs in result.values() for m, n in pairs)
    assert "excess over the null" in capsys.readouterr().out


def test_reference_check_copies_score_above_the_null(modules, monkeypatch):
    _, checks = modules
    monkeypatch.setattr(checks, "load", lambda name: (toy_panel(80), "id", "t"))
    result = checks.main(["reference", "toy", "--split-seeds", "0,1"])
    assert sorted(result) == [0, 1] and all(len(r["copies"]) == len(r["normal"]) == 20 for r in result.values())
    # a quarter of the copies are of reference entities themselves (distance 0): share ~0.62, null ~0.5
    copies = np.mean([np.mean(r["copies"]) for r in result.values()])
    nulls = np.mean([np.mean(r["null"]) for r in result.values()])
    assert copies > nulls + 0.05
