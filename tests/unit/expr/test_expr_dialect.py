"""A dialect of the expression language: its own function table and value rules through ``Evaluator``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from simulacra.errors import ExpressionError
from simulacra.expr import FUNCTIONS, Evaluator, Expression


class _Twice(Evaluator):
    functions: ClassVar[dict] = {"twice": (lambda x: 2 * x, 1, 1)}
    draws: ClassVar[dict] = {}

    def arith(self, op: type, a: Any, b: Any) -> Any:  # every result one more, to see the hook used
        return super().arith(op, a, b) + 1


class _Dialect(Expression):
    evaluator = _Twice


def test_the_dialect_checks_and_evaluates_with_its_own_table() -> None:
    ex = _Dialect("twice(x) + 1")
    assert ex.evaluate({"x": np.array([1, 2])}, 2, np.random.default_rng(0)).tolist() == [4, 6]
    with pytest.raises(ExpressionError, match="unknown function 'sqrt'.*allowed: twice"):
        _Dialect("sqrt(x)")
    with pytest.raises(ExpressionError, match="unknown function 'normal'"):
        _Dialect("normal(0, 1)")
    assert "twice" not in FUNCTIONS and Expression("sqrt(x)").names == {"x"}  # the default table is untouched
