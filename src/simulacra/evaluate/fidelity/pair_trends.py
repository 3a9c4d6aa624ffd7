"""Column pair trends: correlation similarity for numeric pairs, contingency similarity for the rest."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import Any

import numpy as np

from simulacra.evaluate.context import CONTINUOUS, DISCRETE, EvalContext
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.evaluate.stats import cramers_v, pairwise_pearson

#: Largest dense contingency table; larger ones are counted sparsely.
DENSE_CELLS = 4_000_000


def _discretized(ctx: EvalContext, col: str) -> tuple[dict[str, np.ndarray], int]:
    """Codes of a column for contingency tables: labels (missing its own code) or 10 equal-width bins.

    As in SDMetrics, each table's numeric column is binned on its own range (10 bins from its
    minimum to its maximum; the maximum and missing values share an eleventh code).
    """
    out: dict[str, np.ndarray] = {}
    if ctx.types[col] in CONTINUOUS:
        for role in ("real", "synthetic"):
            x = ctx.floats(col)[role]
            present = x[np.isfinite(x)]
            try:
                edges = np.histogram_bin_edges(present) if present.size else np.linspace(0, 1, 11)
            except ValueError:  # a range too wide for floats (e.g. -1e308 to 1e308): bins by quantile
                edges = np.unique(np.quantile(present, np.linspace(0, 1, 11)))
            out[role] = np.digitize(x, edges).astype(np.int64)
        return out, 12
    codes, labels = ctx.codes(col)
    n = len(labels)
    for role in ("real", "synthetic"):
        c = codes[role].astype(np.int64)
        out[role] = np.where(c < 0, n, c)
    return out, n + 1


def _table(a: np.ndarray, b: np.ndarray, kb: int, ka: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero cells of the contingency table of two code arrays: (cell keys, counts)."""
    key = a * kb + b
    if ka * kb <= DENSE_CELLS:
        counts = np.bincount(key, minlength=ka * kb)
        keys = np.flatnonzero(counts)
        return keys, counts[keys].astype(float)
    keys, counts = np.unique(key, return_counts=True)
    return keys, counts.astype(float)


def _contingency(a: dict[str, np.ndarray], ka: int, b: dict[str, np.ndarray], kb: int) -> dict[str, Any]:
    kr, cr = _table(a["real"], b["real"], kb, ka)
    ks, cs = _table(a["synthetic"], b["synthetic"], kb, ka)
    pr, ps = cr / cr.sum(), cs / cs.sum()
    union = np.union1d(kr, ks)
    diff = np.zeros(union.size)
    diff[np.searchsorted(union, kr)] += pr
    diff[np.searchsorted(union, ks)] -= ps
    return {
        "score": float(1.0 - 0.5 * np.abs(diff).sum()),
        "real": cramers_v(cr, kr // kb, kr % kb),
        "synthetic": cramers_v(cs, ks // kb, ks % kb),
    }


def _correlations(ctx: EvalContext, cols: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for role in ("real", "synthetic"):
        x = np.column_stack([ctx.floats(c)[role] for c in cols]) if cols else np.empty((0, 0))
        corr = pairwise_pearson(x) if cols else x
        lo, hi = np.nanmin(x, axis=0, initial=np.inf), np.nanmax(x, axis=0, initial=-np.inf)
        constant = ~(hi > lo)
        corr[constant, :] = np.nan
        corr[:, constant] = np.nan
        out[role] = corr
    return out


def pair_scores(ctx: EvalContext, pairs: Iterable[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """One record per pair of scored columns: metric, score, real/synthetic association, whether it counts.

    ``pairs`` limits the records to those pairs (of scored columns; others are left out), as the
    multi-table report does for the pairs of a parent column and a child column.
    """
    opts = ctx.options
    scored = [c for c, t in ctx.types.items() if t in CONTINUOUS + DISCRETE]
    chosen = combinations(scored, 2) if pairs is None else [
        (a, b) for a, b in pairs if a in scored and b in scored]
    numeric = [c for c in scored if ctx.types[c] in CONTINUOUS]
    corr = _correlations(ctx, numeric)
    pos = {c: i for i, c in enumerate(numeric)}
    disc = {c: _discretized(ctx, c) for c in scored}
    records = []
    for c1, c2 in chosen:
        if c1 in pos and c2 in pos:
            r, s = corr["real"][pos[c1], pos[c2]], corr["synthetic"][pos[c1], pos[c2]]
            score = 1.0 - abs(r - s) / 2.0
            rec = {"metric": "CorrelationSimilarity", "score": score, "real": r, "synthetic": s,
                   "counts": bool(np.isfinite(score) and abs(r) > opts.real_correlation_threshold)}
        else:
            (a, ka), (b, kb) = disc[c1], disc[c2]
            rec = {"metric": "ContingencySimilarity", **_contingency(a, ka, b, kb)}
            v = rec["real"]
            rec["counts"] = bool(np.isfinite(v) and v > opts.real_association_threshold)
        rec = {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in rec.items()}
        records.append({"columns": [c1, c2], **{k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                                                  for k, v in rec.items()}})
    return records


@register_metric(
    "column_pair_trends",
    family="fidelity",
    ideal="1.0 (higher is better)",
    explanation="""
    How well relations between pairs of columns are reproduced. For two numerical/datetime columns:
    1 − |Pearson r(real) − r(synthetic)| / 2. For any other pair: 1 − the total variation distance
    between the two tables' joint frequency tables (numerical columns cut into 10 equal-width bins,
    missing values as their own label). As in SDMetrics' QualityReport, only pairs that are related in
    the real data count in the average: |r| above 0.5, or Cramér's V above 0.3. All pairs are listed.
    """,
)
def column_pair_trends(ctx: EvalContext) -> MetricResult:
    records = pair_scores(ctx)
    counted = [r["score"] for r in records if r["counts"] and r["score"] is not None]
    return MetricResult(
        "column_pair_trends", "fidelity",
        value=float(np.mean(counted)) if counted else None,
        details={
            "pairs": records,
            "n_pairs": len(records),
            "n_counted": len(counted),
            "real_correlation_threshold": ctx.options.real_correlation_threshold,
            "real_association_threshold": ctx.options.real_association_threshold,
        },
        skipped=None if counted else "no pair of columns is related in the real data above the thresholds",
    )
