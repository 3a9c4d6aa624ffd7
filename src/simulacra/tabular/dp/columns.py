"""How the DP model reads and writes each column type, and the public bounds a user declares."""

from __future__ import annotations

import json
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.metadata import Metadata
from simulacra.metadata.temporal import (
    datetime_seconds, datetime_zone, localize_wall_times, seconds_to_datetimes, timedelta_seconds,
)
from simulacra.transform.categorical import RARE_TOKEN
from simulacra.transform.numerical import numbers_to_series, to_numbers

NUMERIC_TYPES = ("numerical", "datetime", "timedelta")
CATEGORY_TYPES = ("categorical", "boolean")
#: Seconds since 1970 of 0001-01-01 and 9999-12-31 23:59:59, the dates a format such as %Y-%m-%d can write.
CALENDAR_SECONDS = (-62135596800.0, 253402300799.0)


def read_zones(table: pd.DataFrame, meta: Metadata) -> dict[str, str]:
    """The time zone of each zone-aware date column (schema, like its dtype; see ``datetime_zone``)."""
    zones = {c: datetime_zone(table[c], getattr(col, "format", None), c) for c, col in meta.columns.items()
             if col.type == "datetime"}
    return {c: z for c, z in zones.items() if z is not None}


def wall_times(table: pd.DataFrame, meta: Metadata, zones: dict[str, str]) -> pd.DataFrame:
    """``table`` with each zone-aware date column as its zone's wall-clock dates (a new frame).

    The model measures and samples those dates as they read where they were written: local midnights
    are whole days, whatever their offset from UTC.
    """
    if not zones:
        return table
    local = {c: seconds_to_datetimes(datetime_seconds(table[c], getattr(meta.columns[c], "format", None), z), c)
             .set_axis(table.index)
             for c, z in zones.items()}
    return table.assign(**local)


def read_bounds(bounds: Any, meta: Metadata, zones: dict[str, str] | None = None) -> dict[str, Any]:
    """Public domains by column: ``(low, high)`` for numeric columns, a list of labels for the others.

    ``bounds`` is a dict or a JSON file mapping a column to ``{"min": .., "max": ..}``, to
    ``{"categories": [..]}``, to ``[low, high]`` (numeric columns) or to a list of labels. A date or
    duration column may also declare its resolution, ``{"step": "1h"}`` (see :func:`read_steps`),
    with or without a range. The bounds of a column with a time zone (``zones``) are read on its
    wall clock (a bound with another zone is converted to it).
    """
    out: dict[str, Any] = {}
    for name, spec in load_bounds(bounds, meta).items():
        kind = meta.columns[name].type
        if isinstance(spec, dict):  # a misspelt key would otherwise leave the column's domain to the budget unnoticed
            allowed = ("categories",) if kind in CATEGORY_TYPES else ("min", "max")
            unknown = [str(k) for k in spec if k not in (*allowed, "step")]
            if unknown:
                raise InputError(f"Public bounds of '{name}' ({kind}): unknown key {', '.join(map(repr, unknown))}; "
                                 f"the keys are {', '.join(map(repr, allowed))}"
                                 f"{' and step' if kind in ('datetime', 'timedelta') else ''}.")
        if isinstance(spec, dict) and "step" in spec and "min" not in spec and "max" not in spec:
            continue  # a public resolution only: the range is released under the budget
        if kind in NUMERIC_TYPES:
            lo, hi = (spec.get("min"), spec.get("max")) if isinstance(spec, dict) else (tuple(spec) + (None, None))[:2]
            try:
                zone = (zones or {}).get(name)
                low, high = (_seconds(lo, kind, zone), _seconds(hi, kind, zone))
            except (TypeError, ValueError):
                raise InputError(f"Public bounds of '{name}' must be two numbers [min, max], got {spec!r}") from None
            if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
                raise InputError(f"Public bounds of '{name}' must satisfy min < max, got {spec!r}")
            out[name] = (low, high)
        elif kind in CATEGORY_TYPES:
            labels = spec.get("categories") if isinstance(spec, dict) else spec
            if not isinstance(labels, list) or not labels:
                raise InputError(f"The public domain of '{name}' must be a non-empty list of categories, got {spec!r}")
            out[name] = list(dict.fromkeys(labels))
        else:
            raise InputError(f"Column '{name}' is of type {kind}; public bounds apply to numeric and categorical columns.")
    return out


def read_steps(bounds: Any, meta: Metadata) -> dict[str, float]:
    """Public resolutions of dates and durations in seconds, from ``{"step": ..}`` in their bounds.

    The step is a duration (``"1D"``, ``"1h"``, ``"15min"``, ``"1s"``) or a number of seconds; 0 means
    no rounding. Sampled values are rounded to it, and nothing about the resolution is read from the data.

    >>> from simulacra.metadata import Metadata
    >>> meta = Metadata.from_dict({"columns": {"t": {"type": "datetime"}}})
    >>> read_steps({"t": {"step": "1h"}}, meta)
    {'t': 3600.0}
    """
    out: dict[str, float] = {}
    for name, spec in load_bounds(bounds, meta).items():
        if not isinstance(spec, dict) or "step" not in spec:
            continue
        kind = meta.columns[name].type
        if kind not in ("datetime", "timedelta"):
            raise InputError(f"Column '{name}' is of type {kind}; a public step applies to dates and durations only.")
        value = spec["step"]
        step = _step_seconds(value)
        if not np.isfinite(step) or step < 0:
            raise InputError(f"The public step of '{name}' must be a duration such as \"1D\", \"1h\" or \"1s\" "
                             f"(or seconds, 0 for none), got {value!r}.")
        out[name] = step + 0.0  # -0.0 is 0: no rounding
    return out


