from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import ConstraintError, InputError, NotFittedError, ValidationError
from simulacra.tabular.copula import GaussianCopulaSynthesizer
from simulacra.testing import example_table


def _correlated(n=4000, rho=0.8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)
    group = np.where(x > 0.5, "high", np.where(x < -0.5, "low", "mid"))
    return pd.DataFrame({"x": np.round(np.exp(x), 3), "y": np.round(y * 10, 1), "group": group})


def test_keeps_marginals_and_dependence():
    real = _correlated()
    syn = GaussianCopulaSynthesizer(random_state=0).fit(real).sample(20000, random_state=1)
    assert abs(syn["x"].median() - real["x"].median()) < 0.05
    rho_real = real[["x", "y"]].corr(method="spearman").iloc[0, 1]
    rho_syn = syn[["x", "y"]].corr(method="spearman").iloc[0, 1]
    assert abs(rho_real - rho_syn) < 0.05
    freq = syn["group"].value_counts(normalize=True)
    assert abs(freq["mid"] - real["group"].value_counts(normalize=True)["mid"]) < 0.03
    # the categorical column follows x
    assert syn.loc[syn["group"] == "high", "x"].median() > syn.loc[syn["group"] == "low", "x"].median()


def test_conditions_return_exactly_n_rows_that_hold():
    real = _correlated()
    synth = GaussianCopulaSynthesizer(random_state=0).fit(real)
    rows = synth.sample(1000, conditions={"group": "high"})
    assert len(rows) == 1000 and (rows["group"] == "high").all()
    assert rows["y"].mean() > real["y"].mean() + 3  # dependent columns follow the condition
    both = synth.sample(50, conditions={"group": "low", "y": real["y"].iloc[0]})
    assert (both["y"] == real["y"].iloc[0]).all() and (both["group"] == "low").all()


def test_impossible_conditions_are_refused():
    synth = GaussianCopulaSynthesizer(random_state=0).fit(_correlated())
    with pytest.raises(ConstraintError, match="impossible"):
        synth.sample(5, conditions={"group": "unknown"})
    with pytest.raises(ConstraintError, match="ranges from"):
        synth.sample(5, conditions={"y": 1e9})
    with pytest.raises(ConstraintError, match="unknown column"):
        synth.sample(5, conditions={"nope": 1})


def test_missing_values_keep_rate_and_relation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    y = np.where(x > 1, np.nan, x * 2)  # y is missing exactly when x is large
    syn = GaussianCopulaSynthesizer(random_state=0).fit(pd.DataFrame({"x": x, "y": y})).sample(20000, random_state=0)
    assert abs(syn["y"].isna().mean() - np.isnan(y).mean()) < 0.02
    # rows where y is missing have clearly larger x, as in the real table (the copula blurs the edge)
    assert syn.loc[syn["y"].isna(), "x"].mean() > syn.loc[syn["y"].notna(), "x"].mean() + 0.5


def test_chunking_does_not_change_rows():
    synth = GaussianCopulaSynthesizer(random_state=0).fit(example_table())
    whole = synth.sample_range(0, 40000, random_state=9)
    parts = pd.concat(
        [synth.sample_range(a, b, random_state=9) for a, b in [(0, 7), (7, 20000), (20000, 40000)]], ignore_index=True
    )
    pd.testing.assert_frame_equal(whole, parts)


def test_bad_arguments():
    synth = GaussianCopulaSynthesizer()
    with pytest.raises(NotFittedError, match="call fit"):
        synth.sample(3)
    synth.fit(example_table())
    with pytest.raises(InputError, match="whole number"):
        synth.sample(2.5)
    with pytest.raises(InputError, match="zero or more"):
        synth.sample(-1)
    with pytest.raises(ValidationError, match="no rows"):
        GaussianCopulaSynthesizer().fit(example_table().head(0))
    with pytest.raises(ValidationError, match="infinite"):
        GaussianCopulaSynthesizer().fit(pd.DataFrame({"x": [1.0, np.inf, 2.0]}))


def test_wide_table_ten_thousand_columns():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(30, 1))
    values = (base + rng.normal(size=(30, 10_000)) * 0.5).round(2)
    df = pd.DataFrame(values, columns=[f"c{i}" for i in range(10_000)])
    synth = GaussianCopulaSynthesizer(random_state=0).fit(df)
    out = synth.sample(20)
    assert out.shape == (20, 10_000)
    # the shared factor survives in the low-rank model
    assert np.corrcoef(synth.sample(64, random_state=1)[["c0", "c1"]].to_numpy().T)[0, 1] > 0.2


def test_same_seed_same_rows_and_params_unchanged():
    data = example_table()
    a = GaussianCopulaSynthesizer(random_state=5, min_category_count=3)
    assert a.get_params() == {"metadata": None, "random_state": 5, "min_category_count": 3}
    b = GaussianCopulaSynthesizer(random_state=5, min_category_count=3)
    pd.testing.assert_frame_equal(a.fit(data).sample(300), b.fit(data).sample(300))
    assert not a.sample(300).equals(a.sample(300))  # the stream moves on between calls


def test_builtin_registry_matches_the_classes():
    from simulacra.tabular.registry import BUILTIN, get_synthesizer_class

    for name, entry in BUILTIN.items():
        cls = get_synthesizer_class(name)
        assert (cls.name, cls.__name__, cls.default_rank) == (name, entry.cls, entry.rank)
