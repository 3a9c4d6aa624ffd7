"""Conditional sampling returns exactly n rows that satisfy the conditions, for every model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import ConstraintError
from simulacra.metadata import Metadata

MODELS = ["copula", "gmm", "trees"]


def _table(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    income = rng.choice([">50K", "<=50K"], n, p=[0.25, 0.75])
    age = np.where(income == ">50K", rng.integers(35, 70, n), rng.integers(18, 60, n))
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "age": age,
            "income": income,
            "city": rng.choice(["Oslo", "Rome", "Lima"], n),
            "vip": rng.random(n) < 0.2,
        }
    )


@pytest.fixture(scope="module")
def fitted() -> dict:
    df = _table()
    return {m: sim.get_synthesizer_class(m)(random_state=0).fit(df) for m in MODELS}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("n", [1, 37, 2000])
def test_exactly_n_rows_that_satisfy_the_condition(fitted: dict, model: str, n: int) -> None:
    out = fitted[model].sample(n, random_state=0, conditions={"income": ">50K"})
    assert len(out) == n
    assert (out["income"] == ">50K").all()
    assert out["id"].is_unique


@pytest.mark.parametrize("model", MODELS)
def test_conditions_keep_the_dependence(fitted: dict, model: str) -> None:
    rich = fitted[model].sample(3000, random_state=0, conditions={"income": ">50K"})
    poor = fitted[model].sample(3000, random_state=0, conditions={"income": "<=50K"})
    assert rich["age"].mean() > poor["age"].mean() + 3


@pytest.mark.parametrize("model", MODELS)
def test_several_conditions_and_value_lists(fitted: dict, model: str) -> None:
    out = fitted[model].sample(500, random_state=1, conditions={"city": ["Oslo", "Lima"], "vip": True})
    assert len(out) == 500 and set(out["city"]) <= {"Oslo", "Lima"} and out["vip"].all()


@pytest.mark.parametrize("model", MODELS)
def test_impossible_conditions_raise(fitted: dict, model: str) -> None:
    with pytest.raises(ConstraintError, match="impossible"):
        fitted[model].sample(10, conditions={"income": "unheard-of"})
    with pytest.raises(ConstraintError, match="unknown column"):
        fitted[model].sample(10, conditions={"nope": 1})
    with pytest.raises(ConstraintError, match="generated"):
        fitted[model].sample(10, conditions={"id": 3})


def test_same_seed_same_conditional_rows_and_prefix_property(fitted: dict) -> None:
    synth = fitted["trees"]
    a = synth.sample(50, random_state=4, conditions={"income": ">50K"})
    b = synth.sample(120, random_state=4, conditions={"income": ">50K"})
    assert a.equals(b.head(50))


def test_condition_that_breaks_a_constraint_is_impossible() -> None:
    df = _table()
    meta = Metadata.detect(df)
    meta.constraints = [{"kind": "range", "column": "age", "min": 18, "max": 70}]
    synth = sim.get_synthesizer_class("gmm")(metadata=meta, random_state=0).fit(df)
    with pytest.raises(ConstraintError, match="impossible"):
        synth.sample(5, conditions={"age": 90})
    out = synth.sample(20, conditions={"age": 40})
    assert len(out) == 20 and (out["age"] == 40).all()


def test_conditions_on_a_combined_column(fitted: dict) -> None:
    df = _table()
    df["country"] = df["city"].map({"Oslo": "NO", "Rome": "IT", "Lima": "PE"})
    meta = Metadata.detect(df)
    meta.constraints = [{"kind": "fixed_combinations", "columns": ["city", "country"]}]
    synth = sim.GaussianCopulaSynthesizer(metadata=meta, random_state=0).fit(df)
    out = synth.sample(100, conditions={"country": "PE"})
    assert len(out) == 100 and (out["city"] == "Lima").all()


@pytest.mark.parametrize(("model", "conditions", "advice", "wrong"), [
    # a DP model: never "fit another model on the rows" (that spends budget), only post-processing
    ("dp", {"income": ">50K"}, "spends more privacy budget", "use a model that conditions natively"),
    # a model without native conditions: the models that have them
    ("trees", {"income": ">50K"}, "conditions natively (model 'autoreg' or 'copula')", "privacy"),
    # a conditioning model asked for a list of values: why its own conditioning did not apply
    ("copula", {"income": [">50K", "<=50K"], "city": "Lima"}, "only on single values", "model 'copula'"),
])
def test_a_too_rare_request_gets_advice_that_fits_the_model(monkeypatch: pytest.MonkeyPatch, model: str,
                                                            conditions: dict, advice: str, wrong: str) -> None:
    from simulacra.tabular import sampling

    monkeypatch.setattr(sampling, "MAX_DRAWS", 1)  # any request that is not met at once counts as too rare
    params = {"epsilon": 3.0, "delta": 1e-8} if model == "dp" else {}
    synth = sim.get_synthesizer_class(model)(random_state=0, **params).fit(_table())
    with pytest.raises(ConstraintError, match="too rare") as caught:
        synth.sample(synth.block_rows, random_state=0, conditions=conditions)  # more than one block draw meets
    message = str(caught.value)
    assert advice in message and wrong not in message, message
