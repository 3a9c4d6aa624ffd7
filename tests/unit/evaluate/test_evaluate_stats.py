"""The vectorized statistics agree with their reference implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from scipy.stats.contingency import association

from simulacra.evaluate.stats import auc_interval, cramers_v, ks_statistic, pairwise_pearson, rank_auc, wilson_interval


def test_ks_matches_scipy_with_ties_and_nan():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 20, 500).astype(float)
    b = rng.integers(2, 25, 300).astype(float)
    a[:10] = np.nan
    assert abs(ks_statistic(a, b) - ks_2samp(a[~np.isnan(a)], b).statistic) < 1e-12
    assert np.isnan(ks_statistic(np.array([np.nan]), b))


def test_pairwise_pearson_matches_pandas_with_missing():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4))
    x[:, 1] += x[:, 0]
    x[rng.random((400, 4)) < 0.1] = np.nan
    np.testing.assert_allclose(pairwise_pearson(x), pd.DataFrame(x).corr().to_numpy(), atol=1e-10)


def test_cramers_v_matches_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 4, 1000), rng.integers(0, 3, 1000)
    b = np.where(rng.random(1000) < 0.4, a % 3, b)
    table = pd.crosstab(a, b).to_numpy()
    keys = a * 3 + b
    cells_keys, counts = np.unique(keys, return_counts=True)
    ours = cramers_v(counts.astype(float), cells_keys // 3, cells_keys % 3)
    assert abs(ours - association(table, method="cramer")) < 1e-12


def test_intervals_and_auc():
    lo, hi = wilson_interval(30, 100)
    assert lo < 0.3 < hi
    scores, labels = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
    from sklearn.metrics import roc_auc_score

    assert rank_auc(scores, labels) == roc_auc_score(labels, scores)
    lo, hi = auc_interval(0.7, 500, 500)
    assert lo < 0.7 < hi and hi - lo < 0.1
