"""Safe expressions: a whitelist of syntax and functions, evaluated on whole columns."""

import numpy as np
import pytest

from simulacra.errors import SpecError
from simulacra.spec.expr import Expression

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "text",
    ["__import__('os').system('echo hi')", "x.__class__", "(lambda: 1)()", "[i for i in x]", "open('f')",
     "x[0]", "exec('1')", "{'a': 1}"],
)
def test_dangerous_syntax_is_refused(text):
    with pytest.raises(SpecError):
        Expression(text)


def test_unknown_function_suggests_the_close_one():
    with pytest.raises(SpecError, match="did you mean 'normal'"):
        Expression("nromal(0, 1)")


def test_unknown_draw_parameter_is_named():
    with pytest.raises(SpecError, match="no parameter 'scal'.*did you mean 'scale'"):
        Expression("exponential(scal=2)")


def test_arithmetic_comparisons_and_functions_are_vectorized():
    cols = {"x": np.array([1.0, 4.0, 9.0]), "job": np.array(["a", "b", "c"], dtype=object)}
    ex = Expression("where(job in ['a', 'c'], sqrt(x), -x) + (1 if True else 0)")
    assert ex.names == {"x", "job"}
    np.testing.assert_allclose(ex.evaluate(cols, 3, RNG), [2.0, -3.0, 4.0])
    assert list(Expression("1 < x <= 4").evaluate(cols, 3, RNG)) == [False, True, False]
    assert list(Expression("max(x, 5, 2)").evaluate(cols, 3, RNG)) == [5, 5, 9]


def test_draws_broadcast_over_column_parameters():
    lam = np.repeat([1.0, 100.0], 5000)
    out = Expression("exponential(scale=lam)").evaluate({"lam": lam}, len(lam), np.random.default_rng(1))
    assert abs(out[:5000].mean() - 1) < 0.1 and abs(out[5000:].mean() - 100) < 10
    assert Expression("normal(0, 1)").random and not Expression("x + 1").random


def test_row_number_and_dates():
    d = np.array(["2024-01-31", "2024-02-01"], dtype="datetime64[ns]")
    out = Expression("d + days(1)").evaluate({"d": d}, 2, RNG)
    assert out[0] == np.datetime64("2024-02-01")
    assert list(Expression("month(d)").evaluate({"d": d}, 2, RNG)) == [1, 2]
    assert list(Expression("row * 2").evaluate({}, 3, RNG, first_row=10)) == [20, 22, 24]
