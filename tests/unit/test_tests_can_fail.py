"""Every test must be able to fail: a scan of the test suite's syntax for assertions that cannot.

It flags, in every file under tests/:

- an ``assert`` on a constant (``assert True``, ``assert "message"``);
- an ``assert`` whose test is a conditional expression (``assert a if cond else True``: when ``cond`` is
  false nothing is checked) or contains ``or <truthy constant>`` / a conditional with a truthy constant arm;
- an ``assert`` inside an ``if`` without ``else`` in a test function's own flow (the branch may never run;
  assert the condition, or split the test); inside a loop such an ``if`` is a per-item implication, allowed;
- ``pytest.skip`` / ``pytest.xfail`` inside an ``except`` clause (a failure turned into a skip);
- ``pytest.importorskip`` of a simulacra module (an import error in our own code becomes a skip; skip on the
  third-party package the extra installs instead).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _truthy_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value)


def _call_name(node: ast.Call) -> str:
    return ast.unparse(node.func)


def _assert_problems(node: ast.Assert) -> list[str]:
    test = node.test
    out = []
    if isinstance(test, ast.Constant):
        out.append("asserts a constant")
    if isinstance(test, ast.IfExp):
        out.append("asserts a conditional expression (one branch may check nothing)")
    for sub in ast.walk(test):
        if isinstance(sub, ast.BoolOp) and isinstance(sub.op, ast.Or) and any(map(_truthy_constant, sub.values)):
            out.append("'or' with a true constant")
        if isinstance(sub, ast.IfExp) and (_truthy_constant(sub.body) or _truthy_constant(sub.orelse)):
            out.append("a conditional expression with a true constant arm")
    return out


def _is_test_function(node: ast.AST) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")


def _asserts_in_bare_ifs(func: ast.AST) -> list[ast.Assert]:
    """Asserts that run only when an ``if`` (with no ``else``) of the test's own flow happens to be true.

    Inside a loop, ``if cond: assert x`` is a per-item implication and is left alone; at the test's top
    level (also inside ``with`` and ``try``) it can skip the test's whole check.
    """
    found = []
    todo = list(getattr(func, "body", []))
    while todo:
        stmt = todo.pop()
        if isinstance(stmt, ast.If):
            if not stmt.orelse:
                found += [a for sub in stmt.body for a in ast.walk(sub) if isinstance(a, ast.Assert)]
            todo += stmt.orelse
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            todo += stmt.body
        elif isinstance(stmt, ast.Try):
            todo += stmt.body + stmt.orelse + stmt.finalbody
    return found


def scan(source: str) -> list[tuple[int, str]]:
    """(line, problem) for each assertion or skip in ``source`` that cannot fail.

    Examples
    --------
    >>> scan("assert ready or True")
    [(1, "'or' with a true constant")]
    """
    tree = ast.parse(source)
    problems: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            problems += [(node.lineno, p) for p in _assert_problems(node)]
        elif _is_test_function(node):
            problems += [(a.lineno, "assert inside an 'if' without 'else' (it may never run)")
                         for a in _asserts_in_bare_ifs(node)]
        elif isinstance(node, ast.ExceptHandler):
            problems += [(c.lineno, f"{_call_name(c)} inside 'except' turns a failure into a skip")
                         for c in ast.walk(node) if isinstance(c, ast.Call)
                         and _call_name(c) in ("pytest.skip", "pytest.xfail", "skip", "xfail")]
        elif isinstance(node, ast.Call) and _call_name(node) in ("pytest.importorskip", "importorskip"):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and str(arg.value).split(".")[0] == "simulacra":
                problems.append((node.lineno, f"importorskip({arg.value!r}) hides an import error in simulacra itself"))
    return sorted(set(problems))


BAD = {
    "assert True": "asserts a constant",
    "assert x == 1 if y else True": "conditional expression",
    "assert x or True": "'or' with a true constant",
    "assert (a and b) or 1": "'or' with a true constant",
    "def test_a():\n    if x:\n        assert y": "may never run",
    "def test_a():\n    with f():\n        if x:\n            assert y": "may never run",
    "try:\n    f()\nexcept Exception:\n    pytest.skip('x')": "turns a failure into a skip",
    "m = pytest.importorskip('simulacra.spec')": "hides an import error",
}
GOOD = [
    "assert x == 1",
    "assert (x if y else z) > 0",
    "def test_a():\n    if x:\n        assert y\n    else:\n        assert z",
    "def helper():\n    if x:\n        assert y",
    "def test_a():\n    for w in ws:\n        if w.bad:\n            assert strict",
    "try:\n    import ray\nexcept ImportError:\n    ray = None",
    "m = pytest.importorskip('sdmetrics')",
]


@pytest.mark.parametrize("source, problem", list(BAD.items()))
def test_the_scan_catches(source: str, problem: str) -> None:
    found = scan(source)
    assert any(problem in p for _, p in found), found


@pytest.mark.parametrize("source", GOOD)
def test_the_scan_leaves_honest_code_alone(source: str) -> None:
    assert scan(source) == []


def test_no_test_in_the_suite_is_unable_to_fail() -> None:
    files = sorted(TESTS.rglob("*.py"))
    assert len(files) > 20  # the scan really looked at the suite
    problems = [f"{path.relative_to(TESTS.parent)}:{line}: {what}"
                for path in files for line, what in scan(path.read_text(encoding="utf-8"))]
    assert problems == [], "tests that cannot fail:\n" + "\n".join(problems)
