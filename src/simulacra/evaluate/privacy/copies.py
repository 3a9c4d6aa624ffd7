"""Exact copies: synthetic rows identical to a training row, against the holdout's own rate."""

from __future__ import annotations

from simulacra.evaluate.context import EvalContext
from simulacra.evaluate.features import is_in
from simulacra.evaluate.privacy.neighbors import row_keys
from simulacra.evaluate.registry import MetricResult, register_metric


@register_metric(
    "exact_copies",
    family="privacy",
    ideal="no higher than exact_copies_holdout",
    explanation="""
    The share of synthetic rows identical to some training row (all columns but ids, over all rows,
    exactly). Some copies happen by chance when few columns take few values, so it is compared with
    exact_copies_holdout: the share of real holdout rows that equal a training row. A synthetic table
    that copies more often than the holdout coincides with training rows reproduces records.
    """,
)
def exact_copies(ctx: EvalContext) -> MetricResult:
    keys = row_keys(ctx)
    syn = float(is_in(keys["synthetic"], keys["real"]).mean())
    hold = float(is_in(keys["holdout"], keys["real"]).mean()) if "holdout" in keys else None
    return MetricResult(
        "exact_copies", "privacy", value=syn, extras={"exact_copies_holdout": hold},
        details={"synthetic_rows_copied": int(round(syn * len(ctx.synthetic))),
                 "columns": [c for c, t in ctx.types.items() if t != "id"]},
    )
