"""Drawing pieces of a database: rows given their parent, fresh keys, links to other parents.

- :func:`sample_given` draws rows of an autoregressive model whose first columns are given row by row
  (a child's rows given its parent's columns): the chain is ``p(context) p(rest | context)``, so setting
  the context and drawing the rest is exact conditional sampling, with no rejection.
- :class:`KeyFormat` makes fresh primary keys of the same type and shape as the real ones (never a copy
  of the real values, which the model does not keep).
- :func:`match_parents` links a child row to a synthetic row of a second parent whose attributes are
  nearest to the ones drawn for that link.
- :func:`unique_keys` makes a composite key unique by redrawing repeated parts from their pool.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulacra.transform.generated import _SHAPE

_ALPHABET = {"d": "0123456789", "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "a": "abcdefghijklmnopqrstuvwxyz"}


def sample_given(model: Any, context: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Rows of a fitted :class:`AutoregressiveSynthesizer`, one per row of ``context``, drawn given it.

    The model's chain must start with the context's columns (fit it with ``order=[...context]``).
    Returns the model's other columns.
    """
    n = len(context)
    chain: list[str] = list(model.chain_)
    given = [c for c in chain if c in context.columns]
    if chain[: len(given)] != given:
        raise RuntimeError("The context columns must come first in the model's chain.")
    features = np.full((n, len(chain)), np.nan, dtype=np.float32)
    values: dict[str, np.ndarray] = {}
    encoders = model.transformer_.encoders
    for j, name in enumerate(chain):
        if name in context.columns:
            x = encoders[name].encode(context[name].reset_index(drop=True))
            if name in model.cells_:
                features[:, j] = model.cells_[name].to_uniform(x, rng)
            else:
                codes = model._n_codes(name)
                features[:, j] = np.where(x < 0, codes, np.minimum(x, codes - 1))
            continue
        values[name], features[:, j] = model._draw(name, features[:, :j], rng)
    for name in model.refine_:
        if name not in context.columns:
            j = chain.index(name)
            values[name], features[:, j] = model._draw(
                name, np.delete(features, j, axis=1), rng, models=model.refined_[name])
    out: dict[str, pd.Series] = {}
    for name, enc in encoders.items():
        if name in context.columns:
            continue
        out[name] = enc.generate(0, n, rng) if enc.representation == "generated" else enc.decode(values[name], rng)
    return pd.DataFrame(out, index=pd.RangeIndex(n))


@dataclass
class KeyFormat:
    """The type and shape of a table's primary key, learned without keeping any key value.

    Integers are numbered from 1; strings keep the prefix every key shares and the mix of shapes
    (``d`` digit, ``A`` upper-case, ``a`` lower-case letter, other characters kept) seen at least
    ``min_count`` times.
    """

    kind: str = "integer"
    prefix: str = ""
    shapes: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)

    @classmethod
    def learn(cls, s: pd.Series, min_count: int = 5) -> KeyFormat:
        values = s.dropna()
        if pd.api.types.is_integer_dtype(values) or pd.api.types.is_float_dtype(values):
            return cls(kind="integer")
        text = values.astype(str).tolist()
        prefix = _common_prefix(text)
        counts = Counter(v[len(prefix):].translate(_SHAPE) for v in text)
        kept = {k: c for k, c in counts.items() if c >= min_count} or dict(counts.most_common(1))
        total = float(sum(kept.values()))
        return cls(kind="string", prefix=prefix, shapes=list(kept), weights=[c / total for c in kept.values()])

    def make(self, n: int, rng: np.random.Generator, avoid: set[Any] | None = None, start: int = 1) -> np.ndarray:
        """``n`` distinct fresh keys, none of them in ``avoid``."""
        avoid = avoid or set()
        if self.kind == "integer":
            top = max([int(v) for v in avoid if isinstance(v, (int, np.integer))], default=start - 1)
            return np.arange(max(top + 1, start), max(top + 1, start) + n, dtype=np.int64)
        out: list[str] = []
        seen = set(avoid)
        extra = 0
        for _ in range(40):
            need = n - len(out)
            if need <= 0:
                break
            picks = rng.choice(len(self.shapes), size=need, p=self.weights)
            for shape_idx in picks:
                value = self.prefix + _fill(self.shapes[shape_idx], rng) + _fill("d" * extra, rng)
                if value not in seen:
                    seen.add(value)
                    out.append(value)
            if n - len(out) > need / 2:  # most draws collided: the shape space is crowded, grow a digit
                extra += 1
        return np.array(out[:n], dtype=object)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fill(shape: str, rng: np.random.Generator) -> str:
    return "".join(_ALPHABET[ch][int(rng.integers(len(_ALPHABET[ch])))] if ch in _ALPHABET else ch for ch in shape)


def _common_prefix(values: list[str]) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    i = 0
    while i < min(len(lo), len(hi)) and lo[i] == hi[i] and not lo[i].isdigit():
        i += 1
    return lo[:i]


