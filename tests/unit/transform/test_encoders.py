from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from simulacra.metadata import CategoricalColumn, DatetimeColumn, NumericalColumn
from simulacra.transform import (
    RARE_TOKEN,
    BooleanEncoder,
    CategoricalEncoder,
    DatetimeEncoder,
    DiscreteMarginal,
    EmpiricalMarginal,
    IdEncoder,
    NumericalEncoder,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6)), min_size=1, max_size=50))
def test_integer_round_trip_is_exact(values):
    s = pd.Series(values, dtype="Int64")
    enc = NumericalEncoder("x", NumericalColumn(integer=True)).analyze(s)
    back = enc.decode(enc.encode(s))
    assert back.isna().tolist() == s.isna().tolist()
    assert back.dropna().astype(int).tolist() == s.dropna().astype(int).tolist()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 2)), min_size=1, max_size=50))
def test_decimals_and_bounds_kept(values):
    s = pd.Series(values)
    enc = NumericalEncoder("x", NumericalColumn(decimals=2)).analyze(s)
    noisy = enc.encode(s) + np.random.default_rng(0).normal(0, 1e4, len(s))
    back = enc.decode(noisy)
    assert back.min() >= s.min() and back.max() <= s.max()
    assert np.allclose(back, back.round(2))


def test_nullable_integers_stay_integers():
    s = pd.Series([1, None, 3], dtype="Int64")
    enc = NumericalEncoder("x", NumericalColumn(integer=True)).analyze(s)
    out = enc.decode(np.array([1.2, np.nan, 2.7]))
    assert str(out.dtype) == "Int64" and out.tolist()[0] == 1 and out.isna().tolist() == [False, True, False]


def test_rare_categories_are_never_reproduced():
    s = pd.Series(["a"] * 50 + ["b"] * 20 + ["secret"] * 2)
    enc = CategoricalEncoder("c", CategoricalColumn(), min_count=5).analyze(s)
    assert "secret" not in enc.labels and RARE_TOKEN in enc.labels
    assert set(enc.decode(np.arange(enc.n_codes))) == {"a", "b", RARE_TOKEN}
    allow = CategoricalEncoder("c", CategoricalColumn(), min_count=1).analyze(s)
    assert "secret" in allow.labels


def test_high_cardinality_has_no_blow_up():
    s = pd.Series(np.random.default_rng(0).integers(0, 100_000, 300_000).astype(str))
    enc = CategoricalEncoder("c", CategoricalColumn(), min_count=1).analyze(s)
    codes = enc.encode(s)
    assert codes.shape == (300_000,) and codes.dtype == np.int64
    assert enc.decode(codes).tolist()[:100] == s.tolist()[:100]


def test_categorical_missing_round_trip():
    s = pd.Series(["x", None, "y", "x"] * 5)
    enc = CategoricalEncoder("c", CategoricalColumn(), min_count=1).analyze(s)
    back = enc.decode(enc.encode(s))
    assert back.isna().tolist() == s.isna().tolist() and back.dropna().tolist() == s.dropna().tolist()


def test_datetime_round_trip_keeps_day_precision_and_missing():
    s = pd.Series(pd.to_datetime(["2020-01-01", None, "2021-06-30"]))
    enc = DatetimeEncoder("d", DatetimeColumn()).analyze(s)
    assert enc.stats_["step_seconds"] == 86400
    back = enc.decode(enc.encode(s) + 3600.0)
    assert back.isna().tolist() == [False, True, False]
    assert back.dropna().tolist() == s.dropna().tolist()


def test_datetime_strings_with_format():
    s = pd.Series(["20141013T000000", "20150225T000000"])
    enc = DatetimeEncoder("d", DatetimeColumn(format="%Y%m%dT%H%M%S")).analyze(s)
    assert pd.api.types.is_datetime64_any_dtype(enc.decode(enc.encode(s)))


def test_boolean_words():
    s = pd.Series(["yes", "no", None, "YES"])
    enc = BooleanEncoder("b").analyze(s)
    assert enc.encode(s).tolist() == [1, 0, -1, 1]


def test_ids_are_new_unique_and_shaped():
    s = pd.Series([f"AB-{i:06d}" for i in range(100)])
    enc = IdEncoder("k").analyze(s)
    out = enc.decode(np.arange(5000))
    assert out.is_unique and out.str.match(r"^AB-\d{6}$").all()
    assert not set(out) & set(s)


def test_randomized_pit_is_uniform_for_discrete_values():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 20000).astype(float)
    m = EmpiricalMarginal().fit(x)
    u = m.to_uniform(x, rng)
    hist = np.histogram(u, bins=10, range=(0, 1))[0] / len(u)
    assert np.abs(hist - 0.1).max() < 0.01
    assert np.array_equal(m.from_uniform(u), x)


def test_discrete_marginal_inverse():
    m = DiscreteMarginal([0.2, 0.5, 0.3])
    codes = np.array([0, 1, 2, 1])
    u = m.to_uniform(codes, np.random.default_rng(1))
    assert m.from_uniform(u).tolist() == codes.tolist()
