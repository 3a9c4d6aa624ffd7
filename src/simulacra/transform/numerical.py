"""Numbers: missing values, precision, bounds and integer-ness kept on the way back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata.columns import NumericalColumn
from simulacra.transform.base import Encoder


def to_numbers(series: pd.Series, missing_tokens: list[str] | None = None) -> np.ndarray:
    """A float array of the column's numbers, NaN where missing (or a missing token)."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    values = series
    if missing_tokens:
        values = values.mask(values.astype(str).isin(set(missing_tokens)))
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def tail_bounds(finite: np.ndarray, min_count: int) -> tuple[float | None, float | None, int]:
    """The ``k``-th smallest and largest values (``k = min_count``, at most half the values) and ``k``.

    Values beyond them are seen in fewer than ``k`` rows at the tails; clipping to these bounds means
    no such extreme value is reproduced verbatim (a privacy floor; ``min_count <= 1`` keeps them).

    Examples
    --------
    >>> tail_bounds(np.array([1.0, 2, 3, 4, 5, 6, 100]), 2)
    (2.0, 6.0, 2)
    """
    if finite.size == 0:
        return None, None, 1
    k = max(1, min(int(min_count), (finite.size + 1) // 2))
    if k == 1:
        return float(finite.min()), float(finite.max()), 1
    return float(np.partition(finite, k - 1)[k - 1]), float(np.partition(finite, finite.size - k)[finite.size - k]), k


class NumericalEncoder(Encoder):
    """Integers and decimals.

    With ``min_count = k > 1``, values beyond the ``k``-th smallest and largest are clipped to them,
    on the way in and out, so an extreme value seen in fewer than ``k`` rows is never reproduced.
    """

    kind = "numerical"
    representation = "continuous"

    def __init__(self, name: str, column: NumericalColumn | None = None, *, min_count: int = 1) -> None:
        super().__init__(name)
        self.column = column or NumericalColumn()
        self.min_count = min_count

    def analyze(self, series: pd.Series) -> NumericalEncoder:
        values = to_numbers(series, self.column.missing_tokens)
        finite = values[np.isfinite(values)]
        col = self.column
        lo, hi, tail = tail_bounds(finite, self.min_count)
        if col.minimum is not None:
            lo = col.minimum if lo is None else max(lo, col.minimum)
        if col.maximum is not None:
            hi = col.maximum if hi is None else min(hi, col.maximum)
        integer = col.integer or bool(finite.size and np.all(finite == np.round(finite)))
        dtype = str(series.dtype)
        if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
            dtype = "Int64" if integer else "float64"
        self.stats_ = {
            "missing_rate": float(np.mean(np.isnan(values))) if values.size else 0.0,
            "minimum": lo,
            "maximum": hi,
            "integer": bool(integer),
            "decimals": 0 if integer else col.decimals,
            "dtype": dtype,
            "tail_count": tail,
        }
        return self

    def encode(self, series: pd.Series) -> np.ndarray:
        values = to_numbers(series, self.column.missing_tokens)
        if self.stats_.get("tail_count", 1) > 1:
            values = np.clip(values, self.stats_["minimum"], self.stats_["maximum"])
        return values

    def decode(self, values: np.ndarray, rng: np.random.Generator | None = None) -> pd.Series:
        return numbers_to_series(values, self.stats_, self.name)


def numbers_to_series(values: np.ndarray, stats: dict[str, Any], name: str) -> pd.Series:
    """Round, clip and cast a float array (NaN = missing) to the column's dtype."""
    out = np.asarray(values, dtype=float)
    lo, hi = stats.get("minimum"), stats.get("maximum")
    if lo is not None or hi is not None:
        out = np.clip(out, lo if lo is not None else -np.inf, hi if hi is not None else np.inf)
    decimals = stats.get("decimals")
    if decimals is not None:
        out = np.round(out, decimals)
    missing = np.isnan(out)
    dtype = stats.get("dtype", "float64")
    if stats.get("integer"):
        if missing.any() or dtype in ("Int64", "Int32", "Int16", "Int8", "UInt8", "UInt16", "UInt32", "UInt64"):
            nullable = dtype if dtype[0] in "IU" else "Int64"
            ints = pd.array(np.where(missing, 0, out).astype(np.int64), dtype=nullable)
            ints[missing] = pd.NA
            return pd.Series(ints, name=name)
        if dtype.startswith(("int", "uint")):
            return pd.Series(out.astype(dtype), name=name)
    if dtype.startswith("float"):
        return pd.Series(out.astype(dtype), name=name)
    return pd.Series(out, name=name)
