"""A zero-mean, unit-variance Gaussian over latent normal scores: dense, or low-rank for wide tables."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Above this many latent dimensions the correlation is kept as a factor model (memory O(d·k)).
DENSE_MAX_DIMS = 1500
#: Number of factors of the low-rank model.
MAX_FACTORS = 50


def correlation_with_missing(z: np.ndarray) -> np.ndarray:
    """Pairwise-complete correlation of standard-normal scores (NaN = missing), zero mean assumed."""
    mask = np.isfinite(z)
    z0 = np.where(mask, z, 0.0)
    cross = z0.T @ z0
    sq = (z0 * z0).T @ mask.astype(float)  # sq[i, j] = sum of z_i^2 over rows where j is present too
    denom = np.sqrt(sq * sq.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(denom > 0, cross / denom, 0.0)
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def nearest_correlation(corr: np.ndarray, floor: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """A positive-definite correlation matrix near ``corr`` and its Cholesky factor."""
    corr = (corr + corr.T) / 2.0
    eye = np.eye(len(corr))
    try:
        return corr, np.linalg.cholesky(corr + floor * eye)
    except np.linalg.LinAlgError:
        pass
    vals, vecs = np.linalg.eigh(corr)
    fixed = (vecs * np.maximum(vals, floor)) @ vecs.T
    d = np.sqrt(np.diag(fixed))
    fixed = fixed / np.outer(d, d)
    np.fill_diagonal(fixed, 1.0)
    return fixed, np.linalg.cholesky(fixed + floor * eye)


class LatentGaussian:
    """Correlation structure of latent scores.

    Dense (full correlation matrix and Cholesky factor) up to :data:`DENSE_MAX_DIMS` dimensions; above,
    a factor model ``L Lᵀ + diag(ψ)`` with at most :data:`MAX_FACTORS` factors, so a table with ten
    thousand columns fits in memory and time. Fitted attributes end in ``_`` (``corr_``, ``chol_`` or
    ``loadings_`` and ``uniqueness_``).
    """

    def __init__(self) -> None:
        self.dims_ = 0
        self.corr_: np.ndarray | None = None
        self.chol_: np.ndarray | None = None
        self.loadings_: np.ndarray | None = None
        self.uniqueness_: np.ndarray | None = None

    def fit(self, z: np.ndarray) -> LatentGaussian:
        n, d = z.shape
        self.dims_ = d
        if d == 0:
            self.corr_ = self.chol_ = np.zeros((0, 0))
            return self
        if d <= DENSE_MAX_DIMS:
            corr = correlation_with_missing(z)
            if n < d + 2:
                corr = 0.5 * corr + 0.5 * np.eye(d)  # shrink when rows are too few to trust it
            self.corr_, self.chol_ = nearest_correlation(corr)
            return self
        z0 = np.where(np.isfinite(z), z, 0.0)
        if n > 5000:
            z0 = z0[np.random.default_rng(0).choice(n, 5000, replace=False)]
        _, s, vt = np.linalg.svd(z0, full_matrices=False)
        k = max(1, min(MAX_FACTORS, len(z0) - 1, d))
        loadings = (vt[:k].T * s[:k]) / np.sqrt(len(z0))
        psi = np.clip(1.0 - np.sum(loadings**2, axis=1), 0.05, 1.0)
        scale = np.sqrt(np.sum(loadings**2, axis=1) + psi)
        self.loadings_, self.uniqueness_ = loadings / scale[:, None], psi / scale**2
        return self

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws as a ``(dims, n)`` array: one contiguous row per dimension."""
        if self.dims_ == 0:
            return np.zeros((0, n))
        if self.chol_ is not None:
            return self.chol_ @ rng.standard_normal((self.dims_, n))
        assert self.loadings_ is not None and self.uniqueness_ is not None
        g = rng.standard_normal((self.loadings_.shape[1], n))
        noise = rng.standard_normal((self.dims_, n))
        noise *= np.sqrt(self.uniqueness_)[:, None]
        return self.loadings_ @ g + noise

    def block(self, rows: list[int], cols: list[int]) -> np.ndarray:
        """The correlation sub-matrix ``[rows, cols]``."""
        if self.corr_ is not None:
            return self.corr_[np.ix_(rows, cols)]
        assert self.loadings_ is not None and self.uniqueness_ is not None
        out = self.loadings_[rows] @ self.loadings_[cols].T
        same = np.equal.outer(np.asarray(rows), np.asarray(cols))
        out[same] += np.broadcast_to(self.uniqueness_[rows][:, None], out.shape)[same]
        return out

    def pairs(self) -> np.ndarray:
        """The full correlation matrix (only for inspection of small models)."""
        return self.corr_ if self.corr_ is not None else self.block(list(range(self.dims_)), list(range(self.dims_)))

    def get_state(self) -> dict[str, Any]:
        if self.corr_ is not None:
            return {"kind": "dense", "correlation": self.corr_}
        return {"kind": "factor", "loadings": self.loadings_, "uniqueness": self.uniqueness_}

    @classmethod
    def from_state(cls, state: dict[str, Any], dims: int) -> LatentGaussian:
        obj = cls()
        obj.dims_ = dims
        if state["kind"] == "dense":
            corr = np.asarray(state["correlation"], dtype=float).reshape(dims, dims)
            obj.corr_, obj.chol_ = nearest_correlation(corr) if dims else (corr, corr)
        else:
            obj.loadings_ = np.asarray(state["loadings"], dtype=float)
            obj.uniqueness_ = np.asarray(state["uniqueness"], dtype=float)
        return obj
