"""Refinement in ``autoreg``: columns drawn once more after the chain, each given all the others.

A column that the columns *after* it in the chain predict much better than the columns before it (a
price placed early in the table) is drawn by the chain with little to go on, and the columns after it
copy its noise. Drawing it again from ``p(x_j | all other columns)`` is one Gibbs step: it keeps the
joint distribution and makes the column agree with the whole row.

Predictability is the held-out R² (2-fold) of a tree on the columns' ranks (the trees and the sample
of :mod:`simulacra.tabular._autoreg_order`), for each column from at most :data:`REFINE_FEATURES` of
its most rank-correlated columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.tabular._autoreg_order import PREDICTABILITY_SAMPLE_ROWS, PREDICTABILITY_TREE

#: ``refine="auto"`` draws a column again given the whole row when that raises its predictability
#: (held-out R² of a tree on ranks) by this much over its chain prefix ...
REFINE_GAIN = 0.5
#: ... and the other columns together explain it this much better than the best single one does.
REFINE_JOINT = 0.15
#: Features (the most rank-correlated columns) of each predictability check, so wide tables stay fast.
REFINE_FEATURES = 24
#: Boosting rounds at most of a redrawn column's model (few columns: a finer model is affordable).
REFINE_ROUNDS = 100


def refined_columns(refine: Any, chain: list[str], features: np.ndarray) -> list[str]:
    """The columns to redraw for the ``refine`` parameter: None, ``"auto"`` or a list of columns."""
    if refine is None or refine is False:
        return []
    if isinstance(refine, (list, tuple)):
        unknown = [c for c in refine if c not in chain]
        if unknown:
            raise InputError(f"refine names unknown or generated columns: {', '.join(map(str, unknown))}")
        return [str(c) for c in refine]
    if refine != "auto":
        raise InputError(f"refine must be 'auto', a list of columns or None, got {refine!r}")
    return pick_refined(chain, features, gain=REFINE_GAIN, joint=REFINE_JOINT, max_features=REFINE_FEATURES)


def pick_refined(chain: list[str], features: np.ndarray, *, gain: float, joint: float, max_features: int) -> list[str]:
    """Columns of ``chain`` to redraw, the largest rise in predictability last.

    A column is picked when its R² rises by ``gain`` or more from its chain prefix to all other
    columns, and the other columns together explain it ``joint`` better than the best single one.
    """
    if len(chain) < 3 or len(features) < 4:  # fewer rows: a 2-fold R² is undefined (a fold of one row)
        return []
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeRegressor

    rows = np.random.default_rng(0).permutation(len(features))[:PREDICTABILITY_SAMPLE_ROWS]
    ranks = np.column_stack([
        pd.Series(features[rows, i]).rank(pct=True).fillna(-1).to_numpy() for i in range(features.shape[1])
    ])

    def r2(X: np.ndarray, y: np.ndarray) -> float:
        if X.shape[1] == 0 or np.unique(y).size < 2:
            return 0.0
        tree = DecisionTreeRegressor(**PREDICTABILITY_TREE, random_state=0)  # type: ignore[arg-type]
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
