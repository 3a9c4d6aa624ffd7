"""Dates and durations as numbers: parsing that works beyond pandas' nanosecond range.

pandas keeps timestamps as nanoseconds by default, which only reach the years 1677 to 2262. Dates
outside that range (``9999-12-31`` is a common "no end" marker) are parsed here at microsecond
resolution instead, which covers the years 1 to 9999, so they are neither lost nor taken for labels.
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings

import numpy as np
import pandas as pd

#: Seconds since the epoch that nanosecond timestamps can hold.
NS_SECONDS = (pd.Timestamp.min.value / 1e9, pd.Timestamp.max.value / 1e9)
_FAR_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
#: Strings that spell a duration: pandas' "3 days 04:05:06" and ISO 8601 "P3DT4H5M6S".
TIMEDELTA_PATTERN = re.compile(
    r"^\s*[+-]?\d+ days?(,? [+-]?\d{1,2}:\d{2}:\d{2}(\.\d+)?)?\s*$"
    r"|^\s*[+-]?P(?=\d|T\d)(\d+(\.\d+)?[YMWD])*(T(\d+(\.\d+)?[HMS])+)?\s*$",
    re.IGNORECASE,
)


def _wide_one(text: str, fmt: str | None) -> np.datetime64:
    """One string as ``datetime64[us]`` (NaT when it does not parse)."""
    try:
        if fmt:
            stamp = _dt.datetime.strptime(text.strip(), fmt)
        else:
            from dateutil import parser

            stamp = parser.parse(text)
    except (ValueError, OverflowError, TypeError):
        return np.datetime64("NaT", "us")
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return np.datetime64(stamp, "us")


def parse_datetimes(values: pd.Series, fmt: str | None = None) -> pd.Series:
    """A column as datetime64 (NaT where missing or not a date); ``fmt`` None or 'mixed' guesses.

    Nanoseconds when every date fits them, microseconds otherwise (years 1 to 9999).

    Examples
    --------
    >>> parse_datetimes(pd.Series(["2020-01-02", "9999-12-31"]), "%Y-%m-%d").dt.year.tolist()
    [2020, 9999]
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    use = None if fmt in (None, "mixed") else fmt
    strings = values.astype("string")
    with warnings.catch_warnings():  # several UTC offsets (a CSV of a zone with summer time): pandas warns
        warnings.simplefilter("ignore", FutureWarning)
        out = pd.to_datetime(strings, format=use or "mixed", errors="coerce")
    if out.dtype == object:  # several offsets: instants in UTC (datetime_zone refuses them for a model)
        out = pd.to_datetime(strings, format=use or "mixed", errors="coerce", utc=True)
    failed = (out.isna() & strings.notna()).to_numpy()
    if not failed.any():
        return out
    # only strings with a four-digit year out of the nanosecond range are worth a second, slower try
    years = pd.to_numeric(strings[failed].str.extract(_FAR_YEAR, expand=False), errors="coerce")
    retry = years.index[((years < 1678) | (years > 2261)).fillna(False).to_numpy()]
    if len(retry) == 0:
        return out
    wide = np.array([_wide_one(s, use) for s in strings[retry]], dtype="datetime64[us]")
    if np.isnat(wide).all():
        return out
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    result = out.to_numpy(dtype="datetime64[us]")
    result[values.index.get_indexer(retry)] = wide
    return pd.Series(result, index=values.index, name=values.name)


def datetime_seconds(values: pd.Series, fmt: str | None = None, zone: str | None = None) -> np.ndarray:
    """Seconds since the epoch as floats; NaN where missing.

    Time-zone aware dates count in UTC, or with ``zone`` (see :func:`datetime_zone`) on the wall clock of
    that zone: local midnights are then whole days. Dates without a zone count as they are written.
    """
    stamps = parse_datetimes(values, fmt)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(zone_from_name(zone) if zone else "UTC").dt.tz_localize(None)
    micros = stamps.to_numpy(dtype="datetime64[us]").view(np.int64).astype(float)
    micros[stamps.isna().to_numpy()] = np.nan
    return micros / 1e6


def seconds_to_datetimes(seconds: np.ndarray, name: str | None = None) -> pd.Series:
    """Float seconds since the epoch (NaN = missing) to datetime64: ns when they fit, else us."""
    secs = np.asarray(seconds, dtype=float)
    missing = ~np.isfinite(secs)
    finite = secs[~missing]
    fits = finite.size == 0 or (finite.min() >= NS_SECONDS[0] and finite.max() <= NS_SECONDS[1])
    unit, scale = ("ns", 1e9) if fits else ("us", 1e6)
    ticks = np.where(missing, 0, np.round(secs * scale)).astype(np.int64)
    stamps = ticks.view(f"datetime64[{unit}]").copy()
    stamps[missing] = np.datetime64("NaT")
    return pd.Series(stamps, name=name)


