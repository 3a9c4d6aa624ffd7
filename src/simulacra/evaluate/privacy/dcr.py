"""Distance to closest record (DCR share) and nearest-neighbour distance ratio (NNDR)."""

from __future__ import annotations

import numpy as np

from simulacra.evaluate.context import EvalContext
from simulacra.evaluate.privacy.neighbors import cached_nearest, privacy_sets
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.evaluate.stats import wilson_interval

HIST_BINS = 40


def _hist(values: dict[str, np.ndarray]) -> dict[str, list[float]]:
    both = np.concatenate(list(values.values()))
    hi = float(np.quantile(both, 0.99)) if both.size else 1.0
    edges = np.linspace(0.0, hi if hi > 0 else 1.0, HIST_BINS + 1)
    out = {"edges": edges.round(6).tolist()}
    for name, v in values.items():
        counts, _ = np.histogram(np.clip(v, 0, edges[-1]), bins=edges)
        out[name] = (counts / max(v.size, 1)).round(6).tolist()
    return out


def _note(sets: dict) -> str | None:
    if not sets["sampled"]:
        return None
    return (f"{sets['query_rows']:,} synthetic rows against {sets['reference_rows']:,} training and "
            f"{sets['reference_rows']:,} holdout rows; 95% Wilson interval")


@register_metric(
    "dcr_share",
    family="privacy",
    needs=("holdout",),
    ideal="0.5 (1.0: synthetic rows sit on top of training rows)",
    explanation="""
    Distance to closest record. For every synthetic row, the distance to the nearest training row and
    to the nearest holdout row (equal-sized samples; numerical columns scaled by their interquartile
    range, categories one-hot). dcr_share is the share of synthetic rows closer to a training row than
    to a holdout row (ties count half). If the synthesizer learnt the population rather than the rows,
    the holdout is as close as the training data and the share is 0.5; above 0.5 it memorised rows.
    """,
)
def dcr_share(ctx: EvalContext) -> MetricResult:
    sets = privacy_sets(ctx)
    d_train = cached_nearest(ctx, "train", "queries", 1)
    d_hold = cached_nearest(ctx, "holdout", "queries", 1)
    d_base = cached_nearest(ctx, "train", "holdout_queries", 1)
    a, b = d_train[:, 0], d_hold[:, 0]
    wins = float((a < b).sum() + 0.5 * (a == b).sum())
    n = len(a)
    return MetricResult(
        "dcr_share", "privacy", value=wins / n, ci=wilson_interval(wins, n),
        extras={"dcr_train_median": float(np.median(a)), "dcr_holdout_median": float(np.median(b))},
        details={
            "histogram": _hist({"synthetic_to_train": a, "synthetic_to_holdout": b, "holdout_to_train": d_base[:, 0]}),
            "quantiles": {q: {"synthetic_to_train": float(np.quantile(a, q / 100)),
                              "synthetic_to_holdout": float(np.quantile(b, q / 100)),
                              "holdout_to_train": float(np.quantile(d_base[:, 0], q / 100))} for q in (1, 5, 50)},
            "query_rows": n, "reference_rows": sets["reference_rows"],
        },
        sampling=_note(sets),
    )


def _ratios(d: np.ndarray) -> np.ndarray:
    if d.shape[1] < 2:
        return np.ones(len(d))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = d[:, 0] / d[:, 1]
    return np.where(d[:, 1] > 0, r, 1.0)


@register_metric(
    "nndr",
    family="privacy",
    needs=("holdout",),
    ideal="close to nndr_holdout (lower: synthetic rows single out individual training rows)",
    explanation="""
    Nearest-neighbour distance ratio: for a synthetic row, the distance to its nearest training row
    divided by the distance to its second nearest. A ratio near 0 means the row sits much closer to
    one particular person than to anyone else. The median over synthetic rows is compared with
    nndr_holdout, the same median for real holdout rows (people the synthesizer never saw).
    """,
)
def nndr(ctx: EvalContext) -> MetricResult:
    sets = privacy_sets(ctx)
    d_syn = cached_nearest(ctx, "train", "queries", 2)
    d_hold = cached_nearest(ctx, "train", "holdout_queries", 2)
    rs, rh = _ratios(d_syn), _ratios(d_hold)
    return MetricResult(
        "nndr", "privacy", value=float(np.median(rs)), extras={"nndr_holdout": float(np.median(rh))},
        details={"p5": float(np.quantile(rs, 0.05)), "p5_holdout": float(np.quantile(rh, 0.05))},
        sampling=_note(sets),
    )
