"""The empirical privacy audit: an ε lower bound from a membership attack on planted canaries.

A mechanism that is (ε, δ)-DP bounds every membership test: its true-positive rate and false-positive
rate satisfy TPR <= e^ε·FPR + δ (and the same for the complements). Running the attack on many fits
with and without a canary gives counts; Clopper–Pearson intervals turn them into a one-sided
confidence bound, and the largest ε that the counts *prove* is the audit's lower bound (Jagielski et
al. 2020, Nasr et al. 2021). A correct mechanism gives a bound below the claimed ε; a broken one
(noise off, a wrong accountant) gives a bound above it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Clopper–Pearson interval of a binomial proportion.

    >>> lo, hi = clopper_pearson(5, 10)
    >>> round(lo, 3), round(hi, 3)
    (0.187, 0.813)
    """
    alpha = 1.0 - confidence
    lo = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    hi = 1.0 if successes == trials else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return lo, hi


@dataclass
class AuditResult:
    """What an audit measured: the ε lower bound, the attack's rates and the threshold it used."""

    epsilon_lower: float
    epsilon_point: float
    tpr: float
    fpr: float
    threshold: float
    trials_in: int
    trials_out: int
    confidence: float

    def as_dict(self) -> dict[str, float | int]:
        return dict(vars(self))


def _bound(tp: int, n_in: int, fp: int, n_out: int, delta: float, confidence: float) -> tuple[float, float]:
    """(lower bound, point estimate) of ε from one threshold's counts, both directions of the test."""
    one_sided = 2 * confidence - 1  # a two-sided interval at this level is one-sided at `confidence`
    tpr_lo, _ = clopper_pearson(tp, n_in, one_sided)
    _, fpr_hi = clopper_pearson(fp, n_out, one_sided)

    def eps(num: float, den: float) -> float:
        return math.log((num - delta) / den) if num > delta and den > 0 else 0.0

    lower = max(eps(tpr_lo, fpr_hi), eps(1 - fpr_hi, 1 - tpr_lo) if tpr_lo < 1 else 0.0)
    tpr, fpr = tp / n_in, fp / n_out
    point = max(eps(tpr, max(fpr, 1.0 / n_out)), eps(1 - fpr, max(1 - tpr, 1.0 / n_in)))
    return max(lower, 0.0), max(point, 0.0)


def epsilon_lower_bound(
    scores_in: np.ndarray, scores_out: np.ndarray, *, delta: float = 0.0, confidence: float = 0.95
) -> AuditResult:
    """The ε that a membership attack proves, from its scores on fits with and without the canary.

    ``scores_in`` are the attack's scores (higher: "the canary was in") on models fitted with the
    canary, ``scores_out`` on models fitted without it. Every threshold is tried and the largest
    lower bound kept; since thresholds are chosen on the same scores, use a ``confidence`` that
    leaves room for it (the bound is a sound estimate, not a proof, when many thresholds are tried).

    >>> rng = np.random.default_rng(0)
    >>> epsilon_lower_bound(rng.normal(size=500), rng.normal(size=500)).epsilon_lower < 0.3
    True
    >>> epsilon_lower_bound(np.ones(500), np.zeros(500)).epsilon_lower > 4
    True
    """
    s_in, s_out = np.asarray(scores_in, dtype=float), np.asarray(scores_out, dtype=float)
    best = AuditResult(0.0, 0.0, 0.0, 0.0, math.inf, s_in.size, s_out.size, confidence)
    for t in np.unique(np.concatenate([s_in, s_out])):
        tp, fp = int((s_in >= t).sum()), int((s_out >= t).sum())
        lower, point = _bound(tp, s_in.size, fp, s_out.size, delta, confidence)
        if lower > best.epsilon_lower or (lower == best.epsilon_lower and point > best.epsilon_point):
            best = AuditResult(lower, point, tp / s_in.size, fp / s_out.size, float(t), s_in.size, s_out.size,
                               confidence)
    return best
