"""Durations: encoded as seconds, decoded to ``timedelta64`` at the precision seen in the data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.metadata.columns import TimedeltaColumn
from simulacra.metadata.temporal import timedelta_seconds
from simulacra.transform.base import Encoder
from simulacra.transform.datetime import bounded_steps, clip_tails
from simulacra.transform.numerical import tail_bounds

#: Candidate precisions of durations, coarsest first: a day, an hour, a minute, a second, a millisecond.
STEPS = (86400.0, 3600.0, 60.0, 1.0, 1e-3)


def resolution_seconds(seconds: np.ndarray, steps: tuple[float, ...] = STEPS) -> float:
    """The coarsest of ``steps`` that every finite value is a whole number of (0 when none is):
    durations in whole hours stay whole hours.

    Examples
    --------
    >>> resolution_seconds(np.array([3600.0, 7200.0, np.nan])), resolution_seconds(np.array([1.5]))
    (3600.0, 0.001)
    """
    finite = seconds[np.isfinite(seconds)]
    for step in steps:
        if finite.size and np.allclose(finite / step, np.round(finite / step), rtol=0, atol=1e-6):
            return step
    return 0.0


class TimedeltaEncoder(Encoder):
    """Durations, modelled as a number of seconds; the step (whole days, hours...) is kept.

    With ``min_count = k > 1`` durations beyond the ``k``-th shortest and longest are clipped to them.

    Examples
    --------
    >>> enc = TimedeltaEncoder("wait").analyze(pd.Series(pd.to_timedelta(["1h", "2h", None])))
    >>> enc.decode(enc.encode(pd.Series(pd.to_timedelta(["90min"])))).tolist()
    [Timedelta('0 days 02:00:00')]
    """

    kind = "timedelta"
    representation = "continuous"

    def __init__(self, name: str, column: TimedeltaColumn | None = None, *, min_count: int = 1) -> None:
        super().__init__(name)
        self.column = column or TimedeltaColumn()
        self.min_count = min_count

    def analyze(self, series: pd.Series) -> TimedeltaEncoder:
        secs = timedelta_seconds(series)
        finite = secs[np.isfinite(secs)]
        step = resolution_seconds(finite)
        lo, hi, tail = tail_bounds(finite, self.min_count)
        col = self.column
        if col.minimum is not None:
            lo = col.minimum if lo is None else max(lo, col.minimum)
        if col.maximum is not None:
            hi = col.maximum if hi is None else min(hi, col.maximum)
        self.stats_ = {
            "missing_rate": float(np.mean(np.isnan(secs))) if secs.size else 0.0,
            "minimum": lo,
            "maximum": hi,
            "tail_count": tail,
            "step_seconds": step,
        }
        return self

    def encode(self, series: pd.Series) -> np.ndarray:
        return clip_tails(timedelta_seconds(series), self.stats_)

    def decode(self, values: np.ndarray, rng: np.random.Generator | None = None) -> pd.Series:
        return pd.Series(pd.to_timedelta(bounded_steps(values, self.stats_), unit="s"), name=self.name)
