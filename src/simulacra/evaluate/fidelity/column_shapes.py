"""Column shapes: 1 - KS statistic (numerical, datetime) or 1 - total variation (categorical, boolean)."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.evaluate.context import CONTINUOUS, DISCRETE, EvalContext
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.evaluate.stats import frequencies, ks_statistic, tv_complement

#: Decimals kept before the KS test (as SDMetrics does), so that float noise does not split ties.
KS_DECIMALS = 14
TOP_LABELS = 12
HIST_BINS = 30


def _histogram(real: np.ndarray, syn: np.ndarray) -> dict[str, Any]:
    both = np.concatenate([real[~np.isnan(real)], syn[~np.isnan(syn)]])
    if both.size == 0:
        return {"kind": "continuous", "edges": [], "real": [], "synthetic": []}
    lo, hi = np.quantile(both, [0.005, 0.995])
    if not hi > lo:
        lo, hi = float(both.min()) - 0.5, float(both.max()) + 0.5
    edges = np.linspace(lo, hi, HIST_BINS + 1)

    def dens(x: np.ndarray) -> list[float]:
        x = x[~np.isnan(x)]
        counts, _ = np.histogram(np.clip(x, lo, hi), bins=edges)
        return (counts / max(x.size, 1)).round(6).tolist()

    return {"kind": "continuous", "edges": edges.tolist(), "real": dens(real), "synthetic": dens(syn)}


def _bars(real: np.ndarray, syn: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    n = len(labels)
    fr, fs = frequencies(real, n), frequencies(syn, n)
    order = np.argsort(-fr, kind="stable")[:TOP_LABELS]
    names = [str(labels[i]) for i in order]
    r, s = fr[order].tolist(), fs[order].tolist()
    if n > TOP_LABELS:
        names.append("(other)")
        r.append(float(1 - sum(r)))
        s.append(float(1 - sum(s)))
    return {"kind": "discrete", "labels": names, "real": np.round(r, 6).tolist(), "synthetic": np.round(s, 6).tolist()}


def column_scores(ctx: EvalContext) -> dict[str, dict[str, Any]]:
    """Score, metric name and plot data of every column that has a shape score."""
    out: dict[str, dict[str, Any]] = {}
    for col, stype in ctx.types.items():
        if stype in CONTINUOUS:
            v = ctx.floats(col)
            stat = ks_statistic(np.round(v["real"], KS_DECIMALS), np.round(v["synthetic"], KS_DECIMALS))
            out[col] = {"type": stype, "metric": "KSComplement", "score": 1.0 - stat,
                        "plot": _histogram(v["real"], v["synthetic"])}
        elif stype in DISCRETE:
            codes, labels = ctx.codes(col)
            score = tv_complement(codes["real"], codes["synthetic"], len(labels))
            out[col] = {"type": stype, "metric": "TVComplement", "score": score,
                        "plot": _bars(codes["real"], codes["synthetic"], labels)}
    return out


@register_metric(
    "column_shapes",
    family="fidelity",
    ideal="1.0 (higher is better)",
    explanation="""
    How well each column's own distribution is reproduced, averaged over columns. Numerical and
    datetime columns score 1 − the Kolmogorov–Smirnov statistic (the largest gap between the two
    cumulative distributions); categorical and boolean columns score 1 − the total variation distance
    (half the sum of the gaps between category shares). Missing values are left out here (see
    missing_similarity); id and text columns are not scored. Same definition as SDMetrics' Column Shapes.
    """,
)
def column_shapes(ctx: EvalContext) -> MetricResult:
    scores = column_scores(ctx)
    values = [s["score"] for s in scores.values() if np.isfinite(s["score"])]
    skipped = [c for c, t in ctx.types.items() if t not in CONTINUOUS + DISCRETE]
    return MetricResult(
        "column_shapes", "fidelity",
        value=float(np.mean(values)) if values else None,
        details={"columns": scores, "not_scored": skipped},
        skipped=None if values else "no numerical, datetime, categorical or boolean column to score",
    )
