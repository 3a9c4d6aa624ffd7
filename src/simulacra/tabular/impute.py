"""Filling the missing cells of a real table consistently with a fitted model.

Gaussian models (copula, mixture) draw the missing scores of each row from their conditional
distribution given the row's observed scores, one linear solve per missingness pattern. Other models
use :func:`neighbors_impute`: the missing cells of a row are copied from one of the nearest rows,
on the observed columns, among rows the model samples. Observed cells are never changed.
"""

from __future__ import annotations

from collections.abc import Callable

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import multivariate_normal

from simulacra.tabular.scores import decode_scores, observed_scores
from simulacra.metadata.temporal import datetime_seconds, timedelta_seconds
from simulacra.transform import RARE_TOKEN
from simulacra.transform.numerical import to_numbers

if TYPE_CHECKING:
    from simulacra.tabular.base import BaseSynthesizer

#: Rows the model samples as donors for :func:`neighbors_impute` (at most).
POOL_ROWS = 20000
NEIGHBORS = 10


def mixture_impute(
    model: Any, data: pd.DataFrame, rng: np.random.Generator, weights: np.ndarray, means: np.ndarray,
    covs: np.ndarray,
) -> pd.DataFrame:
    """Impute with a Gaussian mixture over the model's normal scores (one component for a copula)."""
    dims = model.dims_
    z = observed_scores(model.transformer_, model.marginals_, dims, data, rng)
    value = [j for j, (_, part) in enumerate(dims) if part == "value"]
    z[:, [j for j in range(len(dims)) if j not in set(value)]] = 8.0  # "present" on missing-dimensions
    miss = ~np.isfinite(z[:, value])
    patterns, inverse = np.unique(miss, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for p, pattern in enumerate(patterns):
        if not pattern.any():
            continue
        rows = np.flatnonzero(inverse == p)
        m_dims = [value[i] for i in np.flatnonzero(pattern)]
        o_dims = [value[i] for i in np.flatnonzero(~pattern)]
        z[np.ix_(rows, np.asarray(m_dims, dtype=np.int64))] = _draw_missing(z[np.ix_(rows, np.asarray(o_dims, dtype=np.int64))], o_dims, m_dims, weights, means, covs, rng)
    return decode_scores(model.transformer_, model.marginals_, dims, z, rng, 0)


def _draw_missing(
    zo: np.ndarray, o: list[int], m: list[int], weights: np.ndarray, means: np.ndarray, covs: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    n, k = len(zo), len(weights)
    logp = np.tile(np.log(np.maximum(weights, 1e-300)), (n, 1))
    if o and k > 1:
        for c in range(k):
            logp[:, c] += multivariate_normal(means[c, o], covs[c][np.ix_(o, o)], allow_singular=True).logpdf(zo)
    prob = np.exp(logp - logp.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    comp = (prob.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1).clip(0, k - 1)
    out = np.empty((n, len(m)))
    for c in np.unique(comp):
        r = comp == c
        s_mm = covs[c][np.ix_(m, m)]
        mean = np.tile(means[c, m], (int(r.sum()), 1))
        if o:
            s_oo = covs[c][np.ix_(o, o)] + 1e-9 * np.eye(len(o))
            w = np.linalg.solve(s_oo, covs[c][np.ix_(o, m)])
            mean = mean + (zo[r] - means[c, o]) @ w
            s_mm = s_mm - covs[c][np.ix_(m, o)] @ w
        vals, vecs = np.linalg.eigh((s_mm + s_mm.T) / 2)
        root = vecs * np.sqrt(np.maximum(vals, 0.0))
        out[r] = mean + rng.standard_normal((int(r.sum()), len(m))) @ root.T
    return out


def _features(pool: pd.Series, rows: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind in ("numerical", "datetime", "timedelta"):
        convert: dict[str, Callable[[pd.Series], np.ndarray]] = {
            "numerical": to_numbers, "datetime": datetime_seconds, "timedelta": timedelta_seconds}
        conv = convert[kind]
        p, r = np.asarray(conv(pool), dtype=float), np.asarray(conv(rows), dtype=float)
        mu = float(np.nanmean(p)) if np.isfinite(p).any() else 0.0
        sd = float(np.nanstd(p)) if np.isfinite(p).any() else 1.0
        sd = sd if sd > 0 else 1.0
        return np.nan_to_num((p - mu) / sd)[:, None], np.nan_to_num((r - mu) / sd)[:, None]
    ps, rs = pool.astype(str), rows.astype(str)
    cats = ps.value_counts().index[:30]
    return (
        (ps.to_numpy()[:, None] == cats.to_numpy()[None, :]).astype(float),
        (rs.to_numpy()[:, None] == cats.to_numpy()[None, :]).astype(float),
    )


def copula_impute(model: Any, data: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame | None:
    """Impute with a Gaussian copula: the conditional normal of the missing scores given the observed."""
    latent = getattr(model, "latent_", None)
    if latent is not None:
        if latent.corr_ is None:
            return None  # a factor model of a very wide table: use the generic fallback
        corr = latent.corr_
    else:
        corr = getattr(model, "correlation_", None)
        if corr is None:
            return None
    d = len(model.dims_)
    return mixture_impute(model, data, rng, np.ones(1), np.zeros((1, d)), np.asarray(corr).reshape(1, d, d))


#: Native imputation of models that do not define ``_impute`` themselves, by short name.
NATIVE = {"copula": copula_impute}


def neighbors_impute(model: BaseSynthesizer, data: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Copy each row's missing cells from a random one of its nearest sampled rows (observed columns)."""
    from sklearn.neighbors import NearestNeighbors

    meta = model.metadata_
    size = int(min(POOL_ROWS, max(2000, 20 * len(data))))
    pool = model.sample(size, random_state=int(rng.integers(0, 2**62)))
    kinds = {c: meta.columns[c].type for c in data.columns if c in meta.columns}
    usable = [c for c, k in kinds.items() if k not in ("id", "text")]
    rare = np.zeros(len(pool), dtype=bool)
    for c in usable:
        if pool[c].dtype == object:
            rare |= (pool[c] == RARE_TOKEN).to_numpy()
    if (~rare).sum() >= NEIGHBORS:
        pool = pool[~rare].reset_index(drop=True)
    holes = data[usable].isna().to_numpy()
    patterns, inverse = np.unique(holes, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    donors = np.zeros(len(data), dtype=np.int64)
    for p, pattern in enumerate(patterns):
        rows = np.flatnonzero(inverse == p)
        observed = [c for c, h in zip(usable, pattern) if not h]
        if not pattern.any():
            continue
        wanted = [c for c, h in zip(usable, pattern) if h]
        candidates = np.flatnonzero(pool[wanted].notna().all(axis=1).to_numpy())
        if candidates.size == 0:  # the model never fills these columns together: keep its own holes
            candidates = np.arange(len(pool))
        if not observed:
            donors[rows] = candidates[rng.integers(0, candidates.size, rows.size)]
            continue
        sub = pool.iloc[candidates]
        parts = [_features(sub[c], data[c].iloc[rows], kinds[c]) for c in observed]
        x_pool = np.hstack([a for a, _ in parts])
        x_rows = np.hstack([b for _, b in parts])
        k = min(NEIGHBORS, len(sub))
        _, idx = NearestNeighbors(n_neighbors=k).fit(x_pool).kneighbors(x_rows)
        donors[rows] = candidates[idx[np.arange(rows.size), rng.integers(0, k, rows.size)]]
    return pool.iloc[donors].reset_index(drop=True)