def attribute_matrix(frame: pd.DataFrame, columns: list[str], reference: pd.DataFrame) -> np.ndarray:
    """Numbers for nearest-neighbour matching: numeric columns scaled by the reference's spread,
    categorical ones one-hot over the reference's values."""
    parts = []
    for col in columns:
        ref = reference[col]
        s = frame[col]
        if pd.api.types.is_numeric_dtype(ref) and not pd.api.types.is_bool_dtype(ref):
            r = pd.to_numeric(ref, errors="coerce")
            mid, spread = float(r.median()) if r.notna().any() else 0.0, float(r.std()) if r.notna().sum() > 1 else 1.0
            x = (pd.to_numeric(s, errors="coerce").to_numpy(dtype=float) - mid) / (spread or 1.0)
            parts.append(np.nan_to_num(x, nan=0.0)[:, None])
        else:
            levels = pd.Index(ref.astype(str).unique())
            codes = levels.get_indexer(s.astype(str))
            onehot = np.zeros((len(s), len(levels) + 1))
            onehot[np.arange(len(s)), np.where(codes < 0, len(levels), codes)] = 1.0
            parts.append(onehot)
    return np.hstack(parts) if parts else np.zeros((len(frame), 1))


def match_parents(child_attrs: np.ndarray, parent_attrs: np.ndarray, weights: np.ndarray,
                  rng: np.random.Generator, k: int | None = None) -> np.ndarray:
    """For each child row, the index of a parent row among its ``k`` nearest, drawn by ``weights``.

    By default ``k`` is 5, fewer for a small parent table (one per 50 rows, at least 1): among a dozen
    airlines the nearest is the one meant, among thousands of planes several are alike.
    """
    from sklearn.neighbors import NearestNeighbors

    k = max(1, min(k or max(1, min(5, len(parent_attrs) // 50)), len(parent_attrs)))
    index = NearestNeighbors(n_neighbors=k).fit(parent_attrs)
    _, near = index.kneighbors(child_attrs)
    w = np.asarray(weights, dtype=float)[near] + 1e-3
    w /= w.sum(axis=1, keepdims=True)
    pick = (w.cumsum(axis=1) < rng.random((len(near), 1))).sum(axis=1)
    return near[np.arange(len(near)), np.minimum(pick, k - 1)]


def unique_keys(table: pd.DataFrame, key: list[str], pools: dict[str, list[Any]],
                rng: np.random.Generator) -> np.ndarray:
    """Rows to keep so that ``key`` is unique.

    ``pools`` holds the distinct real combinations of the key's data columns (aligned lists); a row
    whose key repeats gets a combination not yet used in its group (rows equal on the key's other
    columns). Rows that cannot get a free combination (a group larger than the pool) are left out.
    """
    free = [c for c in key if c in pools]
    if not free or not table[key].duplicated().any():
        return np.ones(len(table), dtype=bool)
    groups = [c for c in key if c not in pools]
    pool = pd.DataFrame({c: pool_values(table[c], pools[c]) for c in free})
    for _ in range(8):  # cheap random redraws settle most repeats
        dup = table[key].duplicated().to_numpy()
        if not dup.any():
            return np.ones(len(table), dtype=bool)
        picks = pool.iloc[rng.integers(len(pool), size=int(dup.sum()))]
        for c in free:
            table.loc[dup, c] = picks[c].to_numpy()
    keep = np.ones(len(table), dtype=bool)
    grouped = table.groupby(groups, dropna=False, sort=False).indices if groups else {(): np.arange(len(table))}
    combos = pd.MultiIndex.from_frame(pool)
    for rows in grouped.values():
        part = table.iloc[rows]
        dup = part[free].duplicated().to_numpy()
        if not dup.any():
            continue
        unused = pool[~combos.isin(pd.MultiIndex.from_frame(part[free][~dup]))]
        take = min(len(unused), int(dup.sum()))
        targets = rows[dup]
        if take:
            chosen = unused.iloc[rng.choice(len(unused), size=take, replace=False)]
            for c in free:
                table.iloc[targets[:take], table.columns.get_loc(c)] = chosen[c].to_numpy()
        keep[targets[take:]] = False
    return keep


def pool_values(column: pd.Series, pool: list[Any]) -> np.ndarray:
    """The pool's values in the synthetic column's type (a time pool saved as text, a datetime column)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = pd.to_datetime(pd.Series(pool), errors="coerce", utc=True, format="mixed")
        tz = getattr(column.dtype, "tz", None)
        return (parsed.dt.tz_convert(tz) if tz is not None else parsed.dt.tz_convert(None)).astype(column.dtype).to_numpy()
    if pd.api.types.is_numeric_dtype(column):
        return pd.to_numeric(pd.Series(pool), errors="coerce").to_numpy()
    return np.asarray(pool, dtype=object)
