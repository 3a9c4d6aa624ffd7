"""Dates and timestamps: encoded as seconds since the epoch, decoded to datetimes.

Dates beyond pandas' nanosecond range (after 2262, before 1677) are kept at microsecond resolution.
Dates with a time zone count on the wall clock of that zone (local midnights are whole days, whatever
their offset from UTC, summer time included) and come back in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata.columns import DatetimeColumn
from simulacra.metadata.temporal import (
    datetime_seconds, datetime_zone, localize_wall_times, parse_datetimes, seconds_to_datetimes, zone_from_name,
)
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

    A column with a time zone is measured on the wall clock of that zone: its step (a day for local
    midnights) is read there, and the dates come back in that zone (``stats_["zone"]``; a column that mixes
    zones, or dates with and without one, is refused). Models saved before kept the seconds in UTC and the
    zone as ``stats_["tz"]``; they decode as they did.

    With ``min_count = k > 1`` dates beyond the ``k``-th earliest and latest are clipped to them.
    """

    kind = "datetime"
    representation = "continuous"

    def __init__(self, name: str, column: DatetimeColumn | None = None, *, min_count: int = 1) -> None:
        super().__init__(name)
        self.column = column or DatetimeColumn()
        self.min_count = min_count

    @property
    def zone(self) -> str | None:
        """The column's time zone (its dates count on that zone's wall clock), None for naive dates."""
        return self.stats_.get("zone")

    def _seconds(self, series: pd.Series) -> np.ndarray:
        return datetime_seconds(series, self.column.format, self.zone)

    def analyze(self, series: pd.Series) -> DatetimeEncoder:
        zone = datetime_zone(series, self.column.format, self.name)
        self.stats_ = {"zone": zone} if zone else {}
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
        lo, hi, tail = tail_bounds(finite, self.min_count)
        self.stats_ = {
            "missing_rate": float(np.mean(np.isnan(secs))) if secs.size else 0.0,
            "minimum": lo,
            "maximum": hi,
            "tail_count": tail,
            "step_seconds": step,
            "tz": None,  # the key of files before (seconds in UTC, then this zone); kept so naive files are alike
            "format": self.column.format,
            **({"zone": zone} if zone else {}),
        }
        return self

    def dates(self, series: pd.Series, fmt: str | None = None) -> pd.Series:
        """Values (a condition, a bound) as dates of the column: in its zone, naive ones read on its clock."""
        stamps = to_datetimes(series, fmt)
        if not self.zone or not pd.api.types.is_datetime64_any_dtype(stamps.dtype):
            return stamps
        if stamps.dt.tz is None:
            return localize_wall_times(stamps, self.zone)
        return stamps.dt.tz_convert(zone_from_name(self.zone))

    def encode(self, series: pd.Series) -> np.ndarray:
        return clip_tails(self._seconds(series), self.stats_)

    def decode(self, values: np.ndarray, rng: np.random.Generator | None = None,
               near: np.ndarray | None = None) -> pd.Series:
        """Seconds back to dates (``near``: see :func:`localize_wall_times`, for a zone's repeated hour)."""
        stamps = seconds_to_datetimes(bounded_steps(values, self.stats_), self.name)
        if self.zone:
            return localize_wall_times(stamps, self.zone, near)
        tz = self.stats_.get("tz")
        if tz:  # a model saved before: UTC seconds
            stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(tz)
        return stamps