def datetime_zone(values: pd.Series, fmt: str | None = None, name: str = "") -> str | None:
    """The one time zone of a date column (None when its dates have none), as :func:`zone_name` writes it.

    The zone of a ``datetime64[ns, tz]`` column is its dtype's; dates given as objects or strings
    (``"2024-01-01 00:00:00+05:30"``) must all carry the same zone, or all none: a column that mixes
    zones, or dates with and without one, is refused (convert it to one zone first).

    Examples
    --------
    >>> datetime_zone(pd.Series(pd.date_range("2024-01-01", periods=2, tz="Asia/Kolkata")))
    'Asia/Kolkata'
    >>> datetime_zone(pd.Series(["2024-01-01 00:00+05:30", "2024-01-02 00:00+05:30"]))
    '+05:30'
    """
    from simulacra.errors import InputError

    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        tz = getattr(values.dt, "tz", None)
        return None if tz is None else zone_name(tz)
    present = values.dropna()
    if present.empty:
        return None
    use = None if fmt in (None, "mixed") else fmt
    with warnings.catch_warnings():  # pandas warns (and later refuses) on mixed offsets: detected below
        warnings.simplefilter("ignore")
        try:
            local = pd.to_datetime(present, format=use or "mixed", errors="coerce")
        except (TypeError, ValueError):  # newer pandas refuses mixed zones outright
            local = pd.Series(np.nan, index=present.index, dtype=object)
        one_zone = pd.api.types.is_datetime64_any_dtype(local.dtype)
        if one_zone and not local.isna().any():  # every date read: no second parse needed to compare with
            utc = local
        else:
            utc = pd.to_datetime(present, format=use or "mixed", errors="coerce", utc=True)
    # one zone: the parse without utc=True is a datetime column that loses no date the utc parse keeps
    if one_zone and int(local.isna().sum()) == int(utc.isna().sum()):
        tz = getattr(local.dt, "tz", None)
        return None if tz is None else zone_name(tz)
    dates = present[utc.notna()].head(100_000)
    zones = dates.map(lambda v: str(pd.Timestamp(v).tzinfo))  # (a refusal only: one value at a time)
    other = zones.index[zones != zones.iloc[0]]
    examples = [dates.iloc[0], *([dates[other[0]]] if len(other) else [])]
    raise InputError(f"Date column '{name}' mixes time zones, or dates with and without one (e.g. "
                     f"{' and '.join(repr(str(v)) for v in examples)}); convert it to one zone first, e.g. "
                     f"pd.to_datetime(df['{name}'], utc=True).dt.tz_convert('Asia/Kolkata').")


def zone_name(tz: _dt.tzinfo) -> str:
    """A time zone as text that :func:`zone_from_name` reads back: an IANA name ("Asia/Kolkata", "UTC")
    or a fixed offset ("+05:30")."""
    if str(tz) == "UTC":
        return "UTC"
    offset = tz.utcoffset(None)
    if offset is None:  # a zone with rules of its own (summer time): its name
        return str(tz)
    minutes = int(offset.total_seconds() // 60)
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def zone_from_name(name: str) -> _dt.tzinfo | str:
    """The zone that :func:`zone_name` wrote: a fixed offset, or the name for pandas to resolve."""
    match = _OFFSET.match(name)
    if not match:
        return name
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return _dt.timezone(_dt.timedelta(minutes=-minutes if match.group(1) == "-" else minutes))


def localize_wall_times(stamps: pd.Series, zone: str, near: np.ndarray | None = None) -> pd.Series:
    """Wall-clock dates (no zone) as dates of ``zone``.

    A wall time that a clock change skips becomes the first time after the gap; one that it repeats (the hour
    when clocks go back) is taken as the first of the two, or, given ``near`` (seconds since the epoch, one
    per date), as the one of the two nearer to it.
    """
    tz = zone_from_name(zone)
    first = stamps.dt.tz_localize(tz, ambiguous=np.ones(len(stamps), dtype=bool), nonexistent="shift_forward")
    if near is None:
        return first
    second = stamps.dt.tz_localize(tz, ambiguous=np.zeros(len(stamps), dtype=bool), nonexistent="shift_forward")
    repeated = (first != second).to_numpy() & first.notna().to_numpy()
    if not repeated.any():
        return first
    a, b = datetime_seconds(first), datetime_seconds(second)
    return first.where(~(repeated & (np.abs(b - near) < np.abs(a - near))), second)


def wall_clock_seconds(instants: np.ndarray, zone: str) -> np.ndarray:
    """Seconds since the epoch (UTC; NaN = missing) as the wall-clock seconds of ``zone`` at those instants.

    The inverse, up to a repeated hour, of ``datetime_seconds(localize_wall_times(...))``.

    Examples
    --------
    >>> wall_clock_seconds(np.array([0.0]), "+05:30").tolist()
    [19800.0]
    """
    stamps = seconds_to_datetimes(instants).dt.tz_localize("UTC")
    return datetime_seconds(stamps, None, zone)


def looks_like_timedeltas(strings: pd.Series) -> bool:
    """Whether nearly every string spells a duration ("1 days 02:00:00", "P1DT2H")."""
    sample = strings.head(2000)
    return bool(len(sample)) and float(sample.str.match(TIMEDELTA_PATTERN).mean()) >= 0.95


def timedelta_seconds(values: pd.Series) -> np.ndarray:
    """Durations (timedelta64, or strings that spell them) as float seconds; NaN where missing."""
    if pd.api.types.is_timedelta64_dtype(values.dtype):
        deltas = values
    else:
        deltas = pd.to_timedelta(values.astype("string").str.strip(), errors="coerce")
    out = deltas.to_numpy(dtype="timedelta64[ns]").view(np.int64).astype(float) / 1e9
    out[deltas.isna().to_numpy()] = np.nan
    return out
