"""One class per constraint kind; see :mod:`simulacra.tabular.constraints` for the set and the dict form."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from simulacra.errors import ConstraintError
from simulacra.metadata import Metadata
from simulacra.metadata.columns import NumericalColumn
from simulacra.metadata.temporal import datetime_seconds, localize_wall_times, seconds_to_datetimes, wall_clock_seconds
from simulacra.transform.datetime import DatetimeEncoder
from simulacra.transform.numerical import NumericalEncoder


class Numbers:
    """Float view of a numerical or datetime column (seconds for dates) and the way back to its dtype.

    Dates with a time zone are instants (seconds since the epoch, UTC), so that differences are elapsed
    time across a clock change as pandas and the rule checks count them; their step is the one of the
    zone's wall clock (a day for local midnights), and values go back onto it there.

    Examples
    --------
    >>> n = Numbers("x", "numerical").fit(pd.Series([1.25, 2.5]))
    >>> n.step_, n.to_series(np.array([1.2549])).tolist()
    (0.01, [1.25])
    """

    def __init__(self, name: str, kind: str, column: Any = None) -> None:
        self.name, self.kind, self.column = name, kind, column
        self.encoder_: Any = None
        self.step_ = 0.0

    @property
    def zone(self) -> str | None:
        """The time zone of a date column with one (None otherwise)."""
        return self.encoder_.zone if isinstance(self.encoder_, DatetimeEncoder) else None

    def fit(self, series: pd.Series) -> Numbers:
        if self.kind == "datetime":
            self.encoder_ = DatetimeEncoder(self.name, self.column).analyze(series)
            self.step_ = float(self.encoder_.stats_.get("step_seconds") or 0)
        else:
            self.encoder_ = NumericalEncoder(self.name, self.column).analyze(series)
            stats = self.encoder_.stats_
            if stats["integer"]:
                self.step_ = 1.0
            else:
                if stats["decimals"] is None:
                    stats["decimals"] = _decimals(self.encoder_.encode(series))
                self.step_ = 10.0 ** -stats["decimals"] if stats["decimals"] is not None else 0.0
        self.encoder_.stats_["minimum"] = self.encoder_.stats_["maximum"] = None
        return self

    def to_float(self, series: pd.Series) -> np.ndarray:
        if self.zone:
            return datetime_seconds(self.encoder_.dates(series, self.encoder_.stats_.get("format")))
        return np.asarray(self.encoder_.encode(series), dtype=float)

    def to_series(self, values: np.ndarray) -> pd.Series:
        x = np.asarray(values, dtype=float)
        if self.zone:
            out = self.encoder_.decode(wall_clock_seconds(x, self.zone), near=x)
        else:
            out = self.encoder_.decode(x)
        return out.reset_index(drop=True)

    def above(self, x: np.ndarray, strict: bool) -> np.ndarray:
        """The smallest representable value ``> x`` (strict) or ``>= x``."""
        return self._on_grid(x, strict, up=True)

    def below(self, x: np.ndarray, strict: bool) -> np.ndarray:
        """The largest representable value ``< x`` (strict) or ``<= x``."""
        return self._on_grid(x, strict, up=False)

    def _on_grid(self, x: np.ndarray, strict: bool, *, up: bool) -> np.ndarray:
        zone = self.zone
        v = wall_clock_seconds(x, zone) if zone else x  # a zone's dates step on its wall clock
        v = _next_up(v, self.step_, strict) if up else -_next_up(-v, self.step_, strict)
        if zone:
            v = datetime_seconds(localize_wall_times(seconds_to_datetimes(v), zone, np.asarray(x, dtype=float)))
        return v

    def get_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "step": self.step_, "encoder": self.encoder_.get_state()}

    @classmethod
    def from_state(cls, name: str, state: dict[str, Any]) -> Numbers:
        obj = cls(name, state["kind"])
        obj.step_ = float(state["step"])
        enc: Any = DatetimeEncoder(name) if obj.kind == "datetime" else NumericalEncoder(name)
        obj.encoder_ = enc.set_state(state["encoder"])
        return obj


def _next_up(x: np.ndarray, step: float, strict: bool) -> np.ndarray:
    """The smallest value ``> x`` (strict) or ``>= x`` on the grid of ``step`` (any float when 0)."""
    if step > 0:
        k = np.floor(x / step + 1e-9) + 1 if strict else np.ceil(x / step - 1e-9)
        return np.round(k * step, 12)
    return np.nextafter(x, np.inf) if strict else x


def _decimals(x: np.ndarray, most: int = 10) -> int | None:
    finite = x[np.isfinite(x)][:100_000]
    for d in range(most + 1):
        if np.allclose(np.round(finite, d), finite, rtol=0, atol=1e-9 * max(1.0, float(np.abs(finite).max(initial=0)))):
            return d
    return None


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _put(data: pd.DataFrame, name: str, values: pd.Series, where: np.ndarray | None = None) -> pd.DataFrame:
    values = values.set_axis(data.index)
    if where is None:
        data[name] = values
    elif where.any():
        col = data[name]
        data[name] = values.where(where, col) if col.dtype == values.dtype else (
            pd.Series(np.where(where, values.astype(object), col.astype(object)), index=data.index).astype(
                values.dtype, errors="ignore"
            )
        )
    return data


class Constraint:
    """A rule on one or more columns; subclasses set what they read and write and how they map rows."""

    kind: ClassVar[str] = ""
    can_reparameterize: ClassVar[bool] = False
    allowed_types: ClassVar[tuple[str, ...]] = ("numerical", "datetime")
    #: The training data defines the rule (so it cannot break it).
    defined_by_data: ClassVar[bool] = False
    #: The rule computes a column's value from others (its repair is the rule itself, not a distortion).
    computes: ClassVar[bool] = False

    def __init__(self, spec: dict[str, Any], position: int) -> None:
        self.spec = spec
        self.position = position
        self.reparameterize_ = False

    def columns(self) -> list[str]:
        raise NotImplementedError

    def reads(self) -> set[str]:
        return set()

    def writes(self) -> set[str]:
        return set()

    def describe(self) -> str:
        return self.kind

    def label(self) -> str:
        return f"constraint #{self.position + 1} ({self.describe()})" if self.position >= 0 else self.describe()

    def check_columns(self, meta: Metadata) -> None:
        for name in self.columns():
            if name not in meta.columns:
                raise ConstraintError(
                    f"The {self.label()} names column '{name}', which is not in the table; "
                    f"columns are: {', '.join(meta.columns)}"
                )
            kind = meta.columns[name].type
            if kind not in self.allowed_types:
                raise ConstraintError(
                    f"The {self.label()} needs {' or '.join(self.allowed_types)} columns, "
                    f"but '{name}' is {kind}; change its type in the metadata or drop the constraint"
                )

    def prepare(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> None:
        """Learn what the constraint needs from the (valid) training rows."""

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        return data

    def model_columns(self, columns: dict[str, Any]) -> dict[str, Any]:
        return columns

    def reverse(self, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        return data, np.zeros(len(data), dtype=bool)

    def repair(self, data: pd.DataFrame) -> pd.DataFrame:
        return data

    def violation_message(self, data: pd.DataFrame, bad: np.ndarray) -> str:
        rows = np.flatnonzero(bad)
        cols = [c for c in self.columns() if c in data.columns]
        shown = []
        for i in rows[:3]:
            values = ", ".join(f"{c}={_plain(data[c].iloc[i])!r}" for c in cols)
            shown.append(f"row {data.index[i]!r}: {values}")
        return f"{self.label()}: {rows.size} of {len(data)} rows violate it, e.g. " + "; ".join(shown)

    def get_state(self) -> dict[str, Any]:
        return {"spec": self.spec, "reparameterize": self.reparameterize_}

    def set_state(self, state: dict[str, Any]) -> None:
        self.reparameterize_ = bool(state.get("reparameterize", False))


class OneColumn(Constraint):
    """A constraint on one column, ``spec["column"]``, whose values it sets."""

    @property
    def column(self) -> str:
        return str(self.spec["column"])

    def columns(self) -> list[str]:
        return [self.column]

    def writes(self) -> set[str]:
        return {self.column}


class Range(Constraint):
    """``min <= column <= max`` (``<`` when strict); values outside are clipped to the nearest valid one."""

    kind = "range"

    @property
    def column(self) -> str:
        return str(self.spec["column"])

    def columns(self) -> list[str]:
        return [self.column]

    def describe(self) -> str:
        op = "<" if self.spec.get("strict") else "<="
        parts = [_fmt(self.spec["min"]), op] if self.spec.get("min") is not None else []
        parts.append(repr(self.column))
        if self.spec.get("max") is not None:
            parts += [op, _fmt(self.spec["max"])]
        return "range: " + " ".join(parts)

    def _bound(self, value: Any) -> float:
        if value is None:
            return np.nan
        try:
            number = float(self.numbers_.to_float(pd.Series([value]))[0])
        except (TypeError, ValueError):
            number = np.nan
        if np.isnan(number):
            raise ConstraintError(f"The {self.label()} has a bound {value!r} that is not a valid value of '{self.column}'")
        return number

    def prepare(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> None:
        col = meta.columns[self.column]
        self.numbers_ = Numbers(self.column, col.type, col).fit(data[self.column])
        self._set_bounds()

    def _set_bounds(self) -> None:
        strict = bool(self.spec.get("strict"))
        self.lo_, self.hi_ = self._bound(self.spec.get("min")), self._bound(self.spec.get("max"))
        self.lo_ok_ = float(self.numbers_.above(np.array([self.lo_]), strict)[0]) if np.isfinite(self.lo_) else -np.inf
        self.hi_ok_ = float(self.numbers_.below(np.array([self.hi_]), strict)[0]) if np.isfinite(self.hi_) else np.inf
        if self.lo_ok_ > self.hi_ok_:
            raise ConstraintError(f"The {self.label()} leaves no possible value for '{self.column}'.")

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        x = self.numbers_.to_float(data[self.column])
        with np.errstate(invalid="ignore"):
            return np.isnan(x) | ((x >= self.lo_ok_) & (x <= self.hi_ok_))

    def repair(self, data: pd.DataFrame) -> pd.DataFrame:
        bad = ~self.valid(data)
        if bad.any():
            x = np.clip(self.numbers_.to_float(data[self.column]), self.lo_ok_, self.hi_ok_)
            data = _put(data, self.column, self.numbers_.to_series(x), bad)
        return data

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "numbers": self.numbers_.get_state()}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.numbers_ = Numbers.from_state(self.column, state["numbers"])
        self._set_bounds()


class Inequality(Constraint):
    """``high > low`` (strict) or ``high >= low``; modelled as the asinh of the gap ``high - low``."""

    kind = "inequality"
    can_reparameterize = True

    @property
    def low(self) -> str:
        return str(self.spec["low"])

    @property
    def high(self) -> str:
        return str(self.spec["high"])

    def columns(self) -> list[str]:
        return [self.low, self.high]

    def reads(self) -> set[str]:
        return {self.low}

    def writes(self) -> set[str]:
        return {self.high}

    def describe(self) -> str:
        return f"inequality: '{self.high}' {'>' if self.spec.get('strict') else '>='} '{self.low}'"

    def check_columns(self, meta: Metadata) -> None:
        super().check_columns(meta)
        kinds = {meta.columns[c].type for c in self.columns()}
        if len(kinds) > 1:
            raise ConstraintError(f"The {self.label()} compares columns of different types ({', '.join(sorted(kinds))}).")

    def prepare(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> None:
        kind = meta.columns[self.low].type
        self.lows_ = Numbers(self.low, kind, meta.columns[self.low]).fit(data[self.low])
        self.highs_ = Numbers(self.high, kind, meta.columns[self.high]).fit(data[self.high])
        lo, hi = self.lows_.to_float(data[self.low]), self.highs_.to_float(data[self.high])
        self.ref_ = float(np.nanmedian(lo)) if np.isfinite(lo).any() else 0.0
        gaps = hi - lo
        gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
        median = float(np.median(gaps)) if gaps.size else 1.0
        self.unit_ = self.highs_.step_ if self.highs_.step_ > 0 else max(median * 1e-3, 1e-12)

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        lo, hi = self.lows_.to_float(data[self.low]), self.highs_.to_float(data[self.high])
        with np.errstate(invalid="ignore"):
            ok = hi > lo if self.spec.get("strict") else hi >= lo
        return np.isnan(lo) | np.isnan(hi) | ok

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        lo = self.lows_.to_float(data[self.low])
        gap = self.highs_.to_float(data[self.high]) - np.where(np.isnan(lo), self.ref_, lo)
        data[self.high] = np.arcsinh(gap / self.unit_)
        return data

    def model_columns(self, columns: dict[str, Any]) -> dict[str, Any]:
        return {**columns, self.high: NumericalColumn()}

    def reverse(self, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        lo = self.lows_.to_float(data[self.low])
        v = pd.to_numeric(data[self.high], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        gap = np.sinh(v) * self.unit_
        gap = np.where(np.isnan(lo), gap, np.maximum(gap, 0.0))
        data[self.high] = self.highs_.to_series(np.where(np.isnan(lo), self.ref_, lo) + gap).set_axis(data.index)
        return data, np.zeros(len(data), dtype=bool)

    def repair(self, data: pd.DataFrame) -> pd.DataFrame:
        bad = ~self.valid(data)
        if bad.any():
            lo = self.lows_.to_float(data[self.low])
            fixed = self.highs_.above(lo, bool(self.spec.get("strict")))
            data = _put(data, self.high, self.highs_.to_series(fixed), bad)
        return data

    def get_state(self) -> dict[str, Any]:
        return {
            **super().get_state(), "lows": self.lows_.get_state(), "highs": self.highs_.get_state(),
            "ref": self.ref_, "unit": self.unit_,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.lows_ = Numbers.from_state(self.low, state["lows"])
        self.highs_ = Numbers.from_state(self.high, state["highs"])
        self.ref_, self.unit_ = float(state["ref"]), float(state["unit"])


class Sum(Constraint):
    """``sum(columns) == total`` to the columns' precision; the total is computed, not modelled."""

    kind = "sum"
    allowed_types = ("numerical",)
    computes = True

    @property
    def total(self) -> str:
        return str(self.spec["total"])

    @property
    def parts(self) -> list[str]:
        return [str(c) for c in self.spec["columns"]]

    def columns(self) -> list[str]:
        return [*self.parts, self.total]

    def reads(self) -> set[str]:
        return set(self.parts)

    def writes(self) -> set[str]:
        return {self.total}

    def describe(self) -> str:
        return f"sum: {' + '.join(repr(c) for c in self.parts)} == '{self.total}'"

    def prepare(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> None:
        self.numbers_ = {c: Numbers(c, "numerical", meta.columns[c]).fit(data[c]) for c in self.columns()}
        steps = [n.step_ for n in self.numbers_.values()]
        self.tol_ = 0.5 * min(steps) if all(s > 0 for s in steps) else 0.0
        self.total_missing_ = bool(data[self.total].isna().any())

    @property
    def can_reparameterize(self) -> bool:  # type: ignore[override]
        return not getattr(self, "total_missing_", True)

    def _sums(self, data: pd.DataFrame) -> np.ndarray:
        return np.sum([self.numbers_[c].to_float(data[c]) for c in self.parts], axis=0)

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        s, t = self._sums(data), self.numbers_[self.total].to_float(data[self.total])
        with np.errstate(invalid="ignore"):
            ok = np.abs(s - t) <= self.tol_ + 1e-9 * np.maximum(1.0, np.abs(t))
        return np.isnan(s) | np.isnan(t) | ok

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        return data.drop(columns=[self.total])

    def model_columns(self, columns: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in columns.items() if k != self.total}

    def reverse(self, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        data[self.total] = self.numbers_[self.total].to_series(self._sums(data)).set_axis(data.index)
        return data, np.zeros(len(data), dtype=bool)

    def repair(self, data: pd.DataFrame) -> pd.DataFrame:
        bad = ~self.valid(data)
        if bad.any():
            data = _put(data, self.total, self.numbers_[self.total].to_series(self._sums(data)), bad)
        return data

    def get_state(self) -> dict[str, Any]:
        return {
            **super().get_state(), "tol": self.tol_, "total_missing": self.total_missing_,
            "numbers": {c: n.get_state() for c, n in self.numbers_.items()},
        }

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.tol_, self.total_missing_ = float(state["tol"]), bool(state["total_missing"])
        self.numbers_ = {c: Numbers.from_state(c, s) for c, s in state["numbers"].items()}
