"""Missing values: is each column missing as often in the synthetic table as in the real one?"""

from __future__ import annotations

import numpy as np

from simulacra.evaluate.context import EvalContext
from simulacra.evaluate.registry import MetricResult, register_metric


@register_metric(
    "missing_similarity",
    family="fidelity",
    ideal="1.0 (higher is better)",
    explanation="""
    For every column, 1 − |share missing in real − share missing in synthetic|, averaged over columns.
    The per-column missing rates are listed side by side.
    """,
)
def missing_similarity(ctx: EvalContext) -> MetricResult:
    rates = {}
    for col in ctx.types:
        masks = ctx.missing(col)
        rates[col] = {"real": float(masks["real"].mean()), "synthetic": float(masks["synthetic"].mean())}
    scores = [1.0 - abs(r["real"] - r["synthetic"]) for r in rates.values()]
    return MetricResult(
        "missing_similarity", "fidelity", value=float(np.mean(scores)),
        details={"columns": rates},
    )
