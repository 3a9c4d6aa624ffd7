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


class NumericalEncoder(Encoder):
    """Integers and decimals."""

    kind = "numerical"
    representation = "continuous"

    def __init__(self, name: str, column: NumericalColumn | None = None) -> None:
        super().__init__(name)
        self.column = column or NumericalColumn()

    def analyze(self, series: pd.Series) -> NumericalEncoder:
        values = to_numbers(series, self.column.missing_tokens)
        finite = values[np.isfinite(values)]
        col = self.column
        lo = float(finite.min()) if finite.size else None
        hi = float(finite.max()) if finite.size else None
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
        }
        return self

    def encode(self, series: pd.Series) -> np.ndarray:
        return to_numbers(series, self.column.missing_tokens)

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
