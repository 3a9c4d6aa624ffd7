"""The formula language of derived columns: a small, safe subset of Python expressions over columns.

A formula names columns (``sqft_above + sqft_basement``; a name that is not a Python identifier is
written in backticks: ```education-num` * 2``), numbers, the operators ``+ - * / // %`` and these
functions:

- ``round(x, d)``: ``x`` rounded to ``d`` decimals (``d`` = 0 when omitted)
- ``mean(a, b, ...)``, ``min(a, b, ...)``, ``max(a, b, ...)``
- ``clock_minutes(t)``: a clock time written HHMM (``1530``) as minutes since midnight (930)
- ``clock(m)``: minutes as a clock time HHMM, modulo a day (midnight is ``0``); ``clock24(m)`` writes
  midnight as ``2400``
- ``timestamp(y, mo, d, h, mi)``: the date-time (seconds since 1970, UTC) of those parts (``h`` and
  ``mi`` may be left out); ``hours(x)`` is ``x`` hours in seconds, to add to a date-time;
  ``utc(t, 'America/New_York')`` reads the date-time ``t`` as wall-clock time in that zone (daylight
  saving included) and gives it in UTC

Values are floats; date-time columns are read as seconds since 1970 (UTC); a result that is infinite
(``x / 0``) is missing (NaN). Nothing else (no attribute, subscript, call of another function) is
accepted, so a formula from a metadata file can never run code.

This is a dialect of :mod:`simulacra.expr`: parsing, the whitelist, the bounds on length and nesting
and the evaluation are that language's; this module adds only the functions above, the narrower
grammar and the float arithmetic (through :class:`simulacra.expr.Evaluator`).

Examples
--------
>>> import numpy as np
>>> f = Formula("clock(clock_minutes(sched) + delay)")
>>> sorted(f.columns)
['delay', 'sched']
>>> f.evaluate({"sched": np.array([2350.0]), "delay": np.array([15.0])}).tolist()
[5.0]
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from simulacra.errors import ConstraintError, InputError
from simulacra.expr import Evaluator, Expression, unquote_names

__all__ = ["Formula", "quote"]

_DAY = 1440.0


def quote(name: str) -> str:
    """``name`` as written in a formula (backticks unless it is a plain identifier).

    Examples
    --------
    >>> quote("hour"), quote("education-num")
    ('hour', '`education-num`')
    """
    return name if name.isidentifier() and name not in _FUNCTIONS else f"`{name}`"


def _minutes(t: np.ndarray) -> np.ndarray:
    return np.floor(t / 100.0) * 60.0 + np.mod(t, 100.0)


def _clock(m: np.ndarray) -> np.ndarray:
    m = np.mod(np.round(m), _DAY)
    return np.floor(m / 60.0) * 100.0 + np.mod(m, 60.0)


def _clock24(m: np.ndarray) -> np.ndarray:
    out = _clock(m)
    return np.where(out == 0.0, 2400.0, out)


def _timestamp(*parts: np.ndarray) -> np.ndarray:
    y, mo, d = parts[0], parts[1], parts[2]
    h = parts[3] if len(parts) > 3 else np.zeros_like(y)
    mi = parts[4] if len(parts) > 4 else np.zeros_like(y)
    ok = np.isfinite(y) & np.isfinite(mo) & np.isfinite(d) & np.isfinite(h) & np.isfinite(mi)
    ok &= (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31) & (y >= 1) & (y <= 9999)
    out = np.full(np.broadcast(y, mo, d).shape, np.nan)
    if ok.any():
        yy, mm, dd = (np.broadcast_to(a, out.shape)[ok].astype(np.int64) for a in (y, mo, d))
        months = (yy - 1970) * 12 + (mm - 1)
        first = np.asarray(months, dtype="datetime64[M]").astype("datetime64[D]")
        days = first + (dd - 1).astype("timedelta64[D]")
        valid_day = days.astype("datetime64[M]") == first.astype("datetime64[M]")  # no 31 February
        secs = days.astype("datetime64[s]").astype(np.int64).astype(float)
        secs = secs + np.broadcast_to(h, out.shape)[ok] * 3600.0 + np.broadcast_to(mi, out.shape)[ok] * 60.0
        out[ok] = np.where(valid_day, secs, np.nan)
    return out


def _utc(local: np.ndarray, zone: str) -> np.ndarray:
    """Seconds of a wall-clock time in ``zone`` as seconds UTC (NaN for a time the zone skips or repeats)."""
    import pandas as pd

    stamps = pd.to_datetime(pd.Series(local), unit="s", errors="coerce")
    try:
        zoned = stamps.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:  # an unknown zone name: pandas raises several kinds
        raise ConstraintError(f"utc(): unknown time zone {zone!r} ({exc})") from None
    out = zoned.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
    return np.where(zoned.isna().to_numpy(), np.nan, out)


def _round(x: np.ndarray, d: np.ndarray | float = 0.0) -> np.ndarray:
    digits = int(np.asarray(d).flat[0]) if np.size(d) else 0
    return np.round(x, digits)


_FUNCTIONS: dict[str, tuple[Callable[..., np.ndarray], int, int]] = {
    "round": (_round, 1, 2),
    "mean": (lambda *a: np.mean(np.vstack(np.broadcast_arrays(*a)), axis=0), 1, 99),
    "min": (lambda *a: np.min(np.vstack(np.broadcast_arrays(*a)), axis=0), 1, 99),
    "max": (lambda *a: np.max(np.vstack(np.broadcast_arrays(*a)), axis=0), 1, 99),
    "clock_minutes": (_minutes, 1, 1),
    "clock": (_clock, 1, 1),
    "clock24": (_clock24, 1, 1),
    "timestamp": (_timestamp, 3, 5),
    "hours": (lambda x: x * 3600.0, 1, 1),
    "utc": (_utc, 2, 2),
}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
    ast.FloorDiv: np.floor_divide, ast.Mod: np.mod,
}


class _FloatEvaluator(Evaluator):
    """Float arithmetic over the rule functions: an infinite result becomes NaN (missing)."""

    functions: ClassVar[Mapping[str, tuple[Callable[..., Any], int, int]]] = _FUNCTIONS
    draws: ClassVar[Mapping[str, tuple[str, tuple[str, ...], dict[str, str]]]] = {}
    constants: ClassVar[Mapping[str, Any]] = {}

    def constant(self, value: Any) -> Any:
        return value if isinstance(value, str) else float(value)  # text only as the zone of utc()

    def name(self, name: str) -> Any:
        return np.asarray(self.columns[name], dtype=float)

    def arith(self, op: type, a: Any, b: Any) -> Any:
        out = _BINARY[op](a, b)
        return np.where(np.isfinite(out), out, np.nan) if isinstance(out, np.ndarray) else out

    def call(self, node: ast.Call) -> Any:
        name = node.func.id  # type: ignore[attr-defined]  # checked: a plain name
        if name == "utc":
            zone = node.args[1]
            assert isinstance(zone, ast.Constant)
            return _utc(np.asarray(self.eval(node.args[0]), dtype=float), str(zone.value))
        return self.functions[name][0](*[np.asarray(self.eval(a), dtype=float) for a in node.args])


class Formula(Expression):
    """A parsed formula: the columns it reads (in order of first use) and a vectorized evaluation."""

    error: ClassVar[type[InputError]] = ConstraintError
    evaluator: ClassVar[type[Evaluator]] = _FloatEvaluator

    def __init__(self, text: str) -> None:
        self._quoted: dict[str, str] = {}
        self._zones: set[int] = set()
        self.columns: list[str] = []
        self._raw: dict[str, str] = {}
        super().__init__(text)

    def _parse_text(self) -> str:
        return unquote_names(self.text, self._quoted)

    def _syntax_error(self, why: str, offset: int | None) -> InputError:
        return ConstraintError(f"Formula {self.text!r} is not valid: {why}")

    def _refuse(self, node: ast.AST) -> InputError:
        return ConstraintError(
            f"Formula {self.text!r}: '{ast.unparse(node)}' is not allowed; use column names, numbers, "
            f"+ - * / // % and the functions {', '.join(_FUNCTIONS)}"
        )

    def _check(self, node: ast.AST) -> bool:  # noqa: C901 - a flat dispatch
        """The narrower grammar of formulas, then the language's own checks."""
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise self._refuse(node)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self._refuse(node)
        elif isinstance(node, ast.Constant):
            number = isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
            if not number and id(node) not in self._zones:
                raise self._refuse(node)
        elif isinstance(node, ast.Name):
            if node.id in _FUNCTIONS:
                raise ConstraintError(f"Formula {self.text!r}: '{node.id}' is a function; call it or quote a column "
                                      "of that name in backticks")
            column = self._quoted.get(node.id, node.id)
            if column not in self.columns:
                self.columns.append(column)
            self._raw[node.id] = column
        elif isinstance(node, ast.Call):
            self._check_rule_call(node)
        else:
            raise self._refuse(node)
        return super()._check(node)

    def _check_rule_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords:
            raise self._refuse(node)
        _, least, most = _FUNCTIONS[node.func.id]
        if not least <= len(node.args) <= most:
            raise ConstraintError(f"Formula {self.text!r}: {node.func.id}() takes {least} to {most} arguments")
        if node.func.id == "utc":
            zone = node.args[-1]
            if not (isinstance(zone, ast.Constant) and isinstance(zone.value, str)):
                raise ConstraintError(f"Formula {self.text!r}: utc() takes a time zone name in quotes, "
                                      "e.g. 'America/New_York'")
            self._zones.add(id(zone))

    def evaluate(self, values: Mapping[str, np.ndarray]) -> np.ndarray:  # type: ignore[override]
        """The formula on float arrays of its columns (NaN where an input is missing)."""
        columns = {raw: values[column] for raw, column in self._raw.items()}
        n = len(next(iter(values.values()))) if values else 1
        out = self._run(self.evaluator(columns, n, None), self._tree)
        return np.broadcast_to(np.asarray(out, dtype=float), (n,)).copy()

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"
