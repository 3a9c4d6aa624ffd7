"""The overall quality score: the mean of column shapes and column pair trends."""

from __future__ import annotations

import numpy as np

from simulacra.evaluate.context import EvalContext
from simulacra.evaluate.registry import MetricResult, register_metric


@register_metric(
    "quality",
    family="fidelity",
    ideal="1.0 (higher is better)",
    after=("column_shapes", "column_pair_trends", "missing_similarity"),
    explanation="""
    The overall fidelity score: the mean of column_shapes and column_pair_trends (when no pair counts,
    column_shapes alone), as SDMetrics' QualityReport computes its overall score, times
    missing_similarity, so that missing values where the real table has values (or the reverse) lower
    it. When every column is missing as often in both tables, it equals SDMetrics' score.
    """,
)
def quality(ctx: EvalContext) -> MetricResult:
    parts = [ctx.results[n].value for n in ("column_shapes", "column_pair_trends")]
    values = [v for v in parts if v is not None]
    missing = ctx.results["missing_similarity"].value
    factor = 1.0 if missing is None else float(missing)
    return MetricResult(
        "quality", "fidelity",
        value=float(np.mean(values)) * factor if values else None,
        details={"column_shapes": parts[0], "column_pair_trends": parts[1], "missing_similarity": missing,
                 "empty_columns": ctx.cache.get("empty_columns", {})},
        skipped=None if values else "no column could be scored",
    )
