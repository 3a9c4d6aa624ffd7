"""Column shapes: 1 - KS statistic (numerical, datetime) or 1 - total variation (categorical, boolean)."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.evaluate.context import CONTINUOUS, DISCRETE, EvalContext
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.evaluate.stats import frequencies, ks_sorted, tv_complement

#: Decimals kept before the KS test (as SDMetrics does), so that float noise does not split ties.
KS_DECIMALS = 14
TOP_LABELS = 12
HIST_BINS = 30


def _continuous(real: np.ndarray, syn: np.ndarray) -> tuple[float, dict[str, Any]]:
    """KS complement and histogram data of a numeric column, from one sort per table."""
    a = np.sort(np.round(real[np.isfinite(real)], KS_DECIMALS))
    b = np.sort(np.round(syn[np.isfinite(syn)], KS_DECIMALS))
    if a.size == 0 or b.size == 0:
        # one side has values and the other none: nothing of the column is reproduced
        score = float("nan") if a.size == b.size else 0.0
        return score, {"kind": "continuous", "edges": [], "real": [], "synthetic": []}
    score = 1.0 - ks_sorted(a, b)
    lo = min(a[int(0.005 * (a.size - 1))], b[int(0.005 * (b.size - 1))])
    hi = max(a[int(0.995 * (a.size - 1))], b[int(0.995 * (b.size - 1))])
    if not hi > lo:
        lo, hi = min(a[0], b[0]) - 0.5, max(a[-1], b[-1]) + 0.5
    edges = np.linspace(lo, hi, HIST_BINS + 1)

    def dens(x: np.ndarray) -> list[float]:
        cum = np.searchsorted(x, edges[1:-1], side="left")
        counts = np.diff(np.r_[0, cum, x.size])
        return (counts / x.size).round(6).tolist()

    return score, {"kind": "continuous", "edges": edges.tolist(), "real": dens(a), "synthetic": dens(b)}


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
            score, plot = _continuous(v["real"], v["synthetic"])
            out[col] = {"type": stype, "metric": "KSComplement", "score": score, "plot": plot}
        elif stype in DISCRETE:
            codes, labels = ctx.codes(col)
            present = [bool((codes[r] >= 0).any()) for r in ("real", "synthetic")]
            if all(present):
                score = tv_complement(codes["real"], codes["synthetic"], len(labels))
            else:
                score = float("nan") if not any(present) else 0.0
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
    missing_similarity), but a column with values in one table and none in the other scores 0; id and
    text columns are not scored. Same definition as SDMetrics' Column Shapes.
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
