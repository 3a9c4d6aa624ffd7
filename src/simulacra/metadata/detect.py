"""Detection of semantic column types from data."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from simulacra.metadata.columns import (
    BooleanColumn,
    CategoricalColumn,
    Column,
    DatetimeColumn,
    IdColumn,
    NumericalColumn,
    TextColumn,
    TimedeltaColumn,
)
from simulacra.metadata.temporal import looks_like_timedeltas, parse_datetimes, timedelta_seconds

#: Share of values that must parse as numbers / dates for a string column to be read as such.
PARSE_SHARE = 0.95
#: Fewer rows than this never make an unnamed column of unique, equal-length strings an identifier.
MIN_ID_ROWS = 20

DATETIME_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S%z",  # with an offset, as pandas and simulacra write zone-aware dates to CSV
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y%m%dT%H%M%S",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %B %Y",
)
_ID_NAME = re.compile(r"(^|[_\s-])(id|key|uuid|guid)$|^(id|uuid|guid)([_\s-]|$)", re.IGNORECASE)
_TEXT_NAME = re.compile(r"text|description|comment|review|body|message|note|summary|title", re.IGNORECASE)
_DATE_CHARS = re.compile(r"^[\d\s:/.,TZ+-]*[A-Za-z]{0,9}[\d\s:/.,TZ+-]*$")


def _decimals(values: np.ndarray) -> int | None:
    """Smallest number of decimals that represents every value exactly (None if more than 10)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0
    if finite.size > 20000:
        finite = np.random.default_rng(0).choice(finite, 20000, replace=False)
    for d in range(0, 11):
        scaled = finite * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return d
    return None


def _bool_like(values: pd.Series) -> bool:
    kinds = {type(v) for v in values.head(1000)}
    return kinds <= {bool, np.bool_}


def detect_datetime_format(strings: pd.Series) -> str | None:
    """The strftime format that parses the strings, 'mixed' for several, or None when they are not dates."""
    sample = strings.drop_duplicates()
    if len(sample) > 500:
        sample = sample.sample(500, random_state=0)
    lengths = sample.str.len()
    if lengths.min() < 6 or lengths.max() > 40:
        return None
    if not sample.str.contains(r"\d", regex=True).all():
        return None
    if not sample.map(lambda v: bool(_DATE_CHARS.match(v))).mean() >= PARSE_SHARE:
        return None
    best, best_rate = None, 0.0
    parsed_any = pd.Series(False, index=sample.index)
    for fmt in DATETIME_FORMATS:
        parsed = parse_datetimes(sample, fmt).notna()
        rate = float(parsed.mean())
        parsed_any |= parsed
        if rate > best_rate:
            best, best_rate = fmt, rate
        if rate == 1.0:
            break
    if best_rate == 1.0:
        full = parse_datetimes(strings, best).notna().mean()
        if full >= PARSE_SHARE:
            return best
    if parsed_any.mean() >= PARSE_SHARE:
        return "mixed"
    return None


def read_text_dates(values: pd.Series, *, utc: bool = False, known: str | None = None) -> pd.Series:
    """Text dates (an order column read from a CSV) as datetimes, every one read with the format they share.

    Read one by one, ``06/01/2020`` became the 1st of June beside ``13/01/2020``, the 13th of January: the
    events of a history changed places. Values that share no format are each read as they read. ``utc``:
    as instants in UTC (dates with several offsets too). ``known``: the format to read with (a model's, for
    new rows of the column it was fitted on) instead of the one these values alone suggest.

    Examples
    --------
    >>> read_text_dates(pd.Series(["06/01/2020", "13/01/2020"])).dt.month.tolist()
    [1, 1]
    """
    fmt = known if known is not None else shared_date_format(values)
    if fmt is not None and not fmt.endswith("Z"):  # (a literal Z: read as UTC below)
        with warnings.catch_warnings():  # several offsets: pandas warns, and the values are read below
            warnings.simplefilter("ignore", FutureWarning)
            shared = pd.to_datetime(values, format=fmt, errors="coerce", utc=utc)
        if pd.api.types.is_datetime64_any_dtype(shared.dtype) and shared.notna().sum() == values.notna().sum():
            return shared
    return pd.to_datetime(values, errors="coerce", format="mixed", utc=utc)


