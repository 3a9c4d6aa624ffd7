"""Safe, vectorized expressions over columns: parsed with :mod:`ast`, never ``eval``-ed.

One language serves spec formulas (``= 2.5 * height + normal(0, 5)``) and row filters
(``augment table --where "age < 25 and sex == 'F'"``). Only a whitelist of syntax is accepted
(numbers, strings, column names, arithmetic, comparisons, ``and``/``or``/``not``, ``a if c else b``,
``x in [..]``) and a whitelist of functions (math, and random draws such as ``normal(0, 5)``).
Nothing can reach a module, an attribute, a file or the interpreter.

Bounds, so that hostile text costs little: at most :data:`MAX_CHARS` characters and
:data:`MAX_DEPTH` levels of nesting; integer arithmetic that leaves 64 bits is refused (so
``10 ** 10 ** 10`` is refused at once instead of running forever); text cannot be repeated with
``*``; ``//`` and ``%`` by zero are refused; ``int()`` of a missing value stays missing. Parts made
only of constants are computed when the expression is checked, so such errors show before any row is
made. This module imports nothing from simulacra but ``errors``.
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from simulacra.errors import ExpressionError, InputError

#: Longest expression accepted (characters).
MAX_CHARS = 10_000
#: Deepest nesting of operations accepted (a sum of 100 terms is 100 levels deep).
MAX_DEPTH = 100
#: Integers are 64-bit: results beyond this are refused rather than wrapped around.
INT_LIMIT = 2.0**63

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


class _Refused(Exception):
    """A value the language refuses to compute; becomes the expression's own error class."""


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


def _int(x: Any) -> Any:
    """Floor to integers; missing stays missing (a float array then), beyond 64 bits is refused."""
    f = np.floor(np.asarray(x, dtype=float))
    missing = np.isnan(f)
    if np.any(np.abs(f[~missing]) >= INT_LIMIT):
        raise _Refused("int() of a value beyond ±9.2e18 (or infinite) has no 64-bit integer")
    return f if missing.any() else f.astype(np.int64)


def _delta(unit_ns: float) -> Callable[[Any], Any]:
    def make(x: Any) -> Any:
        ns = np.round(np.asarray(x, dtype=float) * unit_ns)
        if np.any(np.abs(ns[~np.isnan(ns)]) >= INT_LIMIT):
            raise _Refused("a duration beyond ±292 years cannot be represented")
        return ns.astype("timedelta64[ns]")

    return make


def _part(unit: str) -> Callable[[Any], Any]:
    def get(x: Any) -> Any:
        import pandas as pd

        d = pd.DatetimeIndex(np.asarray(x, dtype="datetime64[ns]"))
        return np.asarray(getattr(d, unit), dtype=np.int64)

    return get


def _round(x: Any, decimals: Any = 0) -> Any:
    d = np.asarray(decimals)
    if d.ndim or d.dtype.kind not in "iu" or not -30 <= int(d) <= 30:
        raise _Refused("round(x, n) needs a whole number n between -30 and 30")
    return np.round(x, int(d))


