"""Checks of one column against its semantic type; every problem is reported, none fixed silently."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.metadata.columns import (
    BooleanColumn,
    CategoricalColumn,
    DatetimeColumn,
    IdColumn,
    NumericalColumn,
    TimedeltaColumn,
    _Column,
)
from simulacra.metadata.temporal import parse_datetimes, timedelta_seconds

BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False, "t": True, "f": False}


def _examples(values: pd.Series, k: int = 3) -> str:
    return ", ".join(repr(v) for v in pd.unique(values)[:k])


def _share(count: int, total: int) -> str:
    pct = 100.0 * count / max(total, 1)
    return f"{pct:.0f}%" if pct >= 1 else f"{pct:.2g}%"


def column_problems(name: str, series: pd.Series, col: _Column) -> list[str]:
    """Problems of ``series`` against column metadata ``col``."""
    non_null = series.dropna()
    if isinstance(col, NumericalColumn):
        return _numerical(name, series, non_null, col)
    if isinstance(col, DatetimeColumn):
        return _datetime(name, non_null, col)
    if isinstance(col, TimedeltaColumn):
        if pd.api.types.is_timedelta64_dtype(series.dtype):
            return []
        bad = non_null[np.isnan(timedelta_seconds(non_null))]
        if len(bad):
            return [
                f"Column '{name}' has {len(bad)} values that are not durations (e.g. {_examples(bad)}); "
                "write them like '1 days 02:00:00' or 'P1DT2H', or declare the column categorical"
            ]
        return []
    if isinstance(col, IdColumn):
        dups = non_null[non_null.duplicated()]
        if len(dups):
            return [
                f"Column '{name}' is declared an id but has {len(dups)} duplicate values "
                f"(e.g. {_examples(dups)}); de-duplicate it or declare it categorical or numerical"
            ]
        return []
    if isinstance(col, BooleanColumn):
        if pd.api.types.is_bool_dtype(series.dtype):
            return []
        bad = non_null[~non_null.map(lambda v: isinstance(v, (bool, np.bool_)) or str(v).strip().lower() in BOOL_WORDS)]
        if len(bad):
            return [
                f"Column '{name}' is declared boolean but has {len(bad)} other values "
                f"(e.g. {_examples(bad)}); declare it categorical"
            ]
        return []
    if isinstance(col, CategoricalColumn) and col.categories is not None:
        allowed = set(col.categories)
        bad = non_null[~non_null.isin(allowed)]
        if len(bad):
            return [
                f"Column '{name}' has {len(bad)} values outside its declared categories "
                f"(e.g. {_examples(bad)}); add them to 'categories' or set categories to null"
            ]
    return []


def _numerical(name: str, series: pd.Series, non_null: pd.Series, col: NumericalColumn) -> list[str]:
    found = []
    if pd.api.types.is_bool_dtype(series.dtype):
        return [f"Column '{name}' is boolean but declared numerical; declare it boolean"]
    if pd.api.types.is_numeric_dtype(series.dtype):
        numbers = non_null.astype(float)
    else:
        tokens = set(col.missing_tokens)
        candidates = non_null[~non_null.astype(str).isin(tokens)] if tokens else non_null
        numbers = pd.to_numeric(candidates, errors="coerce")
        bad = candidates[numbers.isna()]
        if len(bad):
            found.append(
                f"Column '{name}' has {_share(len(bad), len(series))} non-numeric values "
                f"(e.g. {_examples(bad)}); declare it categorical, list the words in "
                "'missing_tokens', or clean it"
            )
        numbers = numbers.dropna()
    arr = numbers.to_numpy(dtype=float)
    inf = np.isinf(arr)
    if inf.any():
        first = numbers.index[np.flatnonzero(inf)[0]]
        found.append(
            f"Column '{name}' has {int(inf.sum())} infinite values (first at row {first!r}); "
            "replace them with NaN (missing) or a finite number"
        )
    if col.integer:
        finite = arr[np.isfinite(arr)]
        frac = finite != np.round(finite)
        if frac.any():
            found.append(
                f"Column '{name}' is declared integer but has {int(frac.sum())} fractional values "
                f"(e.g. {finite[frac][0]!r}); set integer to false"
            )
    return found


def _datetime(name: str, non_null: pd.Series, col: DatetimeColumn) -> list[str]:
    if pd.api.types.is_datetime64_any_dtype(non_null.dtype):
        return []
    fmt = None if col.format in (None, "mixed") else col.format
    parsed = parse_datetimes(non_null.astype(str), fmt)
    bad = non_null[parsed.isna().to_numpy()]
    if len(bad):
        how = f"in format '{col.format}'" if fmt else "recognisable as dates"
        return [
            f"Column '{name}' has {len(bad)} values that are not dates {how} (e.g. {_examples(bad)}); "
            "fix them, set format to 'mixed', or declare the column categorical"
        ]
    return []
