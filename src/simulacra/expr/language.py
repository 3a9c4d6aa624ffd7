"""Expressions: parsed with :mod:`ast`, checked against the whitelist and bounds, never ``eval``-ed."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from simulacra.errors import ExpressionError, InputError
from simulacra.expr.evaluate import _ARITH, _CMPOPS, _NO, Evaluator, _literal, _unparse
from simulacra.expr.functions import MAX_CHARS, MAX_DEPTH, _Refused, suggest

_QUOTED = re.compile(r"`([^`]*)`")


def unquote_names(text: str, quoted: dict[str, str]) -> str:
    """``text`` with each backticked column name (```hours-per-week```) replaced by a plain name;
    ``quoted`` maps the plain names back to the column names.

    >>> quoted = {}
    >>> unquote_names("`a-b` + 1", quoted), quoted
    ('_quoted_column_0_ + 1', {'_quoted_column_0_': 'a-b'})
    """

    def name_of(m: re.Match[str]) -> str:
        key = f"_quoted_column_{len(quoted)}_"
        quoted[key] = m.group(1)
        return key

    return _QUOTED.sub(name_of, text)


class Expression:
    """A validated expression; ``names`` are the columns it reads, ``random`` whether it draws.

    >>> ex = Expression("2.5 * height + 50 + normal(0, 5)")
    >>> sorted(ex.names), ex.random
    (['height'], True)
    >>> Expression("where(x > 1, x, 0)").evaluate({"x": np.array([0.5, 2.0])}, 2, np.random.default_rng(0))
    array([0., 2.])
    """

    #: the error raised for a bad expression (spec formulas raise ``SpecError``)
    error: ClassVar[type[InputError]] = ExpressionError
    #: what the messages call it
    what: ClassVar[str] = "formula"
    #: added to syntax errors
    syntax_hint: ClassVar[str] = ""
    #: evaluates checked trees; its tables of functions, draws and constants are the ones checked
    evaluator: ClassVar[type[Evaluator]] = Evaluator

    def __init__(self, text: str) -> None:
        self.text = str(text)
        shown = self._shown()
        if len(self.text) > MAX_CHARS:
            raise self.error(f"{self.what} '{shown}' is {len(self.text):,} characters long; the limit is "
                             f"{MAX_CHARS:,}: split it into helper columns")
        try:
            tree = ast.parse(self._parse_text().strip(), mode="eval")
        except SyntaxError as exc:
            raise self._syntax_error(str(exc.msg), exc.offset) from None
        except (RecursionError, MemoryError, ValueError) as exc:
            why = "it is nested too deeply" if not isinstance(exc, ValueError) else str(exc)
            raise self.error(f"invalid {self.what} '{shown}': {why}") from None
        self._check_depth(tree.body)
        self.names: set[str] = set()
        self.random = False
        if self._check(tree.body):
            self._fold(tree.body)
        self._tree = tree.body

    def _parse_text(self) -> str:
        return self.text

    def _syntax_error(self, why: str, offset: int | None) -> InputError:
        return self.error(f"invalid {self.what} '{self._shown()}': {why} at character {offset}{self.syntax_hint}")

    def _allowed(self) -> list[str]:
        return sorted([*self.evaluator.functions, *self.evaluator.draws])

    def _shown(self) -> str:
        return self.text if len(self.text) <= 80 else self.text[:60] + f"... ({len(self.text):,} characters)"

    # -- validation ----------------------------------------------------------------------------
    def _check_depth(self, root: ast.AST) -> None:
        stack = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise self.error(f"{self.what} '{self._shown()}' is nested more than {MAX_DEPTH} levels deep; "
                                 "split it into helper columns")
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))

    def _fail(self, what: str) -> InputError:
        return self.error(
            f"{self.what} '{self._shown()}': {what} is not allowed; use column names, numbers, strings, "
            f"arithmetic, comparisons, and/or/not, 'a if c else b', 'x in [..]' and the functions "
            f"{', '.join(self._allowed())}"
        )

    def _check(self, node: ast.AST) -> bool:  # noqa: C901 - a flat dispatch
        """Validate ``node``; True when it is made of constants only (then it can be computed now)."""
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool)) and node.value is not None:
                raise self._fail(f"the constant {node.value!r}")
            return True
        if isinstance(node, ast.Name):
            if node.id in self.evaluator.constants:
                return True
            self.names.add(node.id)
            return False
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _ARITH:
                raise self._fail(f"the operator {type(node.op).__name__}")
            return self._check_all([node.left, node.right])
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not, ast.Invert)):
                raise self._fail(f"the operator {type(node.op).__name__}")
            return self._check(node.operand)
        if isinstance(node, ast.BoolOp):
            return self._check_all(node.values)
        if isinstance(node, ast.Compare):
            return self._check_compare(node)
        if isinstance(node, ast.IfExp):
            return self._check_all([node.test, node.body, node.orelse])
        if isinstance(node, ast.Call):
            return self._check_call(node)
        raise self._fail(f"'{_unparse(node)}' ({type(node).__name__})")

    def _check_all(self, nodes: list[ast.expr]) -> bool:
        const = [self._check(n) for n in nodes]
        if all(const):
            return True
        for n, c in zip(nodes, const):
            if c:
                self._fold(n)
        return False

    def _fold(self, node: ast.AST) -> None:
        """Compute a part made of constants now, so that its errors show when the text is checked."""
        self._run(self.evaluator({}, 1, np.random.default_rng(0), 0), node)

    def _check_compare(self, node: ast.Compare) -> bool:
        parts: list[ast.expr] = [node.left]
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.List, ast.Tuple, ast.Set)) or any(_literal(e) is _NO for e in right.elts):
                    raise self._fail("'in' with anything but a list of constants")
            elif type(op) not in _CMPOPS:
                raise self._fail(f"the comparison {type(op).__name__}")
            else:
                parts.append(right)
        return self._check_all(parts)

    def _check_call(self, node: ast.Call) -> bool:
        if not isinstance(node.func, ast.Name):
            raise self._fail(f"calling '{_unparse(node.func)}'")
        name = node.func.id
        if name in self.evaluator.draws:
            self._check_draw(name, node)
        elif name in self.evaluator.functions:
            _, lo, hi = self.evaluator.functions[name]
            if node.keywords or not lo <= len(node.args) <= hi:
                raise self.error(
                    f"{self.what} '{self._shown()}': {name}() takes {lo}" + (f" to {hi}" if hi != lo else "")
                    + " positional arguments"
                )
        else:
            allowed = self._allowed()
            raise self.error(f"{self.what} '{self._shown()}': unknown function '{name}'{suggest(name, allowed)}; "
                             f"allowed: {', '.join(allowed)}")
        const = self._check_all([*node.args, *(k.value for k in node.keywords)])
        return const and name not in self.evaluator.draws

    def _check_draw(self, name: str, node: ast.Call) -> None:
        self.random = True
        _, params, aliases = self.evaluator.draws[name]
        for kw in node.keywords:
            if kw.arg not in params and kw.arg not in aliases:
                raise self.error(
                    f"{self.what} '{self._shown()}': {name}() has no parameter '{kw.arg}'"
                    f"{suggest(str(kw.arg), [*params, *aliases])}; parameters: {', '.join(params)}"
                )
        if len(node.args) + len(node.keywords) > len(params):
            raise self.error(f"{self.what} '{self._shown()}': {name}() takes at most {len(params)} arguments")

    # -- evaluation ----------------------------------------------------------------------------
    def _run(self, env: Evaluator, node: ast.AST) -> Any:
        try:
            with np.errstate(all="ignore"):
                return env.eval(node)
        except _Refused as exc:
            raise self.error(f"{self.what} '{self._shown()}': {exc}") from None
        except InputError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, IndexError, KeyError, MemoryError) as exc:
            why = "out of memory" if isinstance(exc, MemoryError) else f"{type(exc).__name__}: {exc}"
            raise self.error(f"{self.what} '{self._shown()}' cannot be computed: {why}") from None

    def evaluate(self, columns: Mapping[str, Any], n: int, rng: np.random.Generator, first_row: int = 0) -> Any:
        """The expression over ``n`` rows: columns are numpy arrays, draws come from ``rng``."""
        out = self._run(self.evaluator(columns, n, rng, first_row), self._tree)
        if np.ndim(out) == 0:
            out = np.full(n, out)
        return np.asarray(out)


