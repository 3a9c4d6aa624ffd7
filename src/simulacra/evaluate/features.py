"""Feature matrices for the models (gradient boosting) and the nearest-neighbour searches.

The one place where tables become model features: the evaluation's metrics use :func:`model_matrix` on
their shared encodings; models trained on one table and applied to another (the augmentation's
downstream models and class-consistency filter) use :class:`ModelFeatures`. Both keep the same labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simulacra.evaluate.coerce import as_float, shared_codes
from simulacra.evaluate.context import CONTINUOUS, DISCRETE, EvalContext

#: Categorical columns with more labels than this keep only their most frequent ones (others -> one code).
MAX_MODEL_LABELS = 250
#: Categorical columns up to this many labels are one-hot encoded for distances; more use frequencies.
MAX_ONEHOT = 30


def model_columns(ctx: EvalContext, exclude: tuple[str, ...] = ()) -> list[str]:
    """Columns a model can use (not id or text), minus ``exclude``."""
    return [c for c, t in ctx.types.items() if t in CONTINUOUS + DISCRETE and c not in exclude]


#: Largest magnitude given to the models (they bin in float32): larger values and infinities become it.
F32_MAX = float(np.finfo(np.float32).max) / 2
#: Largest distance feature, in IQRs from the real median (keeps float32 distances finite).
MAX_Z = 1e6


def top_labels(counts: np.ndarray) -> np.ndarray:
    """Indices of the labels a model keeps: the :data:`MAX_MODEL_LABELS` most frequent (ties: first seen).

    Gradient boosting takes at most 255 categories per feature: the kept labels get codes 0, 1, ...,
    every other label one shared code after them, and missing values stay NaN.

    Examples
    --------
    >>> top_labels(np.array([3, 9, 0, 9])).tolist()
    [1, 3, 0, 2]
    """
    return np.argsort(-np.asarray(counts), kind="stable")[:MAX_MODEL_LABELS]


def _label_remap(counts: np.ndarray) -> np.ndarray:
    """Label code -> model code (own code for kept labels, one code for the rest); the extra last entry
    (picked by code -1, missing) is NaN."""
    keep = top_labels(counts)
    remap = np.full(len(counts) + 1, np.nan)
    remap[:-1] = len(keep)
    remap[keep] = np.arange(len(keep))
    return remap


def model_matrix(
    ctx: EvalContext, cols: list[str], rows: dict[str, np.ndarray | None]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Float matrices by role for gradient boosting, and the mask of categorical features.

    Numerical and datetime columns are floats (NaN kept: the model handles it); categorical and
    boolean columns are label codes (the most frequent 250 labels of the real table, others one code).
    """
    mats: dict[str, list[np.ndarray]] = {role: [] for role in rows}
    is_cat = []
    for col in cols:
        if ctx.types[col] in CONTINUOUS:
            # the models work in float32: larger values and infinities become its extremes (order kept)
            values = {role: np.clip(v, -F32_MAX, F32_MAX) for role, v in ctx.floats(col).items()}
            is_cat.append(False)
        else:
            codes, labels = ctx.codes(col)
            real = codes["real"]
            remap = _label_remap(np.bincount(real[real >= 0], minlength=len(labels)))
            values = {role: remap[codes[role]] for role in rows}  # code -1 picks the last entry: NaN
            is_cat.append(True)
        for role, idx in rows.items():
            v = values[role]
            mats[role].append(v if idx is None else v[idx])
    out = {role: np.column_stack(m) if m else np.empty((0, 0)) for role, m in mats.items()}
    return out, np.array(is_cat, dtype=bool)


