"""Constraints on sets of values: fixed combinations of columns, and unique keys."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata import Metadata
from simulacra.metadata.columns import CategoricalColumn, IdColumn
from simulacra.tabular.constraint_kinds import Constraint, OneColumn
from simulacra.transform import RARE_TOKEN
from simulacra.transform.generated import IdEncoder


class FixedCombinations(Constraint):
    """Only combinations of the columns' values that exist in the training data; one joint column.

    Combinations seen in fewer than ``min_count`` training rows are neither kept nor sampled.
    """

    kind = "fixed_combinations"
    can_reparameterize = True
    defined_by_data = True
    allowed_types = ("categorical", "boolean", "numerical")

    def columns(self) -> list[str]:
        return [str(c) for c in self.spec["columns"]]

    def writes(self) -> set[str]:
        return set(self.columns())

    def describe(self) -> str:
        return "fixed combinations of " + ", ".join(repr(c) for c in self.columns())

    def prepare(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> None:
        self.values_: list[list[Any]] = []
        self.dtypes_: list[str] = []
        for name in self.columns():
            uniq = pd.unique(data[name].dropna())
            self.values_.append([v.item() if hasattr(v, "item") else v for v in uniq])
            self.dtypes_.append(str(data[name].dtype))
        codes = self._codes(data)
        combos, counts = np.unique(codes, axis=0, return_counts=True)
        self.combos_ = combos[counts >= max(min_count, 1)]
        self._forget_rare_values()
        self.joint_ = "+".join(self.columns())
        while self.joint_ in meta.columns:
            self.joint_ += "_"

    def _forget_rare_values(self) -> None:
        """Keep only the values used by the kept combinations (a rare value is not stored)."""
        values, columns = [], []
        for j, vals in enumerate(self.values_):
            used = np.unique(self.combos_[:, j])
            used = used[used < len(vals)]
            remap = np.full(len(vals) + 1, len(used), dtype=np.int64)
            remap[used] = np.arange(len(used))
            values.append([vals[i] for i in used])
            columns.append(remap[self.combos_[:, j]])
        self.values_ = values
        self.combos_ = np.column_stack(columns) if columns else self.combos_

    def _codes(self, data: pd.DataFrame) -> np.ndarray:
        """Per column, the index of each value in the known values; NaN is len(values); unseen is -1."""
        out = []
        for name, vals in zip(self.columns(), self.values_):
            s = data[name]
            idx = pd.Index(vals).get_indexer(s.astype(object).where(s.notna(), None))
            idx = np.where(s.isna().to_numpy(), len(vals), idx)
            if (idx < 0).any() and len(vals):  # values equal as strings (e.g. 1 and '1') still match
                as_str = pd.Index([str(v) for v in vals]).get_indexer(s.astype(str))
                idx = np.where(idx < 0, as_str, idx)
            out.append(idx)
        return np.column_stack(out).astype(np.int64) if out else np.zeros((len(data), 0), dtype=np.int64)

    def _keys(self, codes: np.ndarray) -> np.ndarray:
        key = np.zeros(len(codes), dtype=np.int64)
        for j, vals in enumerate(self.values_):
            key = key * (len(vals) + 2) + (codes[:, j] + 1)
        return key

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        codes = self._codes(data)
        return np.isin(self._keys(codes), self._keys(self.combos_)) & (codes >= 0).all(axis=1)

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        keys, known = self._keys(self._codes(data)), self._keys(self.combos_)
        order = np.argsort(known)
        pos = np.clip(np.searchsorted(known[order], keys), 0, max(len(known) - 1, 0))
        hit = known[order][pos] == keys if len(known) else np.zeros(len(keys), dtype=bool)
        labels = np.full(len(keys), RARE_TOKEN, dtype=object)
        if hit.any():
            labels[hit] = order[pos][hit].astype(str)
        first = list(data.columns).index(self.columns()[0])
        data = data.drop(columns=self.columns())
        data.insert(min(first, data.shape[1]), self.joint_, labels)
        return data

    def model_columns(self, columns: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, col in columns.items():
            if name == self.columns()[0]:
                out[self.joint_] = CategoricalColumn()
            elif name not in self.columns():
                out[name] = col
        return out

    def reverse(self, data: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        idx = pd.to_numeric(data[self.joint_].astype(object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(idx) | (idx < 0) | (idx >= len(self.combos_))
        safe = np.where(bad, 0.0, np.nan_to_num(idx)).astype(np.int64)
        rows = self.combos_[safe] if len(self.combos_) else None
        data = data.drop(columns=[self.joint_])
        for j, (name, vals, dtype) in enumerate(zip(self.columns(), self.values_, self.dtypes_)):
            pool = np.empty(len(vals) + 1, dtype=object)
            pool[: len(vals)] = vals
            pool[len(vals)] = None
            col = pd.Series(pool[rows[:, j]] if rows is not None else [None] * len(data), index=data.index)
            data[name] = _restore_dtype(col, dtype)
        return data, bad

    def get_state(self) -> dict[str, Any]:
        return {
            **super().get_state(), "values": self.values_, "dtypes": self.dtypes_, "combos": self.combos_,
            "joint": self.joint_,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.values_ = [list(v) for v in state["values"]]
        self.dtypes_ = list(state["dtypes"])
        self.combos_ = np.asarray(state["combos"], dtype=np.int64).reshape(-1, len(self.values_))
        self.joint_ = str(state["joint"])


def _restore_dtype(col: pd.Series, dtype: str) -> pd.Series:
    if dtype == "object":
        return col
    try:
        if dtype.startswith(("int", "uint")) and col.isna().any():
            return col.astype("Int64")
        return col.astype(dtype)
    except (TypeError, ValueError):
        return col


class Unique(OneColumn):
    """A key: every value differs. Keys are made fresh from the row number (never a real one)."""

    kind = "unique"
    allowed_types = ("id", "numerical", "categorical")

    def describe(self) -> str:
        return f"unique: '{self.column}'"

    def prepare(self, data: pd.DataFrame, meta: Metadata, *, min_count: int = 5) -> None:
        col = meta.columns[self.column]
        self.generated_ = col.type == "id"
        self.reparameterize_ = not self.generated_
        s = data[self.column]
        if not isinstance(col, IdColumn):
            integer = bool(pd.api.types.is_integer_dtype(s.dtype)) or bool(
                pd.api.types.is_float_dtype(s.dtype) and np.all(s.dropna() == np.round(s.dropna()))
            )
            col = IdColumn(integer=integer)
        self.encoder_ = IdEncoder(self.column, col).analyze(s)

    @property
    def can_reparameterize(self) -> bool:  # type: ignore[override]
        return not getattr(self, "generated_", True)

    def valid(self, data: pd.DataFrame) -> np.ndarray:
        s = data[self.column]
        return (~s.duplicated(keep=False) | s.isna()).to_numpy()

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        return data.drop(columns=[self.column])

    def model_columns(self, columns: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in columns.items() if k != self.column}

    def assign(self, data: pd.DataFrame, rows: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        keys = self.encoder_.decode(rows).set_axis(data.index)
        if self.column in data.columns:
            missing = data[self.column].isna().to_numpy()
        else:
            missing = rng.random(len(data)) < self.encoder_.missing_rate
        if missing.any():
            keys = keys.astype(object) if keys.dtype.kind in "iub" else keys
            keys[missing] = None
        data[self.column] = keys
        return data

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "generated": self.generated_, "encoder": self.encoder_.get_state()}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.generated_ = bool(state["generated"])
        self.encoder_ = IdEncoder(self.column)
        self.encoder_.set_state(state["encoder"])
