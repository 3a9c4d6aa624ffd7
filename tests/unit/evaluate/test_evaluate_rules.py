"""The report's rules section: each rule of the real table, its share of rows in real and synthetic data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import simulacra as sim


def _real(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"above": rng.integers(500, 3000, n), "basement": rng.integers(0, 900, n),
                       "city": rng.choice(["Oslo", "Lima", "Pune"], n)})
    df["living"] = df["above"] + df["basement"]
    df["country"] = df["city"].map({"Oslo": "NO", "Lima": "PE", "Pune": "IN"})
    return df


def test_a_broken_rule_is_shown_and_lowers_validity(tmp_path) -> None:  # noqa: ANN001
    real = _real()
    syn = _real(800, 1)
    syn.loc[:39, "living"] += 7  # a table from another tool, with 40 rows that break the derived column
    syn.loc[40:49, "country"] = "IN"  # and 10 that pair a city with the wrong country (some rows overlap)
    rep = sim.evaluate(real, syn)
    rules = {r["rule"]: r for r in rep.results["rules"].details["rules"]}
    derived = rules["living = above + basement"]
    assert derived["real"] == 1.0 and derived["synthetic"] == 1 - 40 / 800 and derived["broken_rows"] == 40
    fd = rules["city -> country"]
    assert fd["real"] == 1.0 and fd["broken_rows"] == int((syn.loc[40:49, "city"] != "Pune").sum())
    broken = 40 + fd["broken_rows"]
    assert rep.rules == 1 - broken / 800 and rep.rules_broken == 2
    assert rep.validity <= 1 - broken / 800 and rep.rule_violations == broken / 800
    html = rep.to_html(tmp_path / "r.html").read_text()
    assert '<section id="rules"><h2>Rules</h2>' in html and "living = above + basement" in html
    assert json.loads(rep.to_json(tmp_path / "r.json").read_text())["metrics"]["rules"]["details"]["rules"]


def test_rules_kept_by_a_model_score_one() -> None:
    real = _real()
    meta = sim.Metadata.detect(real)
    from simulacra.rules import add_rules

    add_rules(meta, real)
    syn = sim.get_synthesizer_class("copula")(metadata=meta, random_state=0).fit(real).sample(600, random_state=0)
    rep = sim.evaluate(real, syn, metadata=meta)
    assert rep.rules == 1.0 and rep.rules_broken == 0
    assert {r["source"] for r in rep.results["rules"].details["rules"]} == {"metadata"}


def test_rows_with_a_missing_input_obey_a_declared_rule() -> None:
    real = _real()
    meta = sim.Metadata.detect(real)
    meta.constraints = [{"kind": "derived", "column": "living", "formula": "above + basement"}]
    syn = _real(300, 2).assign(basement=np.nan, living=5)
    rep = sim.evaluate(real, syn, metadata=meta)
    entry = next(r for r in rep.results["rules"].details["rules"] if r["rule"] == "living = above + basement")
    assert entry["synthetic"] == 1.0  # rows with a missing input obey a rule (as in the models)
