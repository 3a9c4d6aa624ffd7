"""Detection: can a classifier tell real rows from synthetic ones? (ROC AUC; 0.5 is perfect)."""

from __future__ import annotations

import numpy as np

from simulacra.evaluate.context import EvalContext, sample_index
from simulacra.evaluate.features import informative, model_columns, model_matrix
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.evaluate.stats import auc_interval, rank_auc

FOLDS = 3
#: Fewer rows than this in either table leave too few per fold for a classifier: the metric is skipped.
MIN_ROWS = 10


def fit_predict_proba(x: np.ndarray, y: np.ndarray, is_cat: np.ndarray, test: np.ndarray, seed: int) -> np.ndarray:
    """Probability of class 1 for ``test`` from a gradient-boosted classifier fitted on (x, y)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, is_cat, test = informative(x, is_cat, test)
    if x.shape[1] == 0:
        return np.full(len(test), 0.5)
    model = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, categorical_features=is_cat if is_cat.any() else None,
        random_state=seed, early_stopping=False,
    )
    model.fit(x, y)
    return np.asarray(model.predict_proba(test)[:, 1])


@register_metric(
    "detection_auc",
    family="fidelity",
    ideal="0.5 (1.0: every synthetic row is recognisable)",
    explanation="""
    A gradient-boosted classifier is trained to tell real rows from synthetic rows (3-fold
    cross-validation on a balanced sample). Its ROC AUC on held-out folds is reported: 0.5 means it
    cannot tell them apart, 1.0 means every synthetic row gives itself away. Skipped when either
    table has fewer than 10 rows.
    """,
)
def detection_auc(ctx: EvalContext) -> MetricResult:
    cols = model_columns(ctx)
    if not cols:
        return MetricResult("detection_auc", "fidelity", skipped="no column a model can use")
    rng = ctx.rng("detection")
    n = min(len(ctx.real), len(ctx.synthetic), ctx.options.detection_rows)
    if n < MIN_ROWS:
        return MetricResult("detection_auc", "fidelity",
                            skipped=f"needs at least {MIN_ROWS} rows in each table (the smaller has {n})")
    rows = {
        "real": sample_index(len(ctx.real), n, rng),
        "synthetic": sample_index(len(ctx.synthetic), n, rng),
    }
    mats, is_cat = model_matrix(ctx, cols, rows)
    x = np.vstack([mats["real"], mats["synthetic"]])
    y = np.r_[np.zeros(len(mats["real"])), np.ones(len(mats["synthetic"]))]
    fold = rng.permutation(len(y)) % FOLDS
    scores = np.empty(len(y))
    for k in range(FOLDS):
        test = fold == k
        scores[test] = fit_predict_proba(x[~test], y[~test], is_cat, x[test], ctx.random_state)
    auc = rank_auc(scores, y)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    sampled = max(len(ctx.real), len(ctx.synthetic)) > n
    return MetricResult(
        "detection_auc", "fidelity", value=auc, ci=auc_interval(auc, n_pos, n_neg),
        details={"rows_per_side": n, "folds": FOLDS, "model": "HistGradientBoostingClassifier"},
        sampling=(f"{n:,} rows drawn from each table; 95% interval from the Hanley-McNeil standard error"
                  if sampled else None),
    )
