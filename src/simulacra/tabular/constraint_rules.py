"""The constraint kinds of table rules: derived columns, dependencies, bounds, clock times, missing together.

They read and write rules in the language of :mod:`simulacra.rules` (the same dicts discovery finds and
the evaluation checks) and keep them by construction: a derived column is computed from the sampled
ones, a dependent column is looked up from its determinant, a bounded column is modelled as its
position between its bounds, a clock time as minutes since midnight.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata import Metadata
from simulacra.metadata.columns import NumericalColumn
from simulacra.rules.formula import Formula
from simulacra.tabular.constraint_kinds import Constraint, Numbers, OneColumn, _put
from simulacra.tabular.constraint_sets import FixedCombinations

_ALL_TYPES = ("numerical", "datetime", "categorical", "boolean", "text", "id")


def _numbers(data: pd.DataFrame, meta: Metadata, names: list[str]) -> dict[str, Numbers]:
    return {c: Numbers(c, meta.columns[c].type, meta.columns[c]).fit(data[c]) for c in names}


class _NumberRule(Constraint):
    """A rule over number or date-time columns, read through :class:`Numbers` (kept in the model file)."""

    numbers_: dict[str, Numbers]
    #: Learned scalars saved with the model (as ``name``; the attribute is ``name_``), besides the number views.
    scalars: tuple[str, ...] = ()

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), **{k: getattr(self, k + "_") for k in self.scalars},
                "numbers": {c: n.get_state() for c, n in self.numbers_.items()}}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        for k in self.scalars:
            setattr(self, k + "_", state[k])
        self.numbers_ = {c: Numbers.from_state(c, s) for c, s in state["numbers"].items()}


class Derived(_NumberRule):
    """``column = formula(other columns)``: the column is computed after sampling, never sampled.

    When the column is missing in rows where its inputs are known (or the reverse), it stays in the
    model (for its missing values) and is overwritten by the formula wherever it is present.
    """

    kind = "derived"
    can_reparameterize = True
    computes = True
    scalars = ("tol", "computed")

    def __init__(self, spec: dict[str, Any], position: int) -> None:
        super().__init__(spec, position)
        self.formula = Formula(str(spec["formula"]))
        self.computed_ = True

    @property
    def column(self) -> str:
        return str(self.spec["column"])

    def columns(self) -> list[str]:
        return [*self.formula.columns, self.column]

    def reads(self) -> set[str]:
        return set(self.formula.columns)

    def writes(self) -> set[str]:
        return {self.column}

    def describe(self) -> str:
        return f"derived: '{self.column}' = {self.formula.text}"

    def prepare(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> None:
        self.numbers_ = _numbers(data, meta, self.columns())
        step = self.numbers_[self.column].step_
        self.tol_ = 0.5 * step if step > 0 else 0.0
        target_missing = data[self.column].isna().to_numpy()
        inputs_missing = data[self.formula.columns].isna().any(axis=1).to_numpy() if self.formula.columns else target_missing
        self.computed_ = bool(np.array_equal(target_missing, inputs_missing))

    def _want(self, data: pd.DataFrame) -> np.ndarray:
        return self.formula.evaluate({c: self.numbers_[c].to_float(data[c]) for c in self.formula.columns})

    def _inputs_known(self, data: pd.DataFrame) -> np.ndarray:
        known = np.ones(len(data), dtype=bool)
        for c in self.formula.columns:
            known &= np.isfinite(self.numbers_[c].to_float(data[c]))
        return known

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        got, want = self.numbers_[self.column].to_float(data[self.column]), self._want(data)
        known = np.isfinite(got) & self._inputs_known(data)
        with np.errstate(invalid="ignore"):
            ok = np.abs(got - want) <= self.tol_ + 1e-9 * np.maximum(1.0, np.abs(want))
        return ~known | ok

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        return data.drop(columns=[self.column]) if self.computed_ else data

    def model_columns(self, columns: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in columns.items() if k != self.column} if self.computed_ else columns

    def reverse(self, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        values = self.numbers_[self.column].to_series(self._want(data)).set_axis(data.index)
        if self.computed_:
            data[self.column] = values
        else:
            present = data[self.column].notna().to_numpy() & self._inputs_known(data)
            data = _put(data, self.column, values, present)
        return data, np.zeros(len(data), dtype=bool)

    def repair(self, data: pd.DataFrame) -> pd.DataFrame:
        bad = ~self.valid(data)
        if bad.any():
            data = _put(data, self.column, self.numbers_[self.column].to_series(self._want(data)), bad)
        return data


class Dependency(FixedCombinations):
    """``determinant -> dependent``: the dependent values are looked up, so every pair is a real one.

    Kept as fixed combinations of all its columns: the model sees one joint column, and pairs seen
    in fewer than ``min_count`` rows are neither stored nor sampled.
    """

    kind = "dependency"

    def columns(self) -> list[str]:
        return [*map(str, self.spec["determinant"]), *map(str, self.spec["dependent"])]

    def describe(self) -> str:
        return f"dependency: {' + '.join(map(repr, self.spec['determinant']))} -> {', '.join(map(repr, self.spec['dependent']))}"


class Bound(_NumberRule):
    """``column >= max(at_least)`` and ``column <= min(at_most)``; modelled as its place between bounds."""

    kind = "bound"
    can_reparameterize = True
    scalars = ("ref", "unit")

    @property
    def column(self) -> str:
        return str(self.spec["column"])

    @property
    def lows(self) -> list[str]:
        return [str(c) for c in self.spec.get("at_least") or []]

    @property
    def highs(self) -> list[str]:
        return [str(c) for c in self.spec.get("at_most") or []]

    def columns(self) -> list[str]:
        return [self.column, *self.lows, *self.highs]

    def reads(self) -> set[str]:
        return {*self.lows, *self.highs}

    def writes(self) -> set[str]:
        return {self.column}

    def describe(self) -> str:
        parts = [f"'{self.column}' >= {c!r}" for c in self.lows] + [f"'{self.column}' <= {c!r}" for c in self.highs]
        return "bound: " + " and ".join(parts)

    def prepare(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> None:
        self.numbers_ = _numbers(data, meta, self.columns())
        x = self.numbers_[self.column].to_float(data[self.column])
        self.ref_ = float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0
        spread = float(np.nanstd(x)) if np.isfinite(x).sum() > 1 else 1.0
        step = self.numbers_[self.column].step_
        self.unit_ = step if step > 0 else max(spread * 1e-3, 1e-12)

    def _limits(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        n = len(data)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 'All-NaN slice' on rows with no bound
            lo = np.nanmax([self.numbers_[c].to_float(data[c]) for c in self.lows], axis=0) if self.lows else np.full(n, np.nan)
            hi = np.nanmin([self.numbers_[c].to_float(data[c]) for c in self.highs], axis=0) if self.highs else np.full(n, np.nan)
        return lo, hi

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        x = self.numbers_[self.column].to_float(data[self.column])
        ok = np.ones(len(data), dtype=bool)
        strict = bool(self.spec.get("strict"))
        with np.errstate(invalid="ignore"):
            for c in self.lows:
                lo = self.numbers_[c].to_float(data[c])
                ok &= np.isnan(lo) | np.isnan(x) | ((x > lo) if strict else (x >= lo))
            for c in self.highs:
                hi = self.numbers_[c].to_float(data[c])
                ok &= np.isnan(hi) | np.isnan(x) | ((x < hi) if strict else (x <= hi))
        return ok

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        x = self.numbers_[self.column].to_float(data[self.column])
        lo, hi = self._limits(data)
        h = self.unit_ / 2
        with np.errstate(all="ignore"):
            both = np.log(np.maximum(x - lo, 0) + h) - np.log(np.maximum(hi - x, 0) + h)
            z = np.where(np.isfinite(lo) & np.isfinite(hi), both,
                         np.where(np.isfinite(lo), np.arcsinh((x - lo) / self.unit_),
                                  np.where(np.isfinite(hi), np.arcsinh((hi - x) / self.unit_),
                                           np.arcsinh((x - self.ref_) / self.unit_))))
        data[self.column] = z
        return data

    def model_columns(self, columns: dict[str, Any]) -> dict[str, Any]:
        return {**columns, self.column: NumericalColumn()}

    def reverse(self, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        z = pd.to_numeric(data[self.column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        lo, hi = self._limits(data)
        h = self.unit_ / 2
        with np.errstate(all="ignore"):
            e = np.exp(np.clip(z, -700, 700))
            both = np.clip((e * (hi + h) + lo - h) / (1 + e), lo, hi)
            x = np.where(np.isfinite(lo) & np.isfinite(hi), both,
                         np.where(np.isfinite(lo), lo + np.maximum(np.sinh(z), 0) * self.unit_,
                                  np.where(np.isfinite(hi), hi - np.maximum(np.sinh(z), 0) * self.unit_,
                                           self.ref_ + np.sinh(z) * self.unit_)))
        bad = np.isfinite(lo) & np.isfinite(hi) & (lo > hi)
        data[self.column] = self.numbers_[self.column].to_series(x).set_axis(data.index)
        return data, bad

    def repair(self, data: pd.DataFrame) -> pd.DataFrame:
        bad = ~self.valid(data)
        if bad.any():
            num = self.numbers_[self.column]
            x = num.to_float(data[self.column])
            lo, hi = self._limits(data)
            strict = bool(self.spec.get("strict"))
            x = np.where(np.isfinite(lo), np.maximum(x, num.above(np.nan_to_num(lo), strict)), x)
            x = np.where(np.isfinite(hi), np.minimum(x, num.below(np.nan_to_num(hi), strict)), x)
            data = _put(data, self.column, num.to_series(x), bad)
        return data


class Clock(OneColumn, _NumberRule):
    """A whole number written as a clock time HHMM (minutes below 60); modelled as minutes since midnight."""

    kind = "clock"
    can_reparameterize = True
    scalars = ("midnight",)
    allowed_types = ("numerical",)

    def describe(self) -> str:
        return f"clock: '{self.column}' is HHMM"

    def prepare(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> None:
        self.numbers_ = _numbers(data, meta, [self.column])
        x = self.numbers_[self.column].to_float(data[self.column])
        self.midnight_ = 2400.0 if np.nanmax(x, initial=0) == 2400 else 0.0

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        x = self.numbers_[self.column].to_float(data[self.column])
        with np.errstate(invalid="ignore"):
            ok = (x >= 0) & (x <= 2400) & (np.mod(x, 100) < 60) & (x == np.round(x))
        return np.isnan(x) | ok

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        x = self.numbers_[self.column].to_float(data[self.column])
        data[self.column] = np.floor(x / 100) * 60 + np.mod(x, 100)
        return data

    def model_columns(self, columns: dict[str, Any]) -> dict[str, Any]:
        return {**columns, self.column: NumericalColumn(integer=True, decimals=0)}

    def reverse(self, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        m = pd.to_numeric(data[self.column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        m = np.clip(np.round(m), 0, 1440 if self.midnight_ else 1439)
        x = np.floor(m / 60) * 100 + np.mod(m, 60)
        data[self.column] = self.numbers_[self.column].to_series(x).set_axis(data.index)
        return data, np.zeros(len(data), dtype=bool)


class MissingWith(Constraint):
    """``if if_missing is missing then every then_missing column is missing``; repaired by blanking them."""

    kind = "missing_with"
    allowed_types = _ALL_TYPES

    @property
    def source(self) -> str:
        return str(self.spec["if_missing"])

    @property
    def targets(self) -> list[str]:
        return [str(c) for c in self.spec["then_missing"]]

    def columns(self) -> list[str]:
        return [self.source, *self.targets]

    def describe(self) -> str:
        return f"missing: if '{self.source}' is missing then {', '.join(map(repr, self.targets))} missing"

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        a = data[self.source].isna().to_numpy()
        return ~a | data[self.targets].isna().all(axis=1).to_numpy()

    def repair(self, data: pd.DataFrame) -> pd.DataFrame:
        a = data[self.source].isna().to_numpy()
        if a.any():
            for c in self.targets:
                col = data[c]
                if col.dtype.kind in "iub":
                    col = col.astype("Int64") if col.dtype.kind in "iu" else col.astype(object)
                data[c] = col.mask(a)
        return data
