"""`simulacra metadata` lists the rules found, `fit` keeps them, `inspect` shows them; --no-rules turns them off."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from simulacra.cli.main import app

runner = CliRunner()


@pytest.fixture()
def table(tmp_path):  # noqa: ANN001, ANN201
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"above": rng.integers(500, 3000, 800), "basement": rng.integers(0, 900, 800),
                       "city": rng.choice(["Oslo", "Lima"], 800)})
    df["living"] = df["above"] + df["basement"]
    path = tmp_path / "houses.csv"
    df.to_csv(path, index=False)
    return path


def test_metadata_lists_and_writes_the_rules_found(tmp_path, table) -> None:  # noqa: ANN001
    out = tmp_path / "meta.json"
    res = runner.invoke(app, ["metadata", str(table), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "living = above + basement" in res.output and "holds in 800 of 800 rows" in res.output
    rules = json.loads(out.read_text())["constraints"]
    assert rules == [{"kind": "derived", "column": "living", "formula": "above + basement",
                      "found": "holds in 800 of 800 rows"}]
    res = runner.invoke(app, ["metadata", str(table), "-o", str(out), "--no-rules"])
    assert res.exit_code == 0 and json.loads(out.read_text())["constraints"] == []


def test_fit_keeps_the_rules_and_inspect_shows_them(tmp_path, table) -> None:  # noqa: ANN001
    model, syn = tmp_path / "m.model", tmp_path / "syn.csv"
    res = runner.invoke(app, ["fit", str(table), "-m", "copula", "--seed", "1", "-o", str(model)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["inspect", str(model), "--json"])
    rules = json.loads(res.output)["rules"]
    assert [r["rule"] for r in rules] == ["living = above + basement"] and rules[0]["how"] == "by construction"
    assert runner.invoke(app, ["sample", str(model), "-n", "300", "-o", str(syn)]).exit_code == 0
    out = pd.read_csv(syn)
    assert (out["living"] == out["above"] + out["basement"]).all()
    res = runner.invoke(app, ["fit", str(table), "-m", "copula", "-o", str(model), "--no-rules"])
    assert res.exit_code == 0 and json.loads(runner.invoke(app, ["inspect", str(model), "--json"]).output)["rules"] == []


def test_a_dp_fit_on_default_metadata_says_how_to_write_it_without_found_rules(tmp_path, table) -> None:  # noqa: ANN001
    """`simulacra metadata` discovers rules by default; a DP fit refuses them, and the error names the way out."""
    from simulacra.errors import ConstraintError

    found, plain = tmp_path / "found.json", tmp_path / "plain.json"
    assert runner.invoke(app, ["metadata", str(table), "-o", str(found)]).exit_code == 0
    assert json.loads(found.read_text())["constraints"]  # living = above + basement was found
    res = runner.invoke(app, ["fit", str(table), "--epsilon", "1", "--delta", "1e-7", "--metadata", str(found),
                              "-o", str(tmp_path / "m.model")])
    assert isinstance(res.exception, ConstraintError) and "simulacra metadata --no-rules" in str(res.exception)
    assert runner.invoke(app, ["metadata", str(table), "--no-rules", "-o", str(plain)]).exit_code == 0
    res = runner.invoke(app, ["fit", str(table), "--epsilon", "1", "--delta", "1e-7", "--metadata", str(plain),
                              "-o", str(tmp_path / "m.model")])
    assert res.exit_code == 0, res.output
