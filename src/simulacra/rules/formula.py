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

Values are floats; date-time columns are read as seconds since 1970 (UTC). Nothing else (no
attribute, subscript, call of another function) is accepted, so a formula from a metadata file can
never run code.

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
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from simulacra.errors import ConstraintError

__all__ = ["Formula", "quote"]

_BACKTICK = re.compile(r"`([^`]+)`")
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


class Formula:
    """A parsed formula: the columns it reads and a vectorized evaluation."""

    def __init__(self, text: str) -> None:
        self.text = str(text)
        self._names: dict[str, str] = {}

        def alias(match: re.Match[str]) -> str:
            key = f"__c{len(self._names)}"
            self._names[key] = match.group(1)
            return key

        source = _BACKTICK.sub(alias, self.text)
        try:
            self._tree = ast.parse(source.strip(), mode="eval").body
        except SyntaxError as exc:
            raise ConstraintError(f"Formula {self.text!r} is not valid: {exc.msg}") from None
        self.columns: list[str] = []
        self._check(self._tree)

    def _column(self, name: str) -> str:
        return self._names.get(name, name)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self._check(node.operand)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            pass
        elif isinstance(node, ast.Name):
            if node.id in _FUNCTIONS:
                raise ConstraintError(f"Formula {self.text!r}: '{node.id}' is a function; call it or quote a column of that name in backticks")
            col = self._column(node.id)
            if col not in self.columns:
                self.columns.append(col)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
            _, least, most = _FUNCTIONS[node.func.id]
            if not least <= len(node.args) <= most:
                raise ConstraintError(f"Formula {self.text!r}: {node.func.id}() takes {least} to {most} arguments")
            args = list(node.args)
            if node.func.id == "utc":
                zone = args.pop()
                if not (isinstance(zone, ast.Constant) and isinstance(zone.value, str)):
                    raise ConstraintError(f"Formula {self.text!r}: utc() takes a time zone name in quotes, e.g. 'America/New_York'")
            for arg in args:
                self._check(arg)
        else:
            shown = ast.unparse(node) if hasattr(ast, "unparse") else type(node).__name__
            raise ConstraintError(
                f"Formula {self.text!r}: '{shown}' is not allowed; use column names, numbers, + - * / // % "
                f"and the functions {', '.join(_FUNCTIONS)}"
            )

    def evaluate(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """The formula on float arrays of its columns (NaN where an input is missing)."""
        with np.errstate(all="ignore"):
            out = self._eval(self._tree, values)
        n = len(next(iter(values.values()))) if values else 1
        return np.broadcast_to(np.asarray(out, dtype=float), (n,)).copy()

    def _eval(self, node: ast.AST, values: Mapping[str, np.ndarray]) -> Any:
        if isinstance(node, ast.BinOp):
            out = _BINARY[type(node.op)](self._eval(node.left, values), self._eval(node.right, values))
            return np.where(np.isfinite(out), out, np.nan) if isinstance(out, np.ndarray) else out
        if isinstance(node, ast.UnaryOp):
            inner = self._eval(node.operand, values)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.Constant):
            return float(node.value)  # type: ignore[arg-type]  # _check allows numbers only
        if isinstance(node, ast.Name):
            return np.asarray(values[self._column(node.id)], dtype=float)
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        func = _FUNCTIONS[node.func.id][0]
        if node.func.id == "utc":
            zone = node.args[1]
            assert isinstance(zone, ast.Constant)
            return func(np.asarray(self._eval(node.args[0], values), dtype=float), str(zone.value))
        return func(*[np.asarray(self._eval(a, values), dtype=float) for a in node.args])

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"
