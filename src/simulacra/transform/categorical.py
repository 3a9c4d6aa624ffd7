"""Labels from a finite set: frequency tables with rare-category protection, and booleans."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata.columns import BooleanColumn, CategoricalColumn
from simulacra.metadata.validate import BOOL_WORDS
from simulacra.transform.base import Encoder

#: The label that stands in for every category seen fewer than ``min_count`` times (string columns).
RARE_TOKEN = "<rare>"


def _native(values: np.ndarray) -> list[Any]:
    """Python scalars (JSON-able) from a numpy or pandas array."""
    return [v.item() if hasattr(v, "item") else v for v in values]


class CategoricalEncoder(Encoder):
    """Integer codes in order of frequency (most frequent first); missing is -1.

    A category seen in fewer than ``min_count`` rows is never reproduced verbatim: in a column of
    strings all such categories share the code of :data:`RARE_TOKEN`; in other columns their share is
    spread over the kept categories. ``min_count=1`` (or 0) keeps every category.
    """

    kind = "categorical"
    representation = "discrete"

    def __init__(self, name: str, column: CategoricalColumn | None = None, *, min_count: int = 5) -> None:
        super().__init__(name)
        self.column = column or CategoricalColumn()
        self.min_count = min_count

    def analyze(self, series: pd.Series) -> CategoricalEncoder:
        non_null = series.dropna()
        counts = non_null.value_counts(sort=True)
        if self.column.categories is not None:
            counts = counts[counts.index.isin(self.column.categories)]
        keep = counts[counts >= max(self.min_count, 1)]
        rare = counts[counts < max(self.min_count, 1)]
        is_text = bool(len(counts)) and all(isinstance(v, str) for v in counts.index[:100])
        use_token = bool(len(rare)) and is_text
        freqs = keep.to_numpy(dtype=float)
        if use_token:
            freqs = np.append(freqs, float(rare.sum()))
        total = freqs.sum()
        probs = (freqs / total) if total > 0 else freqs
        dtype = str(series.dtype)
        self.stats_ = {
            "missing_rate": float(series.isna().mean()) if len(series) else 0.0,
            "categories": _native(keep.index.to_numpy()),
            "rare_token": RARE_TOKEN if use_token else None,
            "n_rare_categories": int(len(rare)),
            "probabilities": probs.tolist(),
            "dtype": dtype,
            "ordered": bool(getattr(series.dtype, "ordered", False)),
        }
        return self

    @property
    def labels(self) -> list[Any]:
        cats = list(self.stats_["categories"])
        if self.stats_.get("rare_token"):
            cats.append(self.stats_["rare_token"])
        return cats

    @property
    def n_codes(self) -> int:
        return len(self.stats_["probabilities"])

    def encode(self, series: pd.Series) -> np.ndarray:
        cats = self.stats_["categories"]
        codes = pd.Categorical(series, categories=pd.Index(cats, dtype=object) if cats else None).codes
        codes = np.asarray(codes, dtype=np.int64)
        unknown = (codes < 0) & series.notna().to_numpy()
        if unknown.any():
            # rare or unseen labels: the rare code when there is one, else the most frequent code
            codes[unknown] = len(cats) if self.stats_.get("rare_token") else 0
        if not cats and not self.stats_.get("rare_token"):
            codes[:] = -1
        return codes

    def decode(self, values: np.ndarray, rng: np.random.Generator | None = None) -> pd.Series:
        codes = np.asarray(values, dtype=np.int64)
        labels = self.labels
        dtype = self.stats_.get("dtype", "object")
        if dtype == "category":
            cat = pd.Categorical.from_codes(
                np.where(codes < len(labels), codes, -1), categories=pd.Index(labels, dtype=object)
                if labels else pd.Index([], dtype=object),
                ordered=self.stats_.get("ordered", False),
            )
            return pd.Series(cat, name=self.name)
        pool = np.empty(len(labels) + 1, dtype=object)
        pool[: len(labels)] = labels
        pool[len(labels)] = np.nan
        out = pool[np.where(codes < 0, len(labels), codes)] if (codes < 0).any() else pool[codes]
        series = pd.Series(out, name=self.name, dtype=object)
        if dtype.startswith(("int", "float", "Int", "UInt")) and not self.stats_.get("rare_token"):
            numeric = pd.to_numeric(series)
            if dtype.startswith(("int", "uint")) and numeric.isna().any():
                dtype = "Int64"
            try:
                return numeric.astype(dtype)
            except (TypeError, ValueError):
                return numeric
        if dtype in ("string", "str"):
            return series.astype("string")
        return series


class BooleanEncoder(Encoder):
    """True/False as codes 0/1; missing is -1."""

    kind = "boolean"
    representation = "discrete"

    def __init__(self, name: str, column: BooleanColumn | None = None) -> None:
        super().__init__(name)
        self.column = column or BooleanColumn()

    @staticmethod
    def _codes(series: pd.Series) -> np.ndarray:
        if pd.api.types.is_bool_dtype(series.dtype):
            arr = series.to_numpy(dtype=object)
        else:
            arr = series.to_numpy(dtype=object)
        out = np.full(len(arr), -1, dtype=np.int64)
        missing = pd.isna(series).to_numpy()
        for i in np.flatnonzero(~missing):
            v = arr[i]
            val = bool(v) if isinstance(v, (bool, np.bool_)) else BOOL_WORDS.get(str(v).strip().lower())
            if val is not None:
                out[i] = int(val)
        return out

    def analyze(self, series: pd.Series) -> BooleanEncoder:
        codes = self.encode(series)
        valid = codes[codes >= 0]
        p_true = float(valid.mean()) if valid.size else 0.5
        self.stats_ = {
            "missing_rate": float(np.mean(codes < 0)) if codes.size else 0.0,
            "probabilities": [1.0 - p_true, p_true],
            "dtype": str(series.dtype),
        }
        return self

    @property
    def n_codes(self) -> int:
        return 2

    def encode(self, series: pd.Series) -> np.ndarray:
        if pd.api.types.is_bool_dtype(series.dtype) and not series.isna().any():
            return series.to_numpy(dtype=np.int64)
        return self._codes(series)

    def decode(self, values: np.ndarray, rng: np.random.Generator | None = None) -> pd.Series:
        codes = np.asarray(values, dtype=np.int64)
        if (codes < 0).any():
            arr = pd.array(codes == 1, dtype="boolean")
            arr[codes < 0] = pd.NA
            return pd.Series(arr, name=self.name)
        return pd.Series(codes == 1, name=self.name)
