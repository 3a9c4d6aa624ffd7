"""Vectorized statistics shared by the metrics: KS, total variation, correlations, intervals."""

from __future__ import annotations

import warnings

import numpy as np

Z95 = 1.959963984540054


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (missing values dropped); NaN if a side is empty.

    Examples
    --------
    >>> ks_statistic(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    0.0
    """
    a = np.sort(a[~np.isnan(a)])
    b = np.sort(b[~np.isnan(b)])
    if a.size == 0 or b.size == 0:
        return float("nan")
    return ks_sorted(a, b)


def ks_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """KS statistic of two sorted, non-empty arrays without missing values.

    The gap between the two empirical CDFs is largest at a data point; it is evaluated at the
    distinct values only (the ends of runs of ties), found by merging the two sorted arrays.
    """
    grid = np.concatenate([a, b])
    grid.sort(kind="mergesort")
    last = np.r_[grid[1:] != grid[:-1], True]
    grid = grid[last]
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def frequencies(codes: np.ndarray, n_labels: int) -> np.ndarray:
    """Share of each label among the non-missing codes (code -1 is missing)."""
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=n_labels).astype(float)
    return counts / max(present.size, 1)


def tv_complement(a: np.ndarray, b: np.ndarray, n_labels: int) -> float:
    """1 - total variation distance between the label distributions of two code arrays."""
    if not (a >= 0).any() or not (b >= 0).any():
        return float("nan")
    return float(1.0 - 0.5 * np.abs(frequencies(a, n_labels) - frequencies(b, n_labels)).sum())


def pairwise_pearson(x: np.ndarray) -> np.ndarray:
    """Pearson correlation of every pair of columns of ``x`` over the rows where both are present."""
    mask = ~np.isnan(x)
    if mask.all():
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # one row: no correlation (NaN), said once
            return np.corrcoef(x, rowvar=False).reshape(x.shape[1], x.shape[1])
    mean = np.nanmean(np.where(mask.any(axis=0), x, 0.0), axis=0)
    std = np.nanstd(np.where(mask.any(axis=0), x, 0.0), axis=0)
    std[~(std > 0)] = 1.0
    z = np.where(mask, (x - mean) / std, 0.0)
    m = mask.astype(float)
    n = m.T @ m
    s = z.T @ m  # s[i, j]: sum of column i over rows where j is present too
    ss = (z * z).T @ m
    cross = z.T @ z
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = cross - s * s.T / n
        var_i = ss - s * s / n
        corr = cov / np.sqrt(var_i * var_i.T)
    corr[n < 2] = np.nan
    return np.clip(corr, -1.0, 1.0)


def cramers_v(cells: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Cramér's V of a contingency table given as its non-zero cells (counts with row/column ids).

    Rows and columns without counts do not exist in the table; V is NaN for a table with fewer
    than two rows or columns.
    """
    _, r = np.unique(rows, return_inverse=True)
    _, c = np.unique(cols, return_inverse=True)
    n_r, n_c = int(r.max()) + 1, int(c.max()) + 1
    if min(n_r, n_c) < 2:
        return float("nan")
    total = cells.sum()
    row_tot = np.bincount(r, weights=cells, minlength=n_r)
    col_tot = np.bincount(c, weights=cells, minlength=n_c)
    chi2 = total * (np.sum(cells * cells / (row_tot[r] * col_tot[c])) - 1.0)
    return float(np.sqrt(max(chi2, 0.0) / total / (min(n_r, n_c) - 1)))


def wilson_interval(successes: float, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion.

    Examples
    --------
    >>> lo, hi = wilson_interval(50, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.404, 0.596)
    """
    if n <= 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def auc_interval(auc: float, n_pos: int, n_neg: int) -> tuple[float, float]:
    """95% interval of a ROC AUC from the Hanley-McNeil standard error."""
    if n_pos <= 0 or n_neg <= 0 or not np.isfinite(auc):
        return (float("nan"), float("nan"))
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    half = Z95 * np.sqrt(max(var, 0.0))
    return (float(max(0.0, auc - half)), float(min(1.0, auc + half)))


def rank_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of ``scores`` for binary ``labels`` (ties count half), by ranks."""
    from scipy.stats import rankdata

    pos = labels.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
