"""The DP model from the command line (fit --epsilon, inspect) and its guarantee in the evaluation report."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import simulacra as sim
from simulacra.cli.main import app
from simulacra.errors import InputError
from simulacra.tabular.dp import DPSynthesizer

runner = CliRunner()


def _table(n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    g = rng.choice(["a", "b"], n)
    return pd.DataFrame({"g": g, "x": np.where(g == "a", rng.normal(10, 2, n), rng.normal(30, 2, n)).round(1)})


def test_fit_with_epsilon_selects_the_dp_model_and_inspect_shows_the_guarantee(tmp_path):
    src, model, bounds = tmp_path / "t.csv", tmp_path / "m.model", tmp_path / "b.json"
    _table().to_csv(src, index=False)
    bounds.write_text(json.dumps({"g": ["a", "b"]}))
    res = runner.invoke(app, ["fit", str(src), "--epsilon", "2", "--delta", "1e-7", "--bounds", str(bounds),
                              "--seed", "0", "-o", str(model)])
    assert res.exit_code == 0, res.output
    loaded = sim.load(model)
    assert isinstance(loaded, DPSynthesizer) and loaded.privacy_guarantee()["epsilon"] == 2.0
    assert loaded.privacy_guarantee()["public_columns"] == ["g"]
    res = runner.invoke(app, ["inspect", str(model)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "Guarantee: (2, 1e-07)-differential privacy" in res.output
    assert "Budget split" in res.output and "tables" in res.output and "Public domains (no budget spent on them): g" in res.output
    assert "Tables measured: " in res.output and ("x | g" in res.output or "g | x" in res.output)  # ε = 2: the network
    info = json.loads(runner.invoke(app, ["inspect", str(model), "--json"]).output)
    assert info["model"]["privacy"]["split"]["tables"]["share"] > 0
    assert "Bayesian network" in info["model"]["privacy"]["mechanism"]


def test_privacy_options_need_epsilon_and_the_dp_model(tmp_path):
    src = tmp_path / "t.csv"
    _table(300).to_csv(src, index=False)
    res = runner.invoke(app, ["fit", str(src), "--delta", "1e-7", "-o", str(tmp_path / "m")])
    assert res.exit_code != 0 and "add --epsilon" in str(res.exception)
    res = runner.invoke(app, ["fit", str(src), "--epsilon", "1", "--model", "copula", "-o", str(tmp_path / "m")])
    assert res.exit_code != 0 and "no DP guarantee" in str(res.exception)


def test_report_states_the_guarantee_beside_the_measured_risk(tmp_path):
    real = _table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DPSynthesizer(epsilon=1.0, delta=1e-7, random_state=0).fit(real)
    report = sim.evaluate(real, model.sample(len(real)), metrics=["quality"], guarantee=model.privacy_guarantee())
    assert report.info["guarantee"]["epsilon"] == 1.0
    assert "dp_epsilon" in str(report.summary()) and "(1, 1e-07)-differential privacy" in str(report.summary())
    html = report.to_html(tmp_path / "r.html").read_text()
    assert "Formal guarantee" in html and "ε = 1," in html
    plain = sim.evaluate(real, model.sample(len(real)), metrics=["quality"])
    assert plain.info["guarantee"] is None and "dp_epsilon" not in str(plain.summary())
    with pytest.raises(InputError, match="guarantee must be a dict"):
        sim.evaluate(real, real, metrics=["quality"], guarantee={"eps": 1})


def test_evaluate_command_reads_the_guarantee_from_the_model_file(tmp_path):
    real = _table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DPSynthesizer(epsilon=2.0, delta=1e-7, random_state=0).fit(real)
    paths = {k: tmp_path / f"{k}.csv" for k in ("real", "syn")}
    real.to_csv(paths["real"], index=False)
    model.sample(len(real), random_state=1).to_csv(paths["syn"], index=False)
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["evaluate", str(paths["real"]), str(paths["syn"]), "--model", str(model.save(tmp_path / "m.model")),
                              "--json", str(out)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["info"]["guarantee"]["epsilon"] == 2.0
    assert "dp_epsilon" in res.output
