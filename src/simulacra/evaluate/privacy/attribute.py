"""Attribute inference: does the synthetic table help guess a secret column of a real person?"""

from __future__ import annotations

import numpy as np

from simulacra.evaluate.context import CONTINUOUS, EvalContext, sample_index
from simulacra.evaluate.features import distance_matrix, model_columns
from simulacra.evaluate.privacy.neighbors import nearest
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.evaluate.stats import wilson_interval

#: A numerical guess counts as right within this many standard deviations of the real column.
TOLERANCE_SD = 0.1


def _correct(ctx: EvalContext, rows: dict[str, np.ndarray | None], guess_idx: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    secret = ctx.secret
    assert secret is not None
    if ctx.types[secret] in CONTINUOUS:
        values = ctx.floats(secret)
        tol = TOLERANCE_SD * float(np.nanstd(values["real"]))
    else:
        codes, _ = ctx.codes(secret)
        values = {r: np.where(c < 0, np.nan, c.astype(float)) for r, c in codes.items()}
        tol = 0.0
    syn = values["synthetic"] if rows["synthetic"] is None else values["synthetic"][rows["synthetic"]]
    out = {}
    for role in ("real", "holdout"):
        truth = values[role] if rows[role] is None else values[role][rows[role]]
        guess = syn[guess_idx[role]]
        out[role] = (np.abs(guess - truth) <= tol) | (np.isnan(guess) & np.isnan(truth))
    return out


@register_metric(
    "attribute_risk",
    family="privacy",
    needs=("holdout", "secret"),
    ideal="0.0 (1.0: the secret of every training person can be read off)",
    explanation="""
    An attribute-inference attack on the column named as secret, measured as Anonymeter does. The
    attacker knows every other column of a real person, finds the closest synthetic row and reads
    its secret value (right when equal, or for numbers within 0.1 standard deviation). The success
    rate on training people is compared with a control group of holdout people, whose success comes
    from what the population reveals, not from leakage: risk = (train − control) / (1 − control).
    """,
)
def attribute_risk(ctx: EvalContext) -> MetricResult:
    assert ctx.holdout is not None and ctx.secret is not None
    aux = model_columns(ctx, exclude=(ctx.secret,))
    if not aux:
        return MetricResult("attribute_risk", "privacy", skipped="no other column to attack with")
    rng = ctx.rng("attribute")
    n = min(len(ctx.real), len(ctx.holdout), ctx.options.attack_rows)
    rows = {
        "real": sample_index(len(ctx.real), n, rng),
        "holdout": sample_index(len(ctx.holdout), n, rng),
        "synthetic": sample_index(len(ctx.synthetic), ctx.options.reference_rows, rng),
    }
    mats = distance_matrix(ctx, aux, rows)
    guess = {role: nearest(mats["synthetic"], mats[role], 1)[1][:, 0] for role in ("real", "holdout")}
    ok = _correct(ctx, rows, guess)
    s_t, s_c = float(ok["real"].mean()), float(ok["holdout"].mean())
    ci_t, ci_c = wilson_interval(ok["real"].sum(), len(ok["real"])), wilson_interval(ok["holdout"].sum(), len(ok["holdout"]))

    def risk(t: float, c: float) -> float:
        return float(np.clip((t - c) / (1 - c), 0.0, 1.0)) if c < 1 else 0.0

    return MetricResult(
        "attribute_risk", "privacy", value=risk(s_t, s_c),
        ci=(risk(ci_t[0], ci_c[1]), risk(ci_t[1], ci_c[0])),
        extras={"attribute_success": s_t, "attribute_control": s_c},
        details={"secret": ctx.secret, "attacked_rows": n, "known_columns": aux,
                 "success_ci": list(ci_t), "control_ci": list(ci_c)},
        sampling=f"{n:,} training and {n:,} holdout people attacked; 95% Wilson intervals",
    )