def informative(x: np.ndarray, is_cat: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """``x``, ``is_cat`` and ``others`` without the feature columns that are missing in every row of ``x``
    (a model cannot bin them; they carry nothing to learn from)."""
    keep = ~np.isnan(x).all(axis=0) if x.size else np.ones(x.shape[1], bool)
    if keep.all():
        return (x, is_cat, *others)
    return (x[:, keep], is_cat[keep], *(o[:, keep] for o in others))


class ModelFeatures:
    """Columns as the float matrix gradient boosting takes, fitted on one table and applied to any other.

    Numerical and datetime columns become floats (datetimes in seconds since the epoch; missing stays NaN for
    the model to handle). Categorical and boolean columns become label codes, the same as in
    :func:`model_matrix`: the most frequent :data:`MAX_MODEL_LABELS` labels of the fitted table get their
    own code, any other label (rare, or never seen in fitting) one shared code, missing NaN.

    Parameters
    ----------
    types
        Semantic type of each feature column, in order (numerical, datetime, categorical, boolean).
    formats
        strftime formats of datetime columns stored as strings (None: parsed as given).

    Examples
    --------
    >>> df = pd.DataFrame({"n": [1.0, 2.0, None], "c": ["a", "b", "a"]})
    >>> f = ModelFeatures({"n": "numerical", "c": "categorical"}).fit(df)
    >>> f.transform(pd.DataFrame({"n": [5], "c": ["z"]})).tolist(), f.is_categorical.tolist()
    ([[5.0, 2.0]], [False, True])
    """

    def __init__(self, types: Mapping[str, str], formats: Mapping[str, str | None] | None = None) -> None:
        self.types = dict(types)
        self.formats = dict(formats or {})

    @classmethod
    def detect(cls, data: pd.DataFrame, exclude: Sequence[str] = ()) -> ModelFeatures:
        """Features for every column of ``data`` a model can use (types detected; id and text columns and
        ``exclude`` left out)."""
        from simulacra.metadata import Metadata

        meta = Metadata.detect(data)
        types = {c: col.type for c, col in meta.columns.items() if col.type in CONTINUOUS + DISCRETE and c not in exclude}
        return cls(types, {c: getattr(meta.columns[c], "format", None) for c, t in types.items() if t == "datetime"})

    @property
    def columns(self) -> list[str]:
        """The feature columns, in matrix order."""
        return list(self.types)

    @property
    def is_categorical(self) -> np.ndarray:
        """Mask of the categorical (label-coded) features, for ``categorical_features=``."""
        return np.array([t not in CONTINUOUS for t in self.types.values()], dtype=bool)

    def fit(self, data: pd.DataFrame) -> ModelFeatures:
        """Learn the kept labels of each categorical column from ``data``."""
        self.labels_: dict[str, pd.Index] = {}
        for col, stype in self.types.items():
            if stype not in CONTINUOUS:
                codes, labels = shared_codes({"fit": data[col]})
                counts = np.bincount(codes["fit"][codes["fit"] >= 0], minlength=len(labels))
                self.labels_[col] = pd.Index(labels[top_labels(counts)], dtype=object)
        return self

    def transform(self, data: pd.DataFrame) -> np.ndarray:
        """The float matrix of ``data`` (one row per row, one column per feature)."""
        if not hasattr(self, "labels_"):
            from simulacra.errors import NotFittedError

            raise NotFittedError("ModelFeatures is not fitted; call fit(table) first.")
        out = np.empty((len(data), len(self.types)))
        for j, (col, stype) in enumerate(self.types.items()):
            if stype in CONTINUOUS:
                out[:, j] = np.clip(as_float(data[col], stype, self.formats.get(col)), -F32_MAX, F32_MAX)
                continue
            values: Any = data[col].astype(object)
            kept = self.labels_[col]
            code = kept.get_indexer(values).astype(float)
            code[code < 0] = len(kept)  # a label not kept: the shared code of the rest
            code[pd.isna(values).to_numpy()] = np.nan
            out[:, j] = code
        return out


def distance_matrix(
    ctx: EvalContext, cols: list[str], rows: dict[str, np.ndarray | None]
) -> dict[str, np.ndarray]:
    """Float32 matrices by role for Euclidean nearest neighbours, scaled on the real table.

    Numerical/datetime columns: (x − median) / IQR of the real column (std when the IQR is 0),
    missing values at the median plus a 0/1 missing indicator; categorical/boolean columns: one-hot
    scaled by 1/√2 (a different label costs 1, like one IQR), or the label's real frequency for
    columns with more than 30 labels.
    """
    blocks: dict[str, list[np.ndarray]] = {role: [] for role in rows}
    for col in cols:
        if ctx.types[col] in CONTINUOUS:
            values = ctx.floats(col)
            real = values["real"][np.isfinite(values["real"])]
            med = float(np.median(real)) if real.size else 0.0
            q1, q3 = np.quantile(real, [0.25, 0.75]) if real.size else (0.0, 1.0)
            scale = float(q3 - q1) or float(np.std(real)) or 1.0
            has_nan = any(np.isnan(values[r]).any() for r in rows)
            for role, idx in rows.items():
                v = values[role] if idx is None else values[role][idx]
                z = (v - med) / scale
                # a million IQRs away is as far as anything needs to be (and keeps float32 distances finite)
                blocks[role].append(np.clip(np.nan_to_num(z, nan=0.0), -MAX_Z, MAX_Z)[:, None])
                if has_nan:
                    blocks[role].append(np.isnan(v).astype(float)[:, None])
        else:
            codes, labels = ctx.codes(col)
            n = len(labels)
            if n <= MAX_ONEHOT:
                eye = np.eye(n + 1) / np.sqrt(2.0)
            else:
                real = codes["real"]
                freq = np.bincount(real[real >= 0], minlength=n) / max((real >= 0).sum(), 1)
                eye = np.append(freq / (freq.std() or 1.0), -1.0)[:, None]
            for role, idx in rows.items():
                c = codes[role] if idx is None else codes[role][idx]
                blocks[role].append(eye[np.where(c < 0, n, c)])
    return {role: np.hstack(b).astype(np.float32) for role, b in blocks.items()}


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: a fast, well-spread 64-bit mixing of integers."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_hashes(parts: list[np.ndarray]) -> np.ndarray:
    """A 64-bit hash of each row from its columns' values (float views or integer codes).

    Equal rows get equal hashes; NaN equals NaN and 0.0 equals -0.0.
    """
    n = len(parts[0]) if parts else 0
    h = np.full(n, 0x9E3779B97F4A7C15, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, values in enumerate(parts):
            if values.dtype.kind == "f":
                v = np.where(np.isnan(values), np.nan, values + 0.0).view(np.uint64)
            else:
                v = values.astype(np.int64).view(np.uint64)
            h = _mix(h ^ _mix(v + np.uint64(i + 1)))
    return h


def is_in(keys: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Whether each key occurs in ``reference`` (hash-based)."""
    return pd.Index(reference).unique().get_indexer(keys) >= 0