def shared_date_format(values: pd.Series) -> str | None:
    """The one strftime format of text dates (missing values aside), or None: not all text, several formats,
    or not dates. :func:`read_text_dates` reads with it; a sequence model writes its order column in it.

    Examples
    --------
    >>> shared_date_format(pd.Series(["06/01/2020", "13/01/2020", None]))
    '%d/%m/%Y'
    """
    present = values.dropna()
    if not len(present) or pd.api.types.infer_dtype(present, skipna=True) != "string":
        return None
    fmt = detect_datetime_format(present)
    return None if fmt in (None, "mixed") else fmt


def detect_column(series: pd.Series) -> Column:
    """Detect the semantic type of one column.

    Examples
    --------
    >>> import pandas as pd
    >>> detect_column(pd.Series([1, 2, 5])).type
    'numerical'
    >>> detect_column(pd.Series(["a", "b", "a"])).type
    'categorical'
    """
    name = str(series.name) if series.name is not None else ""
    non_null = series.dropna()
    n = len(non_null)
    if n == 0:
        return CategoricalColumn()
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BooleanColumn()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DatetimeColumn(
            format=None, minimum=str(non_null.min()), maximum=str(non_null.max())
        )
    if pd.api.types.is_timedelta64_dtype(dtype):
        return _timedelta(non_null)
    if isinstance(dtype, pd.CategoricalDtype):
        return CategoricalColumn(ordered=bool(dtype.ordered))
    if pd.api.types.is_numeric_dtype(dtype):
        return _numerical(name, non_null.to_numpy(dtype=float), n_total=len(series))
    if _bool_like(non_null):
        return BooleanColumn()
    strings = non_null.astype(str)
    numbers = pd.to_numeric(strings, errors="coerce")
    parsed = numbers.notna()
    if parsed.mean() >= PARSE_SHARE:
        tokens = sorted(strings[~parsed].unique().tolist())
        col = _numerical(name, numbers[parsed].to_numpy(dtype=float), n_total=len(series))
        if tokens:
            warnings.warn(
                f"Column '{name}' is numeric but has {int((~parsed).sum())} non-numeric values "
                f"({', '.join(repr(t) for t in tokens[:5])}); they are read as missing.",
                stacklevel=3,
            )
        if isinstance(col, NumericalColumn):
            col.missing_tokens = [str(t) for t in tokens]
        return col
    if looks_like_timedeltas(strings):
        return _timedelta(strings)
    fmt = detect_datetime_format(strings)
    if fmt is not None:
        stamps = parse_datetimes(strings, fmt)
        return DatetimeColumn(format=fmt, minimum=str(stamps.min()), maximum=str(stamps.max()))
    n_unique = strings.nunique()
    sample = strings.head(2000)
    words = sample.str.count(r"\s+").mean() + 1.0
    if words >= 5 or (_TEXT_NAME.search(name) and words >= 3 and n_unique > 0.5 * n):
        return TextColumn()
    if n_unique == n and n == len(series) and n >= 2 and words <= 1.5:
        lengths = sample.str.len()
        # a handful of distinct labels is no evidence of a key unless the name says so
        if _ID_NAME.search(name) or (n >= MIN_ID_ROWS and lengths.nunique() == 1) or n >= 50:
            return IdColumn(pattern=None)
    return CategoricalColumn()


def _timedelta(values: pd.Series) -> Column:
    seconds = timedelta_seconds(values)
    finite = seconds[np.isfinite(seconds)]
    return TimedeltaColumn(
        minimum=float(finite.min()) if finite.size else None, maximum=float(finite.max()) if finite.size else None
    )


def _numerical(name: str, values: np.ndarray, *, n_total: int) -> Column:
    finite = values[np.isfinite(values)]
    integer = bool(finite.size == 0 or np.all(finite == np.round(finite)))
    if integer and _ID_NAME.search(name) and len(np.unique(values)) == n_total == values.size:
        return IdColumn(integer=True)
    return NumericalColumn(
        integer=integer,
        minimum=float(finite.min()) if finite.size else None,
        maximum=float(finite.max()) if finite.size else None,
        decimals=0 if integer else _decimals(values),
    )
