"""impute() fills missing cells consistently with the model and never changes observed cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.metadata import Metadata
from simulacra.testing.synthesizers import example_table

MODELS = ["copula", "gmm", "trees"]


def _correlated(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    group = np.where(x > 0, "high", "low")
    return pd.DataFrame({"x": x, "y": 3 * x + rng.normal(0, 0.3, n), "group": group, "z": rng.normal(0, 1, n)})


def _punch(df: pd.DataFrame, rate: float, seed: int, columns: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = df.copy()
    for c in columns:
        out[c] = out[c].mask(rng.random(len(out)) < rate)
    return out


@pytest.mark.parametrize("model", MODELS)
def test_fills_every_hole_and_keeps_observed_cells(model: str) -> None:
    df = example_table(800)
    synth = sim.get_synthesizer_class(model)(random_state=0).fit(df)
    holes = _punch(df, 0.2, 1, ["age", "income", "city", "joined", "score"])
    out = synth.impute(holes, random_state=0)
    assert out.shape == holes.shape and out.index.equals(holes.index)
    assert out[["age", "income", "city", "joined", "score"]].notna().all().all()
    for c in df.columns:
        seen = holes[c].notna()
        assert (out.loc[seen, c] == holes.loc[seen, c]).all(), c
    assert set(out["city"]) <= set(df["city"])
    assert holes["age"].isna().any()  # the input itself is untouched


@pytest.mark.parametrize("model", MODELS)
def test_imputed_values_follow_the_observed_ones(model: str) -> None:
    df = _correlated()
    synth = sim.get_synthesizer_class(model)(random_state=0).fit(df)
    test = _correlated(400, seed=9)
    holes = test.copy()
    holes["y"] = np.nan
    out = synth.impute(holes, random_state=0)
    # y is about 3x: the imputation must use x (a marginal draw would have correlation ~0)
    assert np.corrcoef(out["x"], out["y"])[0, 1] > 0.8
    holes = test.copy()
    holes["group"] = None
    out = synth.impute(holes, random_state=0)
    assert (out["group"] == test["group"]).mean() > 0.65  # a marginal draw: 0.5


def test_impute_respects_constraints() -> None:
    df = _correlated()
    df["w"] = df["y"] + np.abs(df["z"])
    meta = Metadata.detect(df)
    meta.constraints = [{"kind": "inequality", "low": "y", "high": "w"}]
    synth = sim.get_synthesizer_class("trees")(metadata=meta, random_state=0).fit(df)
    holes = _punch(df.head(300), 0.3, 2, ["w", "y"])
    out = synth.impute(holes, random_state=0)
    assert out[["w", "y"]].notna().all().all() and (out["w"] >= out["y"]).all()


def test_a_complete_table_comes_back_unchanged() -> None:
    df = _correlated(200)
    synth = sim.GaussianCopulaSynthesizer(random_state=0).fit(df)
    assert synth.impute(df).equals(df)


def test_a_table_without_the_model_columns_is_refused() -> None:
    df = _correlated(200)
    synth = sim.GaussianCopulaSynthesizer(random_state=0).fit(df)
    with pytest.raises(sim.SimulacraError, match="lacks the model's columns: z"):
        synth.impute(df.drop(columns=["z"]))
