"""Dtype alignment between the real table and the others, and numeric views of columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.metadata.temporal import datetime_seconds, parse_datetimes, timedelta_seconds

#: Above this share of values that do not convert, a dtype mismatch is an error rather than a warning.
MAX_BAD_SHARE = 0.5
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    return "other"


def _parse_dates(series: pd.Series, fmt: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
    if pd.api.types.is_numeric_dtype(series.dtype):
        return pd.to_datetime(series, errors="coerce")
    return parse_datetimes(series, fmt)


def _parse_bools(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).to_numpy()] = True
    out[text.isin(_FALSE).fillna(False).to_numpy()] = False
    return out


def _convert(real: pd.Series, other: pd.Series, stype: str, fmt: str | None) -> pd.Series | None:
    """``other`` converted to the kind of ``real`` (None when no conversion applies)."""
    rk, ok = _kind(real), _kind(other)
    if stype == "datetime" or rk == "datetime":
        return None if ok == "datetime" else _parse_dates(other, fmt)
    if stype == "timedelta" or rk == "timedelta":
        if ok == "timedelta":
            return None
        return pd.Series(pd.to_timedelta(timedelta_seconds(other), unit="s"), index=other.index)
    if stype == "boolean" or rk == "bool":
        return None if ok == "bool" else _parse_bools(other)
    if rk == "number" and ok != "number":
        return pd.to_numeric(other.astype("string") if ok == "other" else other, errors="coerce")
    if stype == "numerical" and rk != "number" and ok == "number":
        return None  # real has non-numeric tokens; numeric views coerce both sides
    if rk == "other" and ok in ("number", "bool"):
        return other.astype(object).where(other.notna(), None).map(lambda v: v if v is None else str(v))
    return None


def align_dtypes(
    real: pd.DataFrame,
    other: pd.DataFrame,
    types: dict[str, str],
    role: str,
    messages: list[str],
    type_errors: dict[str, int] | None = None,
    formats: dict[str, str | None] | None = None,
    bad_rows: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Convert columns of ``other`` whose dtype differs from the real table's.

    A column where more than half of the values do not convert raises :class:`InputError`; a
    column where a few do not convert is converted (those become missing), counted in
    ``type_errors`` (their rows in ``bad_rows``) and named in ``messages``.
    """
    changed: dict[str, pd.Series] = {}
    problems = []
    for col, stype in types.items():
        if stype in ("id", "text"):
            continue
        fmt = (formats or {}).get(col)
        conv = _convert(real[col], other[col], stype, fmt)
        if conv is None:
            continue
        unreadable = other[col].notna().to_numpy() & conv.isna().to_numpy()
        bad = int(unreadable.sum())
        present = int(other[col].notna().sum())
        same_dtype = real[col].dtype == other[col].dtype
        if present and bad / present > MAX_BAD_SHARE and not same_dtype:
            example = other[col][other[col].notna() & conv.isna()].iloc[0]
            problems.append(
                f"'{col}' is {real[col].dtype} in the real table but {other[col].dtype} in the {role} table "
                f"({bad} of {present} values such as {example!r} cannot be read as {stype})"
            )
            continue
        changed[col] = conv
        if bad:
            if type_errors is not None:
                type_errors[col] = type_errors.get(col, 0) + bad
            if bad_rows is not None:
                bad_rows[col] = unreadable
            example = other[col][other[col].notna() & conv.isna()].iloc[0]
            head = (f"Column '{col}' of the {role} table has" if same_dtype else
                    f"Column '{col}' of the {role} table has dtype {other[col].dtype}, not {real[col].dtype}: converted;")
            messages.append(
                f"{head} {bad} of {present} values (e.g. {example!r}) that cannot be read as {stype}: they count as "
                "type errors and as missing"
            )
    if problems:
        raise InputError(
            "Columns have different dtypes in the real and " + role + " tables: " + "; ".join(problems)
            + ". Convert them to the same type before evaluating."
        )
    if not changed:
        return other
    out = other.copy(deep=False)
    for col, values in changed.items():
        out[col] = values.to_numpy() if not isinstance(values.dtype, pd.BooleanDtype) else values.astype(object)
    return out


def as_float(series: pd.Series, stype: str, fmt: str | None = None) -> np.ndarray:
    """A float view of a numerical, datetime (seconds since the epoch), timedelta (seconds) or boolean
    column; missing is NaN."""
    if stype == "datetime":
        if pd.api.types.is_numeric_dtype(series.dtype):
            series = _parse_dates(series, fmt)
        return datetime_seconds(series, fmt)
    if stype == "timedelta":
        return timedelta_seconds(series)
    if stype == "boolean" and _kind(series) != "bool":
        series = _parse_bools(series)
    if _kind(series) in ("number", "bool"):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(series.astype("string"), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def shared_codes(series: dict[str, pd.Series]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Integer codes of labels shared across tables (missing is -1) and the labels themselves."""
    names = list(series)
    sizes = [len(series[n]) for n in names]
    values: Any = pd.concat([series[n].astype(object) for n in names], ignore_index=True)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    out, start = {}, 0
    for name, size in zip(names, sizes):
        out[name] = codes[start:start + size]
        start += size
    return out, np.asarray(uniques, dtype=object)
