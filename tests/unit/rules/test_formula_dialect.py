"""Rule formulas are a dialect of ``simulacra.expr``: its bounds and checks, the rules' functions and floats."""

from __future__ import annotations

import numpy as np
import pytest

from simulacra.errors import ConstraintError
from simulacra.expr import MAX_CHARS, MAX_DEPTH, Evaluator, Expression
from simulacra.rules.formula import Formula


def test_a_formula_is_an_expression_of_the_shared_language() -> None:
    f = Formula("clock(clock_minutes(t) + 30)")
    assert isinstance(f, Expression)
    assert issubclass(Formula.evaluator, Evaluator)
    assert {"clock", "utc", "mean"} <= set(Formula.evaluator.functions)
    assert not Formula.evaluator.draws  # a rule formula never draws


def test_the_length_bound_of_the_language_applies() -> None:
    text = " + ".join(["a"] * (MAX_CHARS // 4 + 1))
    with pytest.raises(ConstraintError, match="characters long"):
        Formula(text)


def test_the_nesting_bound_of_the_language_applies() -> None:
    with pytest.raises(ConstraintError, match="nested more than"):
        Formula("(" * (MAX_DEPTH + 5) + "a" + ")" * (MAX_DEPTH + 5) + " + " + "-" * (MAX_DEPTH + 5) + "a")


def test_names_the_language_treats_as_constants_are_columns_here() -> None:
    f = Formula("e + pi + row")
    assert f.columns == ["e", "pi", "row"]
    got = f.evaluate({"e": np.array([1.0]), "pi": np.array([2.0]), "row": np.array([4.0])})
    assert got.tolist() == [7.0]


def test_floats_infinite_results_are_missing_and_division_by_zero_is_not_refused() -> None:
    got = Formula("a / b + a // b + a % b").evaluate({"a": np.array([1.0, 4.0, np.nan]), "b": np.array([0.0, 2.0, 1.0])})
    assert np.isnan(got[0]) and got[1] == 4.0 and np.isnan(got[2])
    assert Formula("round(a, 1)").evaluate({"a": np.array([1.26])}).tolist() == [1.3]  # digits arrive as a float


def test_a_column_quoted_twice_is_read_once() -> None:
    f = Formula("a + `a` * 2")
    assert f.columns == ["a"]
    assert f.evaluate({"a": np.array([1.0])}).tolist() == [3.0]
