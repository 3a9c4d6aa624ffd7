"""Dates and timestamps: encoded as seconds since the epoch, decoded to datetimes.

Dates beyond pandas' nanosecond range (after 2262, before 1677) are kept at microsecond resolution.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata.columns import DatetimeColumn
from simulacra.metadata.temporal import datetime_seconds, parse_datetimes, seconds_to_datetimes
from simulacra.transform.base import Encoder
from simulacra.transform.numerical import tail_bounds


def to_datetimes(series: pd.Series, fmt: str | None) -> pd.Series:
    """Parse a column to datetime64 (NaT for missing or unparseable; microseconds past 2262)."""
    return parse_datetimes(series, fmt)


def clip_tails(seconds: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """Seconds clipped to the learned tail bounds when a privacy floor is on (``tail_count > 1``)."""
    if stats.get("tail_count", 1) > 1:
        return np.clip(seconds, stats["minimum"], stats["maximum"])
    return seconds


def bounded_steps(values: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """Model output in seconds clipped to the learned bounds and rounded to the learned step."""
    secs = np.asarray(values, dtype=float)
    lo, hi = stats.get("minimum"), stats.get("maximum")
    if lo is not None and hi is not None:
        secs = np.clip(secs, lo, hi)
    step = stats.get("step_seconds") or 0
    return np.round(secs / step) * step if step else secs


class DatetimeEncoder(Encoder):
    """Datetimes; precision (day, second, ...) and the time zone are kept.

    With ``min_count = k > 1`` dates beyond the ``k``-th earliest and latest are clipped to them.
    """

    kind = "datetime"
    representation = "continuous"

    def __init__(self, name: str, column: DatetimeColumn | None = None, *, min_count: int = 1) -> None:
        super().__init__(name)
        self.column = column or DatetimeColumn()
        self.min_count = min_count

    def _seconds(self, series: pd.Series) -> np.ndarray:
        return datetime_seconds(series, self.column.format)

    def analyze(self, series: pd.Series) -> DatetimeEncoder:
        secs = self._seconds(series)
        finite = secs[np.isfinite(secs)]
        step = 1
        if finite.size:
            ints = finite.astype(np.int64)
            for candidate in (86400, 3600, 60, 1):
                if np.all(ints % candidate == 0) and np.all(finite == ints):
                    step = candidate
                    break
            else:
                step = 0
        tz = None
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            tz = str(series.dt.tz) if series.dt.tz is not None else None
        lo, hi, tail = tail_bounds(finite, self.min_count)
        self.stats_ = {
            "missing_rate": float(np.mean(np.isnan(secs))) if secs.size else 0.0,
            "minimum": lo,
            "maximum": hi,
            "tail_count": tail,
            "step_seconds": step,
            "tz": tz,
            "format": self.column.format,
        }
        return self

    def encode(self, series: pd.Series) -> np.ndarray:
        return clip_tails(self._seconds(series), self.stats_)

    def decode(self, values: np.ndarray, rng: np.random.Generator | None = None) -> pd.Series:
        stamps = seconds_to_datetimes(bounded_steps(values, self.stats_), self.name)
        tz = self.stats_.get("tz")
        if tz:
            stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(tz)
        return stamps
