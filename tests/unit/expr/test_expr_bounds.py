"""The safe expression language: hostile text is refused quickly with a clear error, never run."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import ExpressionError, SimulacraError, SpecError
from simulacra.expr import MAX_CHARS, Expression, row_filter
from simulacra.spec.expr import Expression as SpecExpression

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10**10**10", "integer overflow"),
        ("'A' * 10**12", "text cannot be used with '\\*'"),
        ("1+" * 200_000 + "1", "characters long; the limit is"),
        ("(" * 20_000 + "1" + ")" * 20_000, "characters long; the limit is"),
        ("(" * 2_000 + "1" + ")" * 2_000, "nested"),
        ("-" * 5_000 + "1", "nested too deeply"),
        ("+".join(["x"] * 150), "nested more than 100 levels"),
        ("1 // 0", "'//' by zero"),
        ("7 % 0", "'%' by zero"),
        ("123456789012345678901234567890 + 1", "64-bit range"),
        ("days(1e12)", "292 years"),
    ],
)
def test_hostile_formulas_are_refused_when_checked(text, message):
    start = time.perf_counter()
    with pytest.raises(SpecError, match=message):
        SpecExpression(text)
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    ("text", "message"),
    [("row ** 100", "integer overflow"), ("x // (x - 1)", "'//' by zero"), ("x * 4611686018427387904", "integer overflow"),
     ("x ** 70", "integer overflow"), ("'a' * x", "text cannot")],
)
def test_integer_overflow_and_division_by_zero_at_run_time_are_refused(text, message):
    ex = SpecExpression(text)
    with pytest.raises(SpecError, match=message):
        ex.evaluate({"x": np.array([1, 2, 3])}, 3, RNG, first_row=5)


def test_results_that_fit_are_exact_integers():
    out = SpecExpression("row ** 3 + x * 2").evaluate({"x": np.array([1, 2, 3])}, 3, RNG, first_row=10)
    assert out.dtype == np.int64 and out.tolist() == [1002, 1335, 1734]
    assert SpecExpression("2 ** -1").evaluate({}, 1, RNG).tolist() == [0.5]
    big = SpecExpression("float(row) ** 100").evaluate({}, 1, RNG, first_row=10)
    assert big[0] == pytest.approx(1e100)


def test_int_of_missing_stays_missing_and_int_of_infinity_is_refused():
    out = SpecExpression("int(x)").evaluate({"x": np.array([1.7, np.nan, -0.5])}, 3, RNG)
    assert out[0] == 1 and np.isnan(out[1]) and out[2] == -1
    assert np.isnan(SpecExpression("int(nan)").evaluate({}, 2, RNG)).all()
    assert SpecExpression("int(x)").evaluate({"x": np.array([2.5])}, 1, RNG).dtype == np.int64
    with pytest.raises(SpecError, match="int\\(\\) of a value beyond"):
        SpecExpression("int(inf)")


def test_low_module_raises_its_own_error_class():
    with pytest.raises(ExpressionError):
        Expression("__import__('os')")
    assert issubclass(ExpressionError, SimulacraError) and not issubclass(ExpressionError, SpecError)
    assert len("x" * MAX_CHARS) == MAX_CHARS
    Expression("+".join(["x"] * 90))  # long but reasonable formulas pass


# -- row filters ---------------------------------------------------------------------------------
@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame({
        "age": pd.array([20, 40, None, 25], dtype="Int64"),
        "sex": pd.array(["F", "M", None, "F"], dtype="string"),
        "hours-per-week": [40.0, 50.0, 60.0, np.nan],
        "city": pd.Categorical(["Oslo", "Rome", "Oslo", "Lima"]),
    })


def test_filters_select_rows_and_missing_is_false(people):
    assert row_filter(people, "age < 30").tolist() == [True, False, False, True]
    assert row_filter(people, "age < 30 and sex == 'F'").tolist() == [True, False, False, True]
    assert row_filter(people, "`hours-per-week` >= 50 or city in ['Lima']").tolist() == [False, True, True, True]
    assert row_filter(people, "~(city == 'Oslo')").tolist() == [False, True, False, True]
    assert row_filter(people, "isnull(age) | (sex != 'F')").tolist() == [False, True, True, False]


@pytest.mark.parametrize(
    "where",
    ["x < 0 and @pd.io.common.os.system('touch PWNED') == 0", "__import__('os').system('touch PWNED')",
     "age.__class__", "open('PWNED', 'w')", "[c for c in age]", "(lambda: 1)()"],
)
def test_filters_never_run_code(people, where, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionError):
        row_filter(people, where)
    assert not (tmp_path / "PWNED").exists()


def test_filter_errors_name_the_column_and_the_choices(people):
    with pytest.raises(ExpressionError, match="names column 'agee' \\(did you mean 'age'\\?\\).*columns: age, sex"):
        row_filter(people, "agee < 30")
    with pytest.raises(ExpressionError, match="not true/false"):
        row_filter(people, "age + 1")
    with pytest.raises(ExpressionError, match="random draws"):
        row_filter(people, "normal(0, 1) > 0")
    with pytest.raises(ExpressionError, match="cannot be computed"):
        row_filter(people, "sex < 3")


def test_no_source_file_evaluates_text():
    """No eval/exec/compile of strings and no DataFrame.eval/query/pd.eval anywhere in the library. The
    evaluator's own ``self.eval``/``env.eval`` walk an already checked tree; ``text/dedup.py`` queries
    datasketch's MinHash LSH indexes (``.query(minhash)``), not a table; torch's ``module.eval()`` takes no text."""
    import ast
    from pathlib import Path

    src = Path(__file__).resolve().parents[3] / "src" / "simulacra"
    allowed_receivers = {"self", "env", "lsh"}
    bad = []
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Name) and f.id in ("eval", "exec", "compile"):
                bad.append(f"{path.relative_to(src)}:{node.lineno}: {f.id}()")
            elif isinstance(f, ast.Attribute) and f.attr in ("eval", "query"):
                receiver = f.value.id if isinstance(f.value, ast.Name) else ast.unparse(f.value)
                lsh = f.attr == "query" and path.relative_to(src).as_posix() == "text/dedup.py"
                # torch's Module.eval() (evaluation mode) takes no argument, so it cannot evaluate text
                mode_switch = f.attr == "eval" and not node.args and not node.keywords
                if receiver not in allowed_receivers and not lsh and not mode_switch:
                    bad.append(f"{path.relative_to(src)}:{node.lineno}: {receiver}.{f.attr}()")
    assert not bad, "\n".join(bad)


def test_keyword_column_names_go_in_backticks():
    frame = pd.DataFrame({"class": ["a", "b"], "x": [1, 2]})
    assert row_filter(frame, "`class` == 'a' and x < 2").tolist() == [True, False]
    with pytest.raises(ExpressionError, match="go in backticks"):
        row_filter(frame, "class == 'a'")
