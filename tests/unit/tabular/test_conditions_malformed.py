"""Malformed sampling conditions are refused with a ConstraintError (found by fuzzing), never a crash."""

from __future__ import annotations

import pytest

from simulacra.errors import ConstraintError
from simulacra.tabular.registry import get_synthesizer_class
from simulacra.testing import example_table


@pytest.fixture(scope="module")
def model():
    return get_synthesizer_class("copula")(random_state=0).fit(example_table())


@pytest.mark.parametrize("conditions", ["city=Oslo", 5, [("city", "Oslo")]])
def test_conditions_that_are_not_a_mapping(model, conditions):
    with pytest.raises(ConstraintError, match="mapping of column to value"):
        model.sample(3, conditions=conditions)


@pytest.mark.parametrize("value", [{"a": 1}, [["Oslo"]], [{"a": 1}]])
def test_condition_values_that_are_not_values(model, value):
    with pytest.raises(ConstraintError, match="not a value"):
        model.sample(3, conditions={"member": True, "city": value})


def test_good_conditions_still_hold(model):
    rows = model.sample(20, random_state=1, conditions={"city": ["Oslo", "Lima"], "member": True})
    assert rows["city"].isin(["Oslo", "Lima"]).all() and rows["member"].all()
