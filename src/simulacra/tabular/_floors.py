"""Privacy floors on the metadata a model keeps: no bound in a saved model is one record's extreme.

Detected metadata holds each column's exact minimum and maximum (``fnlwgt`` 1,455,435 on Adult): one
person's value, in a file people share. A fitted model keeps, instead, the ``k``-th smallest and
largest values (``k`` = the model's ``min_category_count``, as the encoders clip and as
``spec infer`` writes its bounds). A bound that lies strictly beyond every training value reveals no
record, so it is taken as a public, user-declared domain bound and kept as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata import Metadata
from simulacra.metadata.columns import DatetimeColumn, NumericalColumn, TimedeltaColumn
from simulacra.metadata.temporal import datetime_seconds, parse_datetimes, timedelta_seconds
from simulacra.transform.numerical import tail_bounds, to_numbers


def floor_metadata(meta: Metadata, data: pd.DataFrame, min_count: int) -> Metadata:
    """``meta`` with every data-derived bound moved in to the ``min_count``-th value from its end.

    ``meta`` is changed in place and returned; ``min_count <= 1`` leaves it as it is.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6, 100]})
    >>> meta = floor_metadata(Metadata.detect(df), df, 2)
    >>> meta.columns["x"].minimum, meta.columns["x"].maximum
    (2.0, 6.0)
    """
    if int(min_count) <= 1:
        return meta
    for name, col in meta.columns.items():
        if name not in data.columns:
            continue
        if isinstance(col, (NumericalColumn, TimedeltaColumn)):
            series = data[name]
            values = (to_numbers(series, col.missing_tokens) if isinstance(col, NumericalColumn)
                      else timedelta_seconds(series))
            lo, hi = _floored(values, col.minimum, col.maximum, min_count)
            col.minimum, col.maximum = lo, hi
        elif isinstance(col, DatetimeColumn) and (col.minimum is not None or col.maximum is not None):
            _floor_dates(col, data[name], min_count)
    return meta


def _floored(
    values: np.ndarray, minimum: float | None, maximum: float | None, min_count: int
) -> tuple[float | None, float | None]:
    """Declared bounds moved in to the tail bounds where they touch the data (None stays None)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return minimum, maximum
    lo, hi, _ = tail_bounds(finite, min_count)
    if minimum is not None and minimum >= finite.min():
        minimum = max(float(minimum), float(lo))  # type: ignore[arg-type]
    if maximum is not None and maximum <= finite.max():
        maximum = min(float(maximum), float(hi))  # type: ignore[arg-type]
    return minimum, maximum


def _floor_dates(col: DatetimeColumn, series: pd.Series, min_count: int) -> None:
    """The same for a date column, whose bounds are timestamps written as text."""
    fmt = None if col.format == "mixed" else col.format
    seconds = datetime_seconds(series, fmt)
    finite = seconds[np.isfinite(seconds)]
    if finite.size == 0:
        return
    # a bound that does not read as a date cannot be told apart from the data's: it is floored too
    declared = [None if b is None else _seconds_of(b, fallback) for b, fallback in
                ((col.minimum, float(finite.min())), (col.maximum, float(finite.max())))]
    lo, hi = _floored(seconds, declared[0], declared[1], min_count)
    stamps = parse_datetimes(series, fmt)
    if lo != declared[0]:
        col.minimum = _stamp_at(stamps, seconds, lo)
    if hi != declared[1]:
        col.maximum = _stamp_at(stamps, seconds, hi)


def _seconds_of(bound: Any, fallback: float) -> float:
    """Seconds since the epoch of a bound written as text (``fallback`` when it does not parse)."""
    secs = float(datetime_seconds(pd.Series([str(bound)]))[0])
    return secs if np.isfinite(secs) else fallback


def _stamp_at(stamps: pd.Series, seconds: np.ndarray, target: float | None) -> str | None:
    """The text of the data's timestamp at ``target`` seconds (as detection writes bounds)."""
    if target is None:
        return None
    hit = np.flatnonzero(seconds == target)
    return str(stamps.iloc[int(hit[0])]) if hit.size else None
