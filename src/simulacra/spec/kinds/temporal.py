"""Dates and timestamps in a range, with weekly, yearly and daily seasonality and a growth trend."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from simulacra.spec.kinds.base import Block, ColumnKind, Values, check_probabilities, register

_DAY_NS = 86_400 * 10**9


def to_datetime64(value: dt.date | dt.datetime | str) -> np.datetime64:
    """A YAML date, datetime or ISO string as ``datetime64[ns]``."""
    try:
        return np.datetime64(value if isinstance(value, str) else value.isoformat(), "ns")
    except ValueError:
        raise ValueError(f"not a date or timestamp: {value!r} (use ISO format, e.g. 2024-01-31)") from None


@register
class Date(ColumnKind):
    """Dates (``kind: date``) between ``start`` and ``end`` (both included), with optional seasonality:
    ``weekday_weights`` (7, Monday first), ``month_weights`` (12) and a yearly ``growth`` of volume
    (0.1 = 10% more rows per year)."""

    kind: Literal["date"] = "date"
    start: dt.date | dt.datetime | str
    end: dt.date | dt.datetime | str
    weekday_weights: list[float] | None = Field(None, min_length=7, max_length=7)
    month_weights: list[float] | None = Field(None, min_length=12, max_length=12)
    growth: float = Field(0.0, gt=-1)

    @model_validator(mode="after")
    def check_range(self) -> Date:
        if to_datetime64(self.start) > to_datetime64(self.end):
            raise ValueError(f"'start' ({self.start}) is after 'end' ({self.end})")
        for name in ("weekday_weights", "month_weights"):
            if getattr(self, name) is not None:
                check_probabilities(getattr(self, name), name)
        return self

    def _day_cdf(self) -> tuple[np.ndarray, np.ndarray]:
        first = to_datetime64(self.start).astype("datetime64[D]")
        last = to_datetime64(self.end).astype("datetime64[D]")
        days = np.arange(first, last + np.timedelta64(1, "D"))
        w = np.ones(len(days))
        if self.weekday_weights is not None:
            w *= np.asarray(self.weekday_weights)[(days.astype(np.int64) - 4) % 7]  # 1970-01-01 was a Thursday
        if self.month_weights is not None:
            w *= np.asarray(self.month_weights)[days.astype("datetime64[M]").astype(np.int64) % 12]
        if self.growth:
            w *= (1 + self.growth) ** (np.arange(len(days)) / 365.25)
        cdf = np.cumsum(w)
        return days, cdf / cdf[-1]

    def draw_days(self, rng: np.random.Generator, n: int) -> np.ndarray:
        days, cdf = self._day_cdf()
        return days[np.searchsorted(cdf, rng.random(n), side="right").clip(0, len(days) - 1)]

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        return {name: self.draw_days(block.rng(name), block.n).astype("datetime64[ns]")}


@register
class Timestamp(Date):
    """Timestamps between ``start`` and ``end`` with the seasonality of ``date`` plus ``hour_weights``
    (24 weights for the hour of day); ``resolution`` is the unit the values are truncated to."""

    kind: Literal["timestamp"] = "timestamp"  # type: ignore[assignment]
    hour_weights: list[float] | None = Field(None, min_length=24, max_length=24)
    resolution: Literal["s", "ms", "us", "ns"] = "s"

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        rng = block.rng(name)
        days = self.draw_days(rng, block.n).astype("datetime64[ns]")
        if self.hour_weights is not None:
            p = check_probabilities(self.hour_weights, "hour_weights")
            hours = np.searchsorted(np.cumsum(p), rng.random(block.n), side="right").clip(0, 23)
            offset = (hours + rng.random(block.n)) * 3600e9
        else:
            offset = rng.random(block.n) * _DAY_NS
        out = days + offset.astype(np.int64).astype("timedelta64[ns]")
        end = to_datetime64(self.end)
        if end == end.astype("datetime64[D]"):  # a date: the whole last day is in range
            end = end + np.timedelta64(_DAY_NS - 1, "ns")
        out = np.clip(out, to_datetime64(self.start), end)
        return {name: out.astype(f"datetime64[{self.resolution}]").astype("datetime64[ns]")}
