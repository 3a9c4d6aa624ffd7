"""Safe, vectorized formulas over columns and random draws: parsed with :mod:`ast`, never ``eval``-ed.

Only a whitelist of syntax is accepted (numbers, strings, column names, arithmetic, comparisons,
``and``/``or``/``not``, ``a if cond else b``, ``x in [..]``) and a whitelist of functions (math, and
random draws such as ``normal(0, 5)`` or ``exponential(scale=2)``). Every operation works on whole
columns with numpy.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from simulacra.errors import SpecError

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}


def _minimum(*args: Any) -> Any:
    out = args[0]
    for a in args[1:]:
        out = np.minimum(out, a)
    return out


def _maximum(*args: Any) -> Any:
    out = args[0]
    for a in args[1:]:
        out = np.maximum(out, a)
    return out


def _isnull(x: Any) -> Any:
    import pandas as pd

    return np.asarray(pd.isna(x))


def _delta(unit_ns: float) -> Callable[[Any], Any]:
    def make(x: Any) -> Any:
        return np.round(np.asarray(x, dtype=float) * unit_ns).astype("timedelta64[ns]")

    return make


def _part(unit: str) -> Callable[[Any], Any]:
    def get(x: Any) -> Any:
        import pandas as pd

        d = pd.DatetimeIndex(np.asarray(x, dtype="datetime64[ns]"))
        return np.asarray(getattr(d, unit), dtype=np.int64)

    return get


#: Deterministic functions: name -> (callable, min args, max args)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "where": (np.where, 3, 3), "clip": (np.clip, 3, 3), "log": (np.log, 1, 1), "log1p": (np.log1p, 1, 1),
    "log10": (np.log10, 1, 1), "exp": (np.exp, 1, 1), "sqrt": (np.sqrt, 1, 1), "abs": (np.abs, 1, 1),
    "min": (_minimum, 2, 16), "max": (_maximum, 2, 16), "round": (np.round, 1, 2), "floor": (np.floor, 1, 1),
    "ceil": (np.ceil, 1, 1), "sin": (np.sin, 1, 1), "cos": (np.cos, 1, 1), "tanh": (np.tanh, 1, 1),
    "sign": (np.sign, 1, 1), "isnull": (_isnull, 1, 1),
    "int": (lambda x: np.asarray(np.floor(x)).astype(np.int64), 1, 1),
    "float": (lambda x: np.asarray(x, dtype=np.float64), 1, 1),
    "days": (_delta(86_400e9), 1, 1), "hours": (_delta(3_600e9), 1, 1), "minutes": (_delta(60e9), 1, 1),
    "seconds": (_delta(1e9), 1, 1), "year": (_part("year"), 1, 1), "month": (_part("month"), 1, 1),
    "day": (_part("day"), 1, 1), "weekday": (_part("weekday"), 1, 1), "hour": (_part("hour"), 1, 1),
}

#: Random draws: name -> (numpy Generator method, parameter names in order, aliases)
DRAWS: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "normal": ("normal", ("loc", "scale"), {"mean": "loc", "std": "scale", "sd": "scale"}),
    "uniform": ("uniform", ("low", "high"), {"min": "low", "max": "high"}),
    "exponential": ("exponential", ("scale",), {"mean": "scale"}),
    "lognormal": ("lognormal", ("mean", "sigma"), {}),
    "gamma": ("gamma", ("shape", "scale"), {}),
    "beta": ("beta", ("a", "b"), {}),
    "poisson": ("poisson", ("lam",), {"mean": "lam"}),
    "binomial": ("binomial", ("n", "p"), {}),
    "geometric": ("geometric", ("p",), {}),
    "triangular": ("triangular", ("left", "mode", "right"), {}),
    "randint": ("integers", ("low", "high"), {"min": "low", "max": "high"}),
    "bernoulli": ("bernoulli", ("p",), {}),
    "weibull": ("weibull", ("a",), {"shape": "a"}),
    "laplace": ("laplace", ("loc", "scale"), {"mean": "loc"}),
}
CONSTANTS: dict[str, Any] = {"pi": np.pi, "e": np.e, "True": True, "False": False, "nan": np.nan, "inf": np.inf}
ROW = "row"


class Expression:
    """A validated formula; ``names`` are the columns it reads, ``random`` whether it draws.

    >>> ex = Expression("2.5 * height + 50 + normal(0, 5)")
    >>> sorted(ex.names), ex.random
    (['height'], True)
    >>> Expression("where(x > 1, x, 0)").evaluate({"x": np.array([0.5, 2.0])}, 2, np.random.default_rng(0))
    array([0., 2.])
    """

    def __init__(self, text: str) -> None:
        self.text = str(text)
        try:
            tree = ast.parse(self.text.strip(), mode="eval")
        except SyntaxError as exc:
            raise SpecError(f"invalid formula '{self.text}': {exc.msg} at character {exc.offset}") from None
        self.names: set[str] = set()
        self.random = False
        self._check(tree.body)
        self._tree = tree.body

    # -- validation ----------------------------------------------------------------------------
    def _fail(self, node: ast.AST, what: str) -> SpecError:
        return SpecError(
            f"formula '{self.text}': {what} is not allowed; use column names, numbers, strings, arithmetic, "
            f"comparisons, and/or/not, 'a if c else b', and the functions {', '.join(sorted([*FUNCTIONS, *DRAWS]))}"
        )

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool)) and node.value is not None:
                raise self._fail(node, f"the constant {node.value!r}")
        elif isinstance(node, ast.Name):
            if node.id not in CONSTANTS:
                self.names.add(node.id)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                raise self._fail(node, f"the operator {type(node.op).__name__}")
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
                raise self._fail(node, f"the operator {type(node.op).__name__}")
            self._check(node.operand)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                self._check(v)
        elif isinstance(node, ast.Compare):
            self._check_compare(node)
        elif isinstance(node, ast.IfExp):
            self._check(node.test)
            self._check(node.body)
            self._check(node.orelse)
        elif isinstance(node, ast.Call):
            self._check_call(node)
        else:
            raise self._fail(node, f"'{ast.unparse(node)}' ({type(node).__name__})")

    def _check_compare(self, node: ast.Compare) -> None:
        self._check(node.left)
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(right, (ast.List, ast.Tuple, ast.Set)) or not all(
                    isinstance(e, ast.Constant) for e in right.elts
                ):
                    raise self._fail(node, "'in' with anything but a list of constants")
            elif type(op) not in _CMPOPS:
                raise self._fail(node, f"the comparison {type(op).__name__}")
            else:
                self._check(right)

    def _check_call(self, node: ast.Call) -> None:
        from simulacra.spec.source import suggest

        if not isinstance(node.func, ast.Name):
            raise self._fail(node, f"calling '{ast.unparse(node.func)}'")
        name = node.func.id
        if name in DRAWS:
            self.random = True
            _, params, aliases = DRAWS[name]
            for kw in node.keywords:
                if kw.arg not in params and kw.arg not in aliases:
                    raise SpecError(
                        f"formula '{self.text}': {name}() has no parameter '{kw.arg}'"
                        f"{suggest(str(kw.arg), [*params, *aliases])}; parameters: {', '.join(params)}"
                    )
            if len(node.args) + len(node.keywords) > len(params):
                raise SpecError(f"formula '{self.text}': {name}() takes at most {len(params)} arguments")
        elif name in FUNCTIONS:
            _, lo, hi = FUNCTIONS[name]
            if node.keywords or not lo <= len(node.args) <= hi:
                raise SpecError(
                    f"formula '{self.text}': {name}() takes {lo}" + (f" to {hi}" if hi != lo else "")
                    + " positional arguments"
                )
        else:
            raise SpecError(
                f"formula '{self.text}': unknown function '{name}'{suggest(name, [*FUNCTIONS, *DRAWS])}; "
                f"allowed: {', '.join(sorted([*FUNCTIONS, *DRAWS]))}"
            )
        for a in [*node.args, *(k.value for k in node.keywords)]:
            self._check(a)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, columns: Mapping[str, Any], n: int, rng: np.random.Generator, first_row: int = 0) -> Any:
        """The formula over ``n`` rows: columns are numpy arrays, draws come from ``rng``."""
        env = _Env(columns, n, rng, first_row)
        with np.errstate(all="ignore"):
            out = env.eval(self._tree)
        if np.ndim(out) == 0:
            out = np.full(n, out)
        return np.asarray(out)


class _Env:
    def __init__(self, columns: Mapping[str, Any], n: int, rng: np.random.Generator, first_row: int) -> None:
        self.columns, self.n, self.rng, self.first_row = columns, n, rng, first_row

    def eval(self, node: ast.AST) -> Any:  # noqa: C901 - a flat dispatch
        if isinstance(node, ast.Constant):
            return np.nan if node.value is None else node.value
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.UnaryOp):
            v = self.eval(node.operand)
            return np.logical_not(v) if isinstance(node.op, ast.Not) else (-v if isinstance(node.op, ast.USub) else v)
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
        raise SpecError(f"cannot evaluate {ast.unparse(node)}")  # pragma: no cover - checked at parse

    def name(self, name: str) -> Any:
        if name in self.columns:
            return _numpy(self.columns[name])
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name == ROW:
            return np.arange(self.first_row, self.first_row + self.n)
        raise SpecError(f"unknown column '{name}' in formula")

    def compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        out: Any = True
        for op, right_node in zip(node.ops, node.comparators):
            if isinstance(op, (ast.In, ast.NotIn)):
                values = [e.value for e in right_node.elts]  # type: ignore[attr-defined]
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
        if name in FUNCTIONS:
            return FUNCTIONS[name][0](*args)
        method, params, aliases = DRAWS[name]
        kwargs = dict(zip(params, args))
        for kw in node.keywords:
            kwargs[aliases.get(str(kw.arg), str(kw.arg))] = self.eval(kw.value)
        if name == "exponential" and "scale" not in kwargs:
            kwargs["scale"] = 1.0
        if name == "bernoulli":
            return self.rng.random(self.n) < kwargs.get("p", 0.5)
        try:
            return getattr(self.rng, method)(size=self.n, **kwargs)
        except (ValueError, TypeError) as exc:
            raise SpecError(f"{name}({', '.join(f'{k}=..' for k in kwargs)}) failed: {exc}") from None


def _numpy(values: Any) -> Any:
    """Arrow string columns become numpy object arrays for comparisons; numpy passes through."""
    if isinstance(values, np.ndarray):
        return values
    to_numpy = getattr(values, "to_numpy", None)
    if to_numpy is not None:
        try:
            return to_numpy(zero_copy_only=False)
        except TypeError:
            return to_numpy()
    return np.asarray(values)
