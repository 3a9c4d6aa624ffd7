"""The column order of ``autoreg``'s chain (its ``order`` parameter).

Each column is modelled given the columns before it, so the order decides what each conditional can
see. The table's own order is the default; ``"hubs"`` puts first the columns most associated with the
others, ``"predictability"`` puts last the columns the others explain best. Both read only a seeded
sample of encoded training values, and keep nothing of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError

#: Rows whose rank correlations rank the columns for ``order="hubs"`` (plenty for a stable ranking).
HUB_SAMPLE_ROWS = 5000
#: Rows on which ``order="predictability"`` cross-validates one tree per column (it fits d trees).
PREDICTABILITY_SAMPLE_ROWS = 4000
#: The trees that measure predictability: deep enough to see interactions, with leaves large enough
#: that a held-out R² is not noise.
PREDICTABILITY_TREE = {"max_depth": 8, "min_samples_leaf": 20}


def chain_order(order: list[str] | str | None, learned: list[str], encoders: Mapping[str, Any],
                data: pd.DataFrame) -> list[str]:
    """The chain for ``order`` over the ``learned`` columns (generated columns are not in the chain)."""
    if order is None:
        return learned
    if isinstance(order, str):
        if order == "hubs":
            return hub_order(learned, encoders, data)
        if order == "predictability":
            return predictability_order(learned, encoders, data)
        raise InputError(f"order must be a list of columns, 'predictability' or 'hubs', got {order!r}")
    unknown = [c for c in order if c not in learned]
    if unknown:
        raise InputError(f"order names unknown or generated columns: {', '.join(map(str, unknown))}")
    return list(order) + [c for c in learned if c not in order]


def hub_order(learned: list[str], encoders: Mapping[str, Any], data: pd.DataFrame) -> list[str]:
    """Columns most associated with the others first (rank correlation of encoded values)."""
    if len(learned) < 3 or len(data) < 4:  # fewer rows: a 2-fold R² is undefined (a fold of one row)
        return learned
    sample = data.sample(min(len(data), HUB_SAMPLE_ROWS), random_state=0)
    ranks = np.column_stack([
        pd.Series(encoders[c].encode(sample[c]).astype(float)).rank().fillna(0).to_numpy() for c in learned
    ])
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.abs(np.corrcoef(ranks, rowvar=False)))
    np.fill_diagonal(corr, 0.0)
    return [learned[i] for i in np.argsort(-corr.sum(axis=1), kind="stable")]


def predictability_order(learned: list[str], encoders: Mapping[str, Any], data: pd.DataFrame) -> list[str]:
    """Columns hardest to predict from the others first, the most predictable last.

    A column that the rest of the row explains well (a label, a total, a price) is then modelled
    given everything else, which is where a conditional model is most accurate.
    """
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeRegressor

    if len(learned) < 3 or len(data) < 4:  # fewer rows: a 2-fold R² is undefined (a fold of one row)
        return learned
    sample = data.sample(min(len(data), PREDICTABILITY_SAMPLE_ROWS), random_state=0)
    ranks = np.column_stack([
        pd.Series(encoders[c].encode(sample[c]).astype(float)).rank(pct=True).fillna(-1).to_numpy() for c in learned
    ])
    score = np.zeros(len(learned))
    for i in range(len(learned)):
        X = np.delete(ranks, i, axis=1)
        tree = DecisionTreeRegressor(**PREDICTABILITY_TREE, random_state=0)  # type: ignore[arg-type]
        score[i] = float(np.mean(cross_val_score(tree, X, ranks[:, i], cv=2, scoring="r2")))
    return [learned[i] for i in np.argsort(score, kind="stable")]
