"""The spec commands end to end: generate, check, infer, schema, simulate."""

import json
from pathlib import Path

import pandas as pd
import pytest

from simulacra.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
        raise SystemExit(0)
    out = capsys.readouterr()
    return exit_info.value.code or 0, out.out, out.err


def test_generate_single_table_same_seed_same_file(tmp_path, capsys):
    a, b = tmp_path / "a.parquet", tmp_path / "b.csv"
    assert run(["generate", str(EXAMPLES / "mixed.yaml"), "-n", "5000", "--seed", "1", "-o", str(a)], capsys)[0] == 0
    assert run(["generate", str(EXAMPLES / "mixed.yaml"), "-n", "5000", "--seed", "1", "-o", str(b), "--chunk-rows", "999"], capsys)[0] == 0
    pa_, pb = pd.read_parquet(a), pd.read_csv(b)
    assert len(pa_) == 5000 and list(pa_.columns) == list(pb.columns)
    assert (pa_["note"] == pb["note"]).all()


def test_generate_multi_table_writes_a_folder(tmp_path, capsys):
    code, _, _ = run(["generate", str(EXAMPLES / "customers.yaml"), "-n", "500", "--seed", "2", "-o", str(tmp_path / "shop")], capsys)
    assert code == 0
    files = sorted(p.name for p in (tmp_path / "shop").iterdir() if p.name != "_simulacra_tables.json")  # job marker
    assert files == ["activity.parquet", "customers.parquet", "orders.parquet"]
    customers, orders = pd.read_parquet(tmp_path / "shop" / "customers.parquet"), pd.read_parquet(tmp_path / "shop" / "orders.parquet")
    assert len(customers) == 500 and orders["customer_id"].isin(customers["customer_id"]).all()


def test_check_prints_plan_and_errors_exit_2(tmp_path, capsys):
    code, out, _ = run(["spec", "check", str(EXAMPLES / "queue.yaml")], capsys)
    assert code == 0 and "wait: formula <- arrival_gap, service_time" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables:\n  t:\n    rows: 3\n    columns:\n      x: {kind: normall}\n")
    code, _, err = run(["spec", "check", str(bad)], capsys)
    assert code == 2 and "line 5" in err and "did you mean 'normal'" in err


def test_infer_then_generate(tmp_path, capsys):
    real = pd.DataFrame({"a": range(200), "b": [x * 1.5 + 3 for x in range(200)], "c": ["x", "y"] * 100})
    real.to_csv(tmp_path / "real.csv", index=False)
    assert run(["spec", "infer", str(tmp_path / "real.csv"), "-o", str(tmp_path / "draft.yaml")], capsys)[0] == 0
    assert run(["generate", str(tmp_path / "draft.yaml"), "-n", "300", "-o", str(tmp_path / "s.jsonl")], capsys)[0] == 0
    assert len(pd.read_json(tmp_path / "s.jsonl", lines=True)) == 300


def test_schema_and_simulate(capsys):
    code, out, _ = run(["spec", "schema"], capsys)
    assert code == 0 and json.loads(out)["title"] == "Spec"
    code, out, _ = run(["simulate", str(EXAMPLES / "queue.yaml"), "-c", "wait", "-n", "20000", "--json", "--above", "10"], capsys)
    result = json.loads(out[out.index("{"):])
    assert code == 0 and result["n"] == 20000 and result["mean_se"] > 0 and "> 10" in result["probability"]
