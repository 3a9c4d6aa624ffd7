"""Rules on a DP model: kept by post-processing the released model, never by reading training rows."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import simulacra as sim
from simulacra.cli.main import app
from simulacra.errors import ConstraintError, InputError
from simulacra.tabular import constraint_kinds
from simulacra.tabular.constraints import ConstraintSet
from simulacra.tabular.dp import DPSynthesizer, PrivacyBudgetWarning
from simulacra.tabular.dp.synthesizer import RULE_ROWS

RULES = [
    {"kind": "inequality", "low": "start", "high": "end"},
    {"kind": "range", "column": "age", "min": 25, "max": 60},
    {"kind": "sum", "columns": ["start", "end"], "total": "total"},
    {"kind": "derived", "column": "span", "formula": "end - start"},
    {"kind": "bound", "column": "mid", "at_least": ["start"], "at_most": ["end"]},
    {"kind": "missing_with", "if_missing": "bonus", "then_missing": ["bonus_year"]},
]


def _table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = rng.normal(100, 20, n).round(2)
    end = (start + rng.exponential(10, n)).round(2)
    bonus = np.where(rng.random(n) < 0.3, np.nan, rng.integers(100, 900, n))
    return pd.DataFrame({
        "id": np.arange(n), "age": rng.integers(18, 80, n), "g": rng.choice(["x", "y", "z"], n),
        "start": start, "end": end, "total": (start + end).round(2), "span": (end - start).round(2),
        "mid": ((start + end) / 2).round(2), "bonus": bonus,
        "bonus_year": np.where(np.isnan(bonus), np.nan, rng.integers(2000, 2020, n)),
    })


def _fit(df: pd.DataFrame, rules: list[dict] | None = None, **params) -> DPSynthesizer:
    meta = sim.Metadata.detect(df)
    meta.constraints = list(rules or [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same rows are fitted more than once here
        return DPSynthesizer(**{"epsilon": 1.0, "delta": 1e-7, "random_state": 0, "metadata": meta, **params}).fit(df)


def _holds(rows: pd.DataFrame) -> None:
    assert (rows["end"] >= rows["start"]).all()
    assert rows["age"].between(25, 60).all()
    assert np.allclose(rows["start"] + rows["end"], rows["total"], atol=0.005 + 1e-9)
    assert np.allclose(rows["end"] - rows["start"], rows["span"], atol=0.005 + 1e-9)
    assert ((rows["mid"] >= rows["start"]) & (rows["mid"] <= rows["end"])).all()
    assert rows.loc[rows["bonus"].isna(), "bonus_year"].isna().all()
    assert rows["id"].is_unique


@pytest.fixture(scope="module")
def with_rules() -> DPSynthesizer:
    return _fit(_table(), RULES)


def test_every_sampled_row_keeps_every_rule(with_rules, tmp_path):
    plain = _fit(_table()).sample(4000, random_state=3)
    # the released model alone breaks them: the rules are doing the work
    assert (plain["end"] < plain["start"]).mean() > 0.05 and (~plain["age"].between(25, 60)).mean() > 0.2
    assert not np.allclose(plain["start"] + plain["end"], plain["total"], atol=0.01)
    rows = with_rules.sample(4000, random_state=3)
    assert len(rows) == 4000
    _holds(rows)
    _holds(with_rules.sample(777, conditions={"g": "y"}, random_state=4))
    loaded = sim.load(with_rules.save(tmp_path / "m.model"))
    pd.testing.assert_frame_equal(loaded.sample(500, random_state=5), with_rules.sample(500, random_state=5))
    assert with_rules.sample(0).columns.tolist() == list(_table(10).columns)


def test_a_rule_leaves_the_released_model_and_the_budget_unchanged(with_rules):
    plain = _fit(_table())
    assert json.dumps(plain.privacy_guarantee(), sort_keys=True) == json.dumps(with_rules.privacy_guarantee(), sort_keys=True)
    one, two = plain._get_state(), with_rules._get_state()
    assert one.keys() == two.keys()
    for key in one:
        assert json.dumps(one[key], sort_keys=True, default=lambda a: np.asarray(a).tolist()) == json.dumps(
            two[key], sort_keys=True, default=lambda a: np.asarray(a).tolist()), key


def test_rules_are_prepared_from_released_rows_only(monkeypatch):
    df = _table(1500)
    seen: list[pd.DataFrame] = []
    original = constraint_kinds.Inequality.prepare

    def spy(self, data, meta, *, min_count=5):  # noqa: ANN001, ANN202
        seen.append(data)
        return original(self, data, meta, min_count=min_count)

    def no_training_rows(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("ConstraintSet.fit reads training rows")

    monkeypatch.setattr(constraint_kinds.Inequality, "prepare", spy)
    monkeypatch.setattr(ConstraintSet, "fit", no_training_rows)
    broken = df.assign(end=df["start"] - 1.0)  # every training row breaks the rule: it is never read
    model = _fit(broken, [{"kind": "inequality", "low": "start", "high": "end"}])
    assert len(seen) == 1 and len(seen[0]) == RULE_ROWS and not seen[0]["id"].isin([0]).any()
    rows = model.sample(300, random_state=1)
    assert (rows["end"] >= rows["start"]).all()


def test_a_rule_the_released_model_almost_never_meets_is_a_clear_error():
    meta = sim.Metadata.detect(_table())
    meta.constraints = [{"kind": "range", "column": "start", "min": 5000, "max": 6000}]
    with pytest.warns(UserWarning, match=r"Only 0 of 2,000 rows drawn from the released model meet the declared rules \(constraint #1"):
        DPSynthesizer(epsilon=1.0, delta=1e-7, metadata=meta, random_state=0).fit(_table(seed=8))
    model = _fit(_table(), meta.constraints)
    began = time.perf_counter()
    with pytest.raises(ConstraintError, match=r"none of [0-9,]+ rows drawn from the model did .*range: 5000 <= 'start'"):
        model.sample(10, random_state=0)
    assert time.perf_counter() - began < 60


@pytest.mark.parametrize(("seed", "rule", "message"), [
    (9, {"kind": "fixed_combinations", "columns": ["g", "age"]}, "takes its allowed values from the training rows"),
    (10, {"kind": "dependency", "determinant": ["g"], "dependent": ["age"]}, "takes its allowed values from the training rows"),
    (11, {"kind": "derived", "column": "span", "formula": "end - start", "found": "holds in 100% of 3,000 rows"},
     "was discovered in the training rows"),
    (12, {"kind": "inequality", "low": "start", "high": "nope"}, "not in the table"),
])
def test_rules_learned_from_the_data_are_refused_before_any_budget_is_spent(seed, rule, message):
    df = _table(3000, seed=seed)
    meta = sim.Metadata.detect(df)
    meta.constraints = [rule]
    with pytest.raises(ConstraintError, match=message):
        DPSynthesizer(epsilon=1.0, delta=1e-7, metadata=meta, random_state=0).fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyBudgetWarning)  # nothing was released above: nothing composes now
        DPSynthesizer(epsilon=1.0, delta=1e-7, random_state=0).fit(df)


def test_cli_keeps_declared_rules_and_refuses_discovery_with_epsilon(tmp_path):
    runner = CliRunner()
    src, meta_path, model = tmp_path / "t.csv", tmp_path / "meta.json", tmp_path / "m.model"
    df = _table(1500)
    df.to_csv(src, index=False)
    res = runner.invoke(app, ["fit", str(src), "--epsilon", "1", "--rules", "-o", str(model)])
    assert res.exit_code != 0 and isinstance(res.exception, InputError) and "outside the privacy budget" in str(res.exception)
    meta = sim.Metadata.detect(df).to_dict()
    meta["constraints"] = RULES[:2]
    meta_path.write_text(json.dumps(meta))
    res = runner.invoke(app, ["fit", str(src), "--epsilon", "1", "--delta", "1e-7", "--metadata", str(meta_path),
                              "--seed", "0", "-o", str(model)])
    assert res.exit_code == 0, res.output
    info = json.loads(runner.invoke(app, ["inspect", str(model), "--json"]).output)
    assert [r["how"] for r in info["rules"]] == ["checked and redrawn", "checked and redrawn"]
    rows = sim.load(model).sample(1000, random_state=2)
    assert (rows["end"] >= rows["start"]).all() and rows["age"].between(25, 60).all()
    res = runner.invoke(app, ["fit", str(src), "--epsilon", "1", "-o", str(tmp_path / "plain.model")])
    assert res.exit_code == 0, res.output  # without --rules: nothing is discovered, nothing refused
    assert json.loads(runner.invoke(app, ["inspect", str(tmp_path / "plain.model"), "--json"]).output)["rules"] == []


def test_imputation_on_a_dp_model_keeps_the_rules():
    model = _fit(_table(seed=3), RULES[:2])
    holes = _table(200, seed=5)
    holes["age"] = holes["age"].clip(25, 60)
    holes.loc[:49, "end"] = np.nan
    holes.loc[50:99, "age"] = np.nan
    filled = model.impute(holes, random_state=0)
    assert filled[["end", "age"]].notna().all().all()
    assert (filled["end"] >= filled["start"]).all() and filled["age"].between(25, 60).all()
    observed = holes.notna()
    assert (filled[observed] == holes[observed]).sum().sum() == observed.sum().sum()  # observed cells unchanged


def test_conditional_rows_of_a_dp_model_get_unique_keys():
    # regression: rows redrawn for a condition were numbered from the draw count, so the keys of one
    # block ran into the next block's (8,442 duplicates in 49,152 rows)
    model = _fit(_table(seed=4))
    rows = model.sample(3 * model.block_rows, conditions={"g": "x"}, random_state=1)
    assert (rows["g"] == "x").all() and rows["id"].is_unique
