"""The functions, random draws and constants of the expression language (and its refusals)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

#: Longest expression accepted (characters).
MAX_CHARS = 10_000
#: Deepest nesting of operations accepted (a sum of 100 terms is 100 levels deep).
MAX_DEPTH = 100
#: Integers are 64-bit: results beyond this are refused rather than wrapped around.
INT_LIMIT = 2.0**63


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

