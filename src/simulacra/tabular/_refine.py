"""Which columns ``autoreg`` draws again given the whole row (``refine="auto"``).

Predictability is the held-out R² (2-fold) of a depth-8 tree on the columns' ranks, over at most
4,000 rows and, for each column, at most ``max_features`` of its most rank-correlated columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def pick_refined(chain: list[str], features: np.ndarray, *, gain: float, joint: float, max_features: int) -> list[str]:
    """Columns of ``chain`` to redraw, the largest rise in predictability last.

    A column is picked when its R² rises by ``gain`` or more from its chain prefix to all other
    columns, and the other columns together explain it ``joint`` better than the best single one.
    """
    if len(chain) < 3:
        return []
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeRegressor

    rows = np.random.default_rng(0).permutation(len(features))[:4000]
    ranks = np.column_stack([
        pd.Series(features[rows, i]).rank(pct=True).fillna(-1).to_numpy() for i in range(features.shape[1])
    ])

    def r2(X: np.ndarray, y: np.ndarray) -> float:
        if X.shape[1] == 0 or np.unique(y).size < 2:
            return 0.0
        tree = DecisionTreeRegressor(max_depth=8, min_samples_leaf=20, random_state=0)
        return float(np.mean(cross_val_score(tree, X, y, cv=2, scoring="r2")))

    with np.errstate(invalid="ignore", divide="ignore"):
        strength = np.nan_to_num(np.abs(np.corrcoef(ranks, rowvar=False)))
    np.fill_diagonal(strength, -1.0)

    def partners(j: int, among: range) -> list[int]:
        """The columns of ``among`` most associated with column j (at most max_features)."""
        pool = [i for i in among if i != j]
        if len(pool) <= max_features:
            return pool
        return sorted(pool, key=lambda i: -strength[j, i])[:max_features]

    rises: dict[str, float] = {}
    for j, name in enumerate(chain[:-1]):
        others = partners(j, range(ranks.shape[1]))
        full = r2(ranks[:, others], ranks[:, j])
        rise = full - max(r2(ranks[:, partners(j, range(j))], ranks[:, j]), 0.0)
        if rise < gain:
            continue
        # a column that one other column nearly determines (a near-duplicate, a coordinate of
        # the other) is left alone: its chain already has that partner, and redrawing it only
        # blurs what depends on it. A column explained by many columns together is redrawn.
        single = max(r2(ranks[:, [i]], ranks[:, j]) for i in others)
        if full - single >= joint:
            rises[name] = rise
    return sorted(rises, key=rises.__getitem__)