def _step_seconds(value: Any) -> float:
    """A declared step in seconds (NaN when it is no duration): numbers, numpy's included, and strings
    of a bare number are seconds; other strings and timedeltas are durations, read to the nanosecond."""
    if isinstance(value, (bool, np.bool_)):
        return float("nan")
    if isinstance(value, str):
        try:
            return float(value)  # "3600": seconds (pandas would read nanoseconds)
        except ValueError:
            pass
    # np.int64(5) too, which pandas would read as 5 nanoseconds (np.timedelta64 is a numpy integer: a duration)
    if isinstance(value, numbers.Real) and not isinstance(value, np.timedelta64):
        return float(value)
    try:
        return float(pd.Timedelta(value) / pd.Timedelta(seconds=1))  # not total_seconds(): it drops nanoseconds
    except (TypeError, ValueError):
        return float("nan")


def load_bounds(bounds: Any, meta: Metadata) -> dict[str, Any]:
    """The bounds as a dict of existing columns (read from a JSON file when a path is given)."""
    if bounds is None:
        return {}
    if isinstance(bounds, (str, Path)):
        try:
            bounds = json.loads(Path(bounds).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"Could not read the public bounds file '{bounds}': {exc}") from None
    if not isinstance(bounds, dict):
        raise InputError(f"bounds must map column names to public domains, got {type(bounds).__name__}")
    for name in bounds:
        if name not in meta.columns:
            raise InputError(f"The public bounds name column '{name}', which the table does not have.")
    return bounds


def _seconds(value: Any, kind: str, zone: str | None = None) -> float:
    if kind == "datetime":
        return float(datetime_seconds(pd.Series([value]), None, zone)[0])
    if kind == "timedelta" and isinstance(value, str):
        return float(timedelta_seconds(pd.Series([value]))[0])
    return float(value)


def numeric_values(series: pd.Series, col: Any) -> np.ndarray:
    """A numeric column as floats (datetimes and durations in seconds), NaN for missing."""
    if col.type == "datetime":
        return datetime_seconds(series, col.format)
    if col.type == "timedelta":
        return timedelta_seconds(series)
    return to_numbers(series, col.missing_tokens)


def round_to_step(values: np.ndarray, step: float, low: float, high: float) -> np.ndarray:
    """Values rounded to whole multiples of ``step`` and kept within ``[low, high]``, on the step's grid
    where the interval holds a multiple of it (rounding must not carry a value past a public bound).

    >>> round_to_step(np.array([5300.0, 5500.0, np.nan]), 3600.0, 0.0, 6000.0).tolist()
    [3600.0, 3600.0, nan]
    """
    out = np.round(values / step) * step
    lo, hi = np.ceil(low / step) * step, np.floor(high / step) * step
    return np.clip(out, lo, hi) if lo <= hi else np.clip(out, low, high)


def numeric_series(values: np.ndarray, col: Any, dtype: str, name: str, zone: str | None = None) -> pd.Series:
    """Floats back to the column's type (dates of a column with a time zone: wall-clock seconds, back in it)."""
    if col.type == "datetime":  # a noisy range may reach past the calendar (year 9999): clip into it
        stamps = seconds_to_datetimes(np.clip(np.round(values), *CALENDAR_SECONDS), name)
        if zone:
            stamps = localize_wall_times(stamps, zone)
        if col.format and col.format != "mixed":
            return stamps.dt.strftime(col.format).where(stamps.notna(), None).rename(name)
        return stamps
    if col.type == "timedelta":
        return pd.Series(pd.to_timedelta(values, unit="s"), name=name)
    stats = {"integer": col.integer, "decimals": col.decimals, "dtype": dtype}
    return numbers_to_series(values, stats, name)


def category_series(codes: np.ndarray, labels: list[Any], other: bool, name: str, dtype: str) -> pd.Series:
    """Codes back to labels (the "other" code as ``<rare>``, the missing code as missing)."""
    table = np.array([*labels, *([RARE_TOKEN] if other else []), None, None], dtype=object)
    values = table[np.minimum(codes, len(table) - 1)]
    if dtype == "bool" and not other and all(isinstance(v, (bool, np.bool_)) for v in labels):
        if not any(v is None for v in values):
            return pd.Series(values.astype(bool), name=name)
    return pd.Series(values, name=name, dtype=object)


def id_series(first_row: int, n: int, integer: bool, name: str) -> pd.Series:
    """Fresh identifiers: the global row number (nothing about the real keys is kept)."""
    rows = np.arange(first_row, first_row + n, dtype=np.int64) + 1
    if integer:
        return pd.Series(rows, name=name)
    return pd.Series(np.char.add("dp-", np.char.zfill(rows.astype(str), 8)).astype(object), name=name)
