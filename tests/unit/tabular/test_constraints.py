"""Constraints declared in metadata hold in every sampled row, for every model (property tests)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulacra as sim
from simulacra.errors import ConstraintError
from simulacra.metadata import Metadata
from simulacra.tabular.constraints import ConstraintSet, parse_constraint

MODELS = ["copula", "gmm", "trees"]


def _table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(["Oslo", "Rome", "Lima", "Pune"], n)
    df = pd.DataFrame(
        {
            "a": rng.integers(0, 50, n),
            "p1": np.round(rng.random(n) * 10, 2),
            "p2": np.round(rng.random(n) * 5, 2),
            "city": city,
            "country": pd.Series(city).map({"Oslo": "NO", "Rome": "IT", "Lima": "PE", "Pune": "IN"}),
            "checkin": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
            "code": rng.permutation(n) * 7 + 100,
        }
    )
    df["b"] = df["a"] + rng.integers(0, 4, n)
    df["total"] = np.round(df["p1"] + df["p2"], 2)
    df["checkout"] = df["checkin"] + pd.to_timedelta(rng.integers(1, 15, n), unit="D")
    return df


CONSTRAINTS = [
    {"kind": "range", "column": "a", "min": 0, "max": 49},
    {"kind": "inequality", "low": "a", "high": "b"},
    {"kind": "inequality", "low": "checkin", "high": "checkout", "strict": True},
    {"kind": "fixed_combinations", "columns": ["city", "country"]},
    {"kind": "sum", "columns": ["p1", "p2"], "total": "total"},
    {"kind": "unique", "column": "code"},
]


def _meta(df: pd.DataFrame, constraints: list[dict]) -> Metadata:
    meta = Metadata.detect(df)
    meta.constraints = constraints
    return meta


def _assert_all_hold(df: pd.DataFrame, out: pd.DataFrame) -> None:
    assert (out["a"].between(0, 49)).all()
    assert (out["b"] >= out["a"]).all()
    assert (out["checkout"] > out["checkin"]).all()
    pairs = set(zip(df["city"], df["country"]))
    assert set(zip(out["city"], out["country"])) <= pairs
    assert np.allclose(out["p1"] + out["p2"], out["total"], atol=0.005 + 1e-9)
    assert out["code"].is_unique


@pytest.mark.parametrize("model", MODELS)
def test_every_constraint_holds_for_every_model(model: str) -> None:
    df = _table()
    synth = sim.get_synthesizer_class(model)(metadata=_meta(df, CONSTRAINTS), random_state=0).fit(df)
    out = synth.sample(3000, random_state=1)
    assert len(out) == 3000 and list(out.columns) == list(df.columns)
    _assert_all_hold(df, out)
    assert out["checkout"].dtype == df["checkout"].dtype and out["a"].dtype == df["a"].dtype


def test_constraints_survive_save_and_load(tmp_path) -> None:
    df = _table()
    synth = sim.GaussianCopulaSynthesizer(metadata=_meta(df, CONSTRAINTS), random_state=0).fit(df)
    synth.save(tmp_path / "m.simulacra")
    loaded = sim.load(tmp_path / "m.simulacra")
    out = loaded.sample(500, random_state=2)
    _assert_all_hold(df, out)
    assert out.equals(synth.sample(500, random_state=2))


def test_training_rows_that_break_a_constraint_are_reported() -> None:
    df = _table()
    df.loc[[3, 8], "b"] = df.loc[[3, 8], "a"] - 1
    with pytest.raises(ConstraintError, match=r"2 of 400 rows violate it, e.g. row 3: a=.*b="):
        sim.GaussianCopulaSynthesizer(metadata=_meta(df, CONSTRAINTS[1:2])).fit(df)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"kind": "ratio", "column": "a"}, "unknown kind 'ratio'"),
        ({"kind": "range", "column": "a"}, "give 'min', 'max' or both"),
        ({"kind": "inequality", "low": "a", "high": "a"}, "must be different columns"),
        ({"kind": "sum", "columns": ["a"], "total": "a"}, "cannot also be one of"),
        ({"kind": "fixed_combinations", "columns": ["a"]}, "at least 2"),
    ],
)
def test_malformed_constraints_get_clear_errors(payload: dict, message: str) -> None:
    with pytest.raises(ConstraintError, match=message):
        parse_constraint(payload)


def test_constraint_on_unknown_or_wrong_column_names_it() -> None:
    df = _table()
    with pytest.raises(ConstraintError, match="names column 'nope'"):
        sim.GaussianCopulaSynthesizer(metadata=_meta(df, [{"kind": "unique", "column": "nope"}])).fit(df)
    with pytest.raises(ConstraintError, match="'city' is categorical"):
        sim.GaussianCopulaSynthesizer(metadata=_meta(df, [{"kind": "range", "column": "city", "min": 0}])).fit(df)


def test_rare_combinations_are_never_sampled() -> None:
    df = _table()
    df.loc[:2, "country"] = "XX"  # three rows of a rare pair: below the privacy floor
    meta = _meta(df, CONSTRAINTS[3:4])
    synth = sim.GaussianCopulaSynthesizer(metadata=meta, random_state=0).fit(df)
    out = synth.sample(5000, random_state=0)
    assert "XX" not in set(out["country"])
    assert "XX" not in json.dumps(synth.to_state()["state"]["base"], default=str)  # not even stored in the model
    assert set(zip(out["city"], out["country"])) <= set(zip(df["city"], df["country"]))


def test_chained_inequalities_hold() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 300)
    df = pd.DataFrame({"a": a, "b": a + rng.exponential(1, 300), "c": 0.0})
    df["c"] = df["b"] + rng.exponential(1, 300)
    cons = [{"kind": "inequality", "low": "b", "high": "c"}, {"kind": "inequality", "low": "a", "high": "b"}]
    out = sim.get_synthesizer_class("gmm")(metadata=_meta(df, cons), random_state=0).fit(df).sample(2000)
    assert ((out["a"] <= out["b"]) & (out["b"] <= out["c"])).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(5, 120),
    lo=st.integers(-50, 50),
    width=st.integers(0, 100),
    strict=st.booleans(),
    decimals=st.integers(0, 3),
    missing=st.floats(0, 0.4),
)
def test_property_random_tables_and_constraints_always_hold(
    seed: int, n: int, lo: int, width: int, strict: bool, decimals: int, missing: float
) -> None:
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(lo, lo + width, n), decimals)
    gap = np.round(rng.exponential(3, n), decimals) + (10.0**-decimals if strict else 0.0)
    part = np.round(rng.normal(0, 10, n), decimals)
    df = pd.DataFrame({"x": x, "y": x + gap, "p": part, "q": x, "t": np.round(part + x, decimals)})
    df.loc[rng.random(n) < missing, "y"] = np.nan
    cons = [
        {"kind": "range", "column": "x", "min": lo, "max": lo + width},
        {"kind": "inequality", "low": "x", "high": "y", "strict": strict},
        {"kind": "sum", "columns": ["p", "q"], "total": "t"},
    ]
    meta = _meta(df, cons)
    synth = sim.get_synthesizer_class(["copula", "gmm", "trees"][seed % 3])(metadata=meta, random_state=seed).fit(df)
    out = synth.sample(300, random_state=seed)
    assert len(out) == 300
    cs = ConstraintSet.parse(cons).fit(df, meta)
    assert cs.valid(out).all()
    both = out["y"].notna()
    assert ((out.loc[both, "y"] > out.loc[both, "x"]) if strict else (out.loc[both, "y"] >= out.loc[both, "x"])).all()
    assert out["x"].between(lo, lo + width).all()


def test_impossible_constraint_after_repair_is_an_error_not_fewer_rows() -> None:
    df = pd.DataFrame({"a": [1, 1, 1, 1, 1, 1], "b": [1, 1, 1, 1, 1, 1]})
    meta = _meta(df, [{"kind": "inequality", "low": "a", "high": "b", "strict": True}])
    with pytest.raises(ConstraintError, match="violate it"):
        sim.GaussianCopulaSynthesizer(metadata=meta).fit(df)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(3, 150),
    cities=st.integers(1, 8),
    model=st.sampled_from(MODELS),
    min_count=st.sampled_from([1, 5]),
)
def test_property_fixed_combinations_and_keys_always_hold(
    seed: int, n: int, cities: int, model: str, min_count: int
) -> None:
    rng = np.random.default_rng(seed)
    city = rng.integers(0, cities, n)
    df = pd.DataFrame({"city": [f"c{c}" for c in city], "country": [f"k{c % 3}" for c in city], "key": rng.permutation(n)})
    df.loc[rng.random(n) < 0.1, "country"] = None
    meta = _meta(df, [{"kind": "fixed_combinations", "columns": ["city", "country"]}, {"kind": "unique", "column": "key"}])
    synth = sim.get_synthesizer_class(model)(metadata=meta, random_state=seed, min_category_count=min_count).fit(df)
    try:
        out = synth.sample(200, random_state=seed)
    except ConstraintError as exc:  # every combination rarer than the floor: nothing may be sampled
        assert min_count > 1 and "impossible" in str(exc)
        return
    assert len(out) == 200 and out["key"].is_unique
    seen = set(zip(df["city"], df["country"].fillna("<na>")))
    assert set(zip(out["city"], out["country"].fillna("<na>"))) <= seen
