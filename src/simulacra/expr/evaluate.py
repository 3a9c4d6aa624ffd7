"""The evaluator of checked expression trees: numpy on whole columns, with the language's arithmetic rules."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from simulacra.expr.functions import CONSTANTS, DRAWS, FUNCTIONS, INT_LIMIT, ROW, _Refused

_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or,
}
_SYMBOL: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
           ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|"}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}

_NO = object()


def _literal(node: ast.AST) -> Any:
    """The value of a constant (or a negated number) in an ``in [...]`` list, else ``_NO``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        v = node.operand.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v
    return _NO


def _unparse(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError):  # pragma: no cover - depth is bounded before
        text = type(node).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(x: Any) -> bool:
    return isinstance(x, (bool, int, np.integer, np.bool_)) or (
        isinstance(x, np.ndarray) and x.dtype.kind in "iub")


def _is_text(x: Any) -> bool:
    if isinstance(x, (str, bytes)):
        return True
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "US":
            return True
        if x.dtype.kind == "O":
            return any(isinstance(v, str) for v in x.flat[:64])
    return False


def _arith(op: type, a: Any, b: Any) -> Any:
    """``a <op> b`` with the language's rules: no text repetition, no integer overflow, no x // 0."""
    sym = _SYMBOL[op]
    if _is_text(a) or _is_text(b):
        if op is not ast.Add:
            raise _Refused(f"text cannot be used with '{sym}' (only + joins texts)")
        return np.asarray(a, dtype=object) + np.asarray(b, dtype=object)
    if op in (ast.FloorDiv, ast.Mod) and np.any(np.asarray(b) == 0):
        raise _Refused(f"'{sym}' by zero")
    if op in (ast.Add, ast.Sub, ast.Mult, ast.Pow) and _is_int(a) and _is_int(b):
        fa, fb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        exact = _ARITH[op](fa, fb)
        if op is ast.Pow and np.any(fb < 0):
            return exact  # a negative integer power is a fraction
        if np.any(~np.isfinite(exact) | (np.abs(exact) >= INT_LIMIT)):
            raise _Refused(f"integer overflow in '{sym}': the result leaves the 64-bit range (±9.2e18); "
                           "use float(...) for floating point")
        return _ARITH[op](np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
    return _ARITH[op](a, b)


class Evaluator:
    """Evaluates a checked tree over ``n`` rows of ``columns`` (numpy arrays), drawing from ``rng``.

    This is the extension point of the language: a dialect subclasses it with its own tables of
    ``functions``, ``draws`` and ``constants`` and, where its values follow other rules, overrides
    :meth:`constant`, :meth:`name`, :meth:`arith` or :meth:`call` (the derived-column formulas of
    :mod:`simulacra.rules.formula` do so for float arithmetic), and names it as its
    ``Expression.evaluator``, whose checks read the same tables.
    """

    #: deterministic functions: name -> (callable, min args, max args)
    functions: ClassVar[Mapping[str, tuple[Callable[..., Any], int, int]]] = FUNCTIONS
    #: random draws: name -> (numpy Generator method, parameter names in order, aliases)
    draws: ClassVar[Mapping[str, tuple[str, tuple[str, ...], dict[str, str]]]] = DRAWS
    #: names that stand for values rather than columns
    constants: ClassVar[Mapping[str, Any]] = CONSTANTS

    def __init__(self, columns: Mapping[str, Any], n: int, rng: np.random.Generator | None, first_row: int = 0) -> None:
        self.columns, self.n, self.rng, self.first_row = columns, n, rng, first_row

    def constant(self, value: Any) -> Any:
        """The value of a literal of the text."""
        return _constant(value)

    def arith(self, op: type, a: Any, b: Any) -> Any:
        """``a <op> b`` for an :mod:`ast` operator class ``op``."""
        return _arith(op, a, b)

    def eval(self, node: ast.AST) -> Any:  # noqa: C901 - a flat dispatch
        if isinstance(node, ast.Constant):
            return self.constant(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.BinOp):
            return self.arith(type(node.op), self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.UnaryOp):
            v = self.eval(node.operand)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return np.logical_not(v)
            if _is_text(v):
                raise _Refused("a sign cannot be put on text")
            if isinstance(node.op, ast.USub):
                return self.arith(ast.Sub, np.int64(0), v) if _is_int(v) else operator.neg(v)
            return v
        if isinstance(node, ast.BoolOp):
            f = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = self.eval(node.values[0])
            for v in node.values[1:]:
                out = f(out, self.eval(v))
            return out
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            return np.where(self.eval(node.test), self.eval(node.body), self.eval(node.orelse))
        if isinstance(node, ast.Call):
            return self.call(node)
        raise _Refused(f"cannot evaluate {_unparse(node)}")  # pragma: no cover - checked at parse

    def name(self, name: str) -> Any:
        if name in self.columns:
            return numpy_values(self.columns[name])
        if name in self.constants:
            return self.constants[name]
        if name == ROW:
            return np.arange(self.first_row, self.first_row + self.n)
        raise _Refused(f"unknown column '{name}'")

    def compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        out: Any = True
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                values = [_literal(e) for e in right_node.elts]  # type: ignore[attr-defined]
                res = np.isin(left, values)
                res = ~res if isinstance(op, ast.NotIn) else res
                right = left
            else:
                right = self.eval(right_node)
                res = _CMPOPS[type(op)](left, right)
            out = np.logical_and(out, res)
            left = right
        return out

    def call(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]
        args = [self.eval(a) for a in node.args]
        if name in self.functions:
            return self.functions[name][0](*args)
        method, params, aliases = self.draws[name]
        kwargs = dict(zip(params, args))
        for kw in node.keywords:
            kwargs[aliases.get(str(kw.arg), str(kw.arg))] = self.eval(kw.value)
        if name == "exponential" and "scale" not in kwargs:
            kwargs["scale"] = 1.0
        assert self.rng is not None, "an expression that draws needs a random generator"
        if name == "bernoulli":
            return self.rng.random(self.n) < kwargs.get("p", 0.5)
        try:
            return getattr(self.rng, method)(size=self.n, **kwargs)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _Refused(f"{name}({', '.join(f'{k}=..' for k in kwargs)}) failed: {exc}") from None


def _constant(value: Any) -> Any:
    if value is None:
        return np.nan
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    if abs(value) >= INT_LIMIT:
        raise _Refused(f"the integer {str(value)[:30]} leaves the 64-bit range; write it as a float (e.g. 1e20)")
    return np.int64(value)


def numpy_values(values: Any) -> Any:
    """A column as a numpy array: Arrow strings become object arrays, pandas nullable numbers become
    floats with NaN where missing (integers when nothing is missing); numpy passes through."""
    if isinstance(values, np.ndarray):
        return values
    mask = getattr(values, "_mask", None)
    if isinstance(mask, np.ndarray) and hasattr(values, "_data"):  # pandas masked arrays (Int64, boolean)
        data = np.asarray(values._data)
        if not mask.any():
            return data
        if data.dtype.kind in "iuf":
            return np.where(mask, np.nan, data.astype(float))
        out = data.astype(object)
        out[mask] = None
        return out
    to_numpy = getattr(values, "to_numpy", None)
    if to_numpy is not None:
        try:
            return to_numpy(zero_copy_only=False)
        except TypeError:
            return to_numpy()
    return np.asarray(values)


