"""Target rate per group of a sensitive column and demographic parity difference, real vs synthetic."""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.evaluate.context import CONTINUOUS, EvalContext
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.evaluate.utility.tstr import task_of

#: Groups with fewer rows than this in a table are shown but left out of its parity difference.
MIN_GROUP = 30
MAX_GROUPS = 10


def _groups(ctx: EvalContext, col: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """Group ids by role (real, synthetic) and group names; missing values form their own group."""
    if ctx.types[col] in CONTINUOUS:
        v = ctx.floats(col)
        edges = np.unique(np.nanquantile(v["real"], [0.25, 0.5, 0.75])) if np.isfinite(v["real"]).any() else np.array([])
        names = [f"≤ {edges[0]:.4g}"] if len(edges) else ["all"]
        names += [f"{a:.4g} – {b:.4g}" for a, b in zip(edges[:-1], edges[1:])]
        names += [f"> {edges[-1]:.4g}"] if len(edges) else []
        ids = {r: np.where(np.isnan(x), len(names), np.searchsorted(edges, x, side="left")) for r, x in v.items()}
        return ids, [*names, "(missing)"]
    codes, labels = ctx.codes(col)
    real = codes["real"]
    counts = np.bincount(real[real >= 0], minlength=len(labels))
    top = np.argsort(-counts, kind="stable")[:MAX_GROUPS]
    remap = np.full(len(labels) + 1, len(top))  # everything else -> "(other)"
    remap[top] = np.arange(len(top))
    remap[-1] = len(top) + 1  # code -1 (missing)
    names = [str(labels[i]) for i in top] + ["(other)", "(missing)"]
    return {r: remap[c] for r, c in codes.items()}, names


def _outcome(ctx: EvalContext) -> tuple[dict[str, np.ndarray], str]:
    """What is averaged per group: the positive-class indicator, or the target itself for regression."""
    assert ctx.target is not None
    if task_of(ctx) == "regression":
        return dict(ctx.floats(ctx.target)), f"mean of {ctx.target}"
    codes, labels = ctx.codes(ctx.target)
    real = codes["real"]
    counts = np.bincount(real[real >= 0], minlength=len(labels))
    as_text = {str(x).strip().lower() for x in labels}
    pos = None
    for token in ("1", "true", "1.0", "yes"):
        matches = [i for i, x in enumerate(labels) if str(x).strip().lower() == token]
        if matches and len(as_text) == 2:
            pos = matches[0]
            break
    if pos is None:
        seen = np.flatnonzero(counts)
        pos = int(seen[np.argmin(counts[seen])])
    out = {r: np.where(c < 0, np.nan, (c == pos).astype(float)) for r, c in codes.items()}
    return out, f"share of {ctx.target} = {labels[pos]}"


def _per_group(ids: np.ndarray, y: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    ok = ~np.isnan(y)
    n = np.bincount(ids[ok], minlength=n_groups)
    s = np.bincount(ids[ok], weights=y[ok], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, s / n


def _gap(rate: np.ndarray, n: np.ndarray) -> float | None:
    ok = (n >= MIN_GROUP) & np.isfinite(rate)
    return float(rate[ok].max() - rate[ok].min()) if ok.sum() >= 2 else None


def parity_for(ctx: EvalContext, col: str, y: dict[str, np.ndarray]) -> dict[str, Any]:
    ids, names = _groups(ctx, col)
    table = {}
    gaps = {}
    for role in ("real", "synthetic"):
        n, rate = _per_group(ids[role], y[role], len(names))
        table[role] = (n, rate)
        gaps[role] = _gap(rate, n)
    groups = [
        {"group": name, "n_real": int(table["real"][0][i]), "n_synthetic": int(table["synthetic"][0][i]),
         "real": _clean(table["real"][1][i]), "synthetic": _clean(table["synthetic"][1][i])}
        for i, name in enumerate(names) if table["real"][0][i] or table["synthetic"][0][i]
    ]
    shift = None if gaps["real"] is None or gaps["synthetic"] is None else gaps["synthetic"] - gaps["real"]
    return {"groups": groups, "parity_difference_real": gaps["real"],
            "parity_difference_synthetic": gaps["synthetic"], "amplification": shift}


def _clean(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


@register_metric(
    "bias_amplification",
    family="fairness",
    needs=("target", "sensitive"),
    ideal="0.0 (positive: synthesis widened the gap between groups)",
    explanation="""
    For every column named as sensitive, the target rate in each of its groups (share of the positive
    class, or the mean target for regression), in the real and in the synthetic table. The demographic
    parity difference is the largest minus the smallest group rate (groups of at least 30 rows).
    bias_amplification is the largest change of that difference from real to synthetic, signed:
    positive when synthesis widens the gap, negative when it narrows it.
    """,
)
def bias_amplification(ctx: EvalContext) -> MetricResult:
    y, outcome = _outcome(ctx)
    per = {col: parity_for(ctx, col, y) for col in ctx.sensitive}
    shifts = {c: p["amplification"] for c, p in per.items() if p["amplification"] is not None}
    worst = max(shifts, key=lambda c: abs(shifts[c])) if shifts else None
    return MetricResult(
        "bias_amplification", "fairness",
        value=shifts[worst] if worst else None,
        extras={
            "parity_difference_real": per[worst]["parity_difference_real"] if worst else None,
            "parity_difference_synthetic": per[worst]["parity_difference_synthetic"] if worst else None,
        },
        details={"outcome": outcome, "columns": per, "worst_column": worst, "min_group_rows": MIN_GROUP},
        skipped=None if worst else "no sensitive column has two groups with enough rows",
    )
