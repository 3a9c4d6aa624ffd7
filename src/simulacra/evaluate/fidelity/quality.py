"""The overall quality score: the mean of column shapes and column pair trends."""

from __future__ import annotations

import numpy as np

from simulacra.evaluate.context import EvalContext
from simulacra.evaluate.registry import MetricResult, register_metric


@register_metric(
    "quality",
    family="fidelity",
    ideal="1.0 (higher is better)",
    after=("column_shapes", "column_pair_trends"),
    explanation="""
    The overall fidelity score: the mean of column_shapes and column_pair_trends (when no pair counts,
    column_shapes alone), as SDMetrics' QualityReport computes its overall score.
    """,
)
def quality(ctx: EvalContext) -> MetricResult:
    parts = [ctx.results[n].value for n in ("column_shapes", "column_pair_trends")]
    values = [v for v in parts if v is not None]
    return MetricResult(
        "quality", "fidelity",
        value=float(np.mean(values)) if values else None,
        details={"column_shapes": parts[0], "column_pair_trends": parts[1]},
        skipped=None if values else "no column could be scored",
    )