#: Deterministic functions: name -> (callable, min args, max args)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "where": (np.where, 3, 3), "clip": (np.clip, 3, 3), "log": (np.log, 1, 1), "log1p": (np.log1p, 1, 1),
    "log10": (np.log10, 1, 1), "exp": (np.exp, 1, 1), "sqrt": (np.sqrt, 1, 1), "abs": (np.abs, 1, 1),
    "min": (_minimum, 2, 16), "max": (_maximum, 2, 16), "round": (_round, 1, 2), "floor": (np.floor, 1, 1),
    "ceil": (np.ceil, 1, 1), "sin": (np.sin, 1, 1), "cos": (np.cos, 1, 1), "tanh": (np.tanh, 1, 1),
    "sign": (np.sign, 1, 1), "isnull": (_isnull, 1, 1), "int": (_int, 1, 1),
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


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string.

    >>> suggest("nromal", ["normal", "uniform"])
    " (did you mean 'normal'?)"
    """
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


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

    def __init__(self, text: str) -> None:
        self.text = str(text)
        shown = self._shown()
        if len(self.text) > MAX_CHARS:
            raise self.error(f"{self.what} '{shown}' is {len(self.text):,} characters long; the limit is "
                             f"{MAX_CHARS:,}: split it into helper columns")
        try:
            tree = ast.parse(self._parse_text().strip(), mode="eval")
        except SyntaxError as exc:
            raise self.error(f"invalid {self.what} '{shown}': {exc.msg} at character {exc.offset}") from None
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
            f"{', '.join(sorted([*FUNCTIONS, *DRAWS]))}"
        )

    def _check(self, node: ast.AST) -> bool:  # noqa: C901 - a flat dispatch
        """Validate ``node``; True when it is made of constants only (then it can be computed now)."""
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool)) and node.value is not None:
                raise self._fail(f"the constant {node.value!r}")
            return True
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
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
        self._run(_Env({}, 1, np.random.default_rng(0), 0), node)

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
        if name in DRAWS:
            self._check_draw(name, node)
        elif name in FUNCTIONS:
            _, lo, hi = FUNCTIONS[name]
            if node.keywords or not lo <= len(node.args) <= hi:
                raise self.error(
                    f"{self.what} '{self._shown()}': {name}() takes {lo}" + (f" to {hi}" if hi != lo else "")
                    + " positional arguments"
                )
        else:
            allowed = sorted([*FUNCTIONS, *DRAWS])
            raise self.error(f"{self.what} '{self._shown()}': unknown function '{name}'{suggest(name, allowed)}; "
                             f"allowed: {', '.join(allowed)}")
        const = self._check_all([*node.args, *(k.value for k in node.keywords)])
        return const and name not in DRAWS

    def _check_draw(self, name: str, node: ast.Call) -> None:
        self.random = True
        _, params, aliases = DRAWS[name]
        for kw in node.keywords:
            if kw.arg not in params and kw.arg not in aliases:
                raise self.error(
                    f"{self.what} '{self._shown()}': {name}() has no parameter '{kw.arg}'"
                    f"{suggest(str(kw.arg), [*params, *aliases])}; parameters: {', '.join(params)}"
                )
        if len(node.args) + len(node.keywords) > len(params):
            raise self.error(f"{self.what} '{self._shown()}': {name}() takes at most {len(params)} arguments")

    # -- evaluation ----------------------------------------------------------------------------
    def _run(self, env: _Env, node: ast.AST) -> Any:
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
        out = self._run(_Env(columns, n, rng, first_row), self._tree)
        if np.ndim(out) == 0:
            out = np.full(n, out)
        return np.asarray(out)


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


class _Env:
    def __init__(self, columns: Mapping[str, Any], n: int, rng: np.random.Generator, first_row: int) -> None:
        self.columns, self.n, self.rng, self.first_row = columns, n, rng, first_row

    def eval(self, node: ast.AST) -> Any:  # noqa: C901 - a flat dispatch
        if isinstance(node, ast.Constant):
            return _constant(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.BinOp):
            return _arith(type(node.op), self.eval(node.left), self.eval(node.right))
        if isinstance(node, ast.UnaryOp):
            v = self.eval(node.operand)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return np.logical_not(v)
            if _is_text(v):
                raise _Refused("a sign cannot be put on text")
            if isinstance(node.op, ast.USub):
                return _arith(ast.Sub, np.int64(0), v) if _is_int(v) else operator.neg(v)
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
        if name in CONSTANTS:
            return CONSTANTS[name]
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


# -- row filters --------------------------------------------------------------------------------
_QUOTED = re.compile(r"`([^`]*)`")


class Filter(Expression):
    """A row filter: an expression that is true or false for each row, with no random draws.

    Column names that are not identifiers go in backticks (```hours-per-week` > 40``).

    >>> import pandas as pd
    >>> Filter("age < 30 and `home town` == 'Oslo'").mask(pd.DataFrame({"age": [20, 40], "home town": ["Oslo"] * 2}))
    array([ True, False])
    """

    what: ClassVar[str] = "filter"

    def __init__(self, text: str) -> None:
        self.quoted: dict[str, str] = {}
        super().__init__(text)
        if self.random:
            raise self.error(f"filter '{self._shown()}': random draws are not allowed in a filter")
        self._raw_names = set(self.names)
        self.names = {self.quoted.get(n, n) for n in self.names}

    def _parse_text(self) -> str:
        def name_of(m: re.Match[str]) -> str:
            key = f"_quoted_column_{len(self.quoted)}_"
            self.quoted[key] = m.group(1)
            return key

        return _QUOTED.sub(name_of, self.text)

    def mask(self, frame: Any) -> np.ndarray:
        """True for the rows of ``frame`` (a DataFrame) where the filter holds; missing counts as false."""
        missing = sorted(n for n in self.names if n not in frame.columns and n != ROW)
        if missing:
            cols = [str(c) for c in frame.columns]
            raise self.error(
                f"filter '{self._shown()}' names column '{missing[0]}'{suggest(missing[0], cols)}, which the table "
                f"does not have; columns: {', '.join(cols)}"
                + ("" if all(c.isidentifier() for c in cols) else " (put names that are not identifiers in `backticks`)")
            )
        columns = {raw: _frame_column(frame[self.quoted.get(raw, raw)]) for raw in self._raw_names
                   if self.quoted.get(raw, raw) in frame.columns}
        out = np.asarray(self.evaluate(columns, len(frame), np.random.default_rng(0)))
        if out.shape != (len(frame),):
            out = np.broadcast_to(out, (len(frame),))
        if out.dtype.kind == "O":
            if not all(v is None or isinstance(v, (bool, np.bool_)) for v in out[:1000]):
                raise self.error(f"filter '{self._shown()}' gives values, not true/false; write a condition such as 'age < 25'")
            out = np.array([bool(v) if v is not None else False for v in out], dtype=bool)
        if out.dtype.kind != "b":
            raise self.error(f"filter '{self._shown()}' gives values, not true/false; write a condition such as 'age < 25'")
        return np.asarray(out, dtype=bool)


def _frame_column(series: Any) -> Any:
    import pandas as pd

    if isinstance(series, pd.DataFrame):
        raise ExpressionError(f"the table has several columns named '{series.columns[0]}'; rename them first")
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
    elif pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return series.to_numpy(dtype=object, na_value=None)
    return numpy_values(series.array if pd.api.types.is_extension_array_dtype(series.dtype) else series.to_numpy())


def row_filter(frame: Any, where: str) -> np.ndarray:
    """The boolean mask of the rows of ``frame`` for which the filter text ``where`` holds.

    Filters use the safe expression language of spec formulas (see ``docs/spec.md``): no ``@variables``,
    attributes or calls outside the whitelist; a column the table lacks is a clear error.

    >>> import pandas as pd
    >>> row_filter(pd.DataFrame({"age": [20, 40, 25]}), "age < 30").tolist()
    [True, False, True]
    """
    return Filter(where).mask(frame)
