"""Membership inference: can the synthetic table tell whether a person was in the training data?"""

from __future__ import annotations

import numpy as np

from simulacra.evaluate.context import EvalContext, sample_index
from simulacra.evaluate.features import distance_matrix, model_columns
from simulacra.evaluate.privacy.neighbors import nearest
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.evaluate.stats import auc_interval, rank_auc


@register_metric(
    "mia_auc",
    family="privacy",
    needs=("holdout",),
    ideal="0.5 (1.0: membership is given away)",
    explanation="""
    A membership-inference attack. The attacker holds the synthetic table and a list of real people,
    half of them in the training data and half from the holdout, and guesses that the people closest
    to some synthetic row were in the training data. The ROC AUC of that guess is reported: 0.5 means
    the synthetic data reveals nothing about membership, 1.0 that it reveals it for everyone.
    """,
)
def mia_auc(ctx: EvalContext) -> MetricResult:
    assert ctx.holdout is not None
    rng = ctx.rng("mia")
    opts = ctx.options
    n = min(len(ctx.real), len(ctx.holdout), opts.privacy_rows)
    rows = {
        "real": sample_index(len(ctx.real), n, rng),
        "holdout": sample_index(len(ctx.holdout), n, rng),
        "synthetic": sample_index(len(ctx.synthetic), opts.reference_rows, rng),
    }
    mats = distance_matrix(ctx, model_columns(ctx), rows)
    d_in, _ = nearest(mats["synthetic"], mats["real"], 1)
    d_out, _ = nearest(mats["synthetic"], mats["holdout"], 1)
    scores = -np.r_[d_in[:, 0], d_out[:, 0]]
    labels = np.r_[np.ones(len(d_in)), np.zeros(len(d_out))]
    auc = rank_auc(scores, labels)
    sampled = n < max(len(ctx.real), len(ctx.holdout)) or len(mats["synthetic"]) < len(ctx.synthetic)
    return MetricResult(
        "mia_auc", "privacy", value=auc, ci=auc_interval(auc, len(d_in), len(d_out)),
        details={"members": len(d_in), "non_members": len(d_out), "synthetic_rows": len(mats["synthetic"]),
                 "attack": "distance to the closest synthetic row"},
        sampling=(f"{n:,} training and {n:,} holdout rows attacked with {len(mats['synthetic']):,} synthetic rows; "
                  "95% interval from the Hanley-McNeil standard error") if sampled else None,
    )
