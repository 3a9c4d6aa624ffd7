"""Rules found by discovery are kept in every sampled row, by every model, with conditions and at scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import ConstraintError
from simulacra.metadata import Metadata
from simulacra.rules import describe_rule, discover_rules, rule_mask
from simulacra.scale.api import sample_to


def _table(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sched_min = rng.integers(5 * 60, 23 * 60, n)
    sched = (sched_min // 60) * 100 + sched_min % 60
    delay = np.round(rng.gamma(1.5, 20, n) - 10)
    delay[rng.random(n) < 0.05] = np.nan
    dep = (((sched_min + delay) % 1440) // 60) * 100 + (sched_min + delay) % 60
    grade = rng.choice(["low", "mid", "high", "top"], n, p=[0.3, 0.3, 0.3, 0.1])
    open_ = np.round(rng.uniform(10, 100, n), 2)
    close = np.round(open_ * rng.uniform(0.95, 1.05, n), 2)
    above = rng.integers(500, 3000, n)
    basement = np.where(rng.random(n) < 0.5, 0, rng.integers(100, 1500, n))
    return pd.DataFrame({
        "sched": sched, "delay": delay, "dep": dep, "hour": sched // 100, "minute": sched % 100,
        "grade": grade, "grade_num": pd.Series(grade).map({"low": 1, "mid": 2, "high": 3, "top": 4}).to_numpy(),
        "open": open_, "close": close,
        "high": np.round(np.maximum(open_, close) + rng.exponential(0.5, n), 2),
        "low": np.round(np.minimum(open_, close) - rng.exponential(0.5, n), 2),
        "above": above, "basement": basement, "living": above + basement,
        "year": 2024, "month": 3, "day": rng.integers(1, 29, n),
    }).assign(stamp=lambda d: pd.to_datetime(d[["year", "month", "day", "hour"]]))


@pytest.fixture(scope="module")
def fitted_rules() -> tuple[pd.DataFrame, Metadata]:
    df = _table()
    meta = Metadata.detect(df)
    meta.constraints = discover_rules(df, meta).rules
    kinds = {r["kind"] for r in meta.constraints}
    assert {"derived", "dependency", "bound", "clock", "missing_with"} <= kinds
    return df, meta


def _assert_rules_hold(meta: Metadata, real: pd.DataFrame, out: pd.DataFrame) -> None:
    for rule in meta.constraints:
        mask = rule_mask(rule, out, real)
        assert mask is not None and mask.all(), f"{describe_rule(rule)}: {int((~mask).sum())} rows break it"
    assert (out["sched"] % 100 < 60).all() and (out["dep"].dropna() % 100 < 60).all()


@pytest.mark.parametrize("model", ["copula", "gmm", "trees", "autoreg"])
def test_found_rules_hold_in_every_row_for_every_model(model: str, fitted_rules) -> None:  # noqa: ANN001
    df, meta = fitted_rules
    synth = sim.get_synthesizer_class(model)(metadata=meta, random_state=0).fit(df)
    out = synth.sample(2000, random_state=1)
    assert len(out) == 2000 and list(out.columns) == list(df.columns)
    _assert_rules_hold(meta, df, out)
    for name in ("hour", "minute", "living", "dep", "stamp"):  # computed, not sampled
        assert name not in synth.model_metadata_.columns
    assert out["hour"].value_counts(normalize=True).max() < 0.15  # the clock's minutes are modelled, not clipped


def test_rules_hold_with_conditions_and_after_save_and_load(fitted_rules, tmp_path) -> None:  # noqa: ANN001
    df, meta = fitted_rules
    synth = sim.get_synthesizer_class("copula")(metadata=meta, random_state=0).fit(df)
    out = synth.sample(500, random_state=2, conditions={"grade": "top", "hour": 7})
    assert (out["grade"] == "top").all() and (out["grade_num"] == 4).all() and (out["hour"] == 7).all()
    _assert_rules_hold(meta, df, out)
    synth.save(tmp_path / "m.simulacra")
    loaded = sim.load(tmp_path / "m.simulacra")
    assert loaded.sample(300, random_state=3).equals(synth.sample(300, random_state=3))


def test_rules_hold_in_the_scale_job(fitted_rules, tmp_path) -> None:  # noqa: ANN001
    df, meta = fitted_rules
    synth = sim.get_synthesizer_class("trees")(metadata=meta, random_state=0).fit(df)
    sample_to(synth, tmp_path / "out", 3000, chunk_rows=1000, workers=1, format="csv")
    out = pd.concat([pd.read_csv(p) for p in sorted((tmp_path / "out").glob("*.csv"))], ignore_index=True)
    assert len(out) == 3000
    out["stamp"] = pd.to_datetime(out["stamp"])
    _assert_rules_hold(meta, df, out)


def test_a_rule_written_by_hand_in_the_metadata_json(tmp_path) -> None:
    df = _table(600)
    meta = Metadata.detect(df)
    meta.constraints = [{"kind": "derived", "column": "living", "formula": "above + basement"},
                        {"kind": "bound", "column": "high", "at_least": ["open", "close"]}]
    meta.save(tmp_path / "meta.json")
    synth = sim.get_synthesizer_class("gmm")(metadata=str(tmp_path / "meta.json"), random_state=0).fit(df)
    out = synth.sample(800, random_state=0)
    assert (out["living"] == out["above"] + out["basement"]).all()
    assert (out["high"] >= out[["open", "close"]].max(axis=1)).all()


@pytest.mark.parametrize(("rule", "message"), [
    ({"kind": "derived", "column": "living", "formula": "above +"}, "not valid"),
    ({"kind": "derived", "column": "living", "formula": "living + 1"}, "cannot use 'living' itself"),
    ({"kind": "derived", "column": "living", "formula": "os.system(1)"}, "not allowed"),
    ({"kind": "bound", "column": "high"}, "give 'at_least', 'at_most' or both"),
    ({"kind": "dependency", "determinant": ["grade"], "dependent": ["grade"]}, "both determinant and dependent"),
    ({"kind": "derived", "column": "living", "formula": "above + nowhere"}, "names column 'nowhere'"),
])
def test_bad_rules_get_clear_errors(rule: dict, message: str) -> None:
    df = _table(300)
    meta = Metadata.detect(df)
    meta.constraints = [rule]
    with pytest.raises(ConstraintError, match=message):
        sim.get_synthesizer_class("copula")(metadata=meta).fit(df)


def test_training_rows_breaking_a_rule_are_refused_unless_they_are_declared_exceptions() -> None:
    df = _table(600)
    df.loc[3, "low"] = df.loc[3, "open"] + 1
    meta = Metadata.detect(df)
    meta.constraints = [{"kind": "bound", "column": "low", "at_most": ["open", "close"]}]
    with pytest.raises(ConstraintError, match="1 of 600 rows violate it"):
        sim.get_synthesizer_class("copula")(metadata=meta).fit(df)
    meta.constraints = [{"kind": "bound", "column": "low", "at_most": ["open", "close"], "exceptions": 0.002}]
    out = sim.get_synthesizer_class("copula")(metadata=meta, random_state=0).fit(df).sample(1000, random_state=0)
    assert (out["low"] <= out[["open", "close"]].min(axis=1)).all()
