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
    real = ctx.real.isna().mean()
    syn = ctx.synthetic.isna().mean()
    rates = {c: {"real": float(real[c]), "synthetic": float(syn[c])} for c in ctx.real.columns}
    scores = 1.0 - (real - syn).abs()
    return MetricResult(
        "missing_similarity", "fidelity", value=float(np.mean(scores.to_numpy())),
        details={"columns": rates},
    )
