"""The empirical audit harness of the DP synthesizer (used by test_dp_audit.py and benchmarks/bench_dp.py).

A canary row (a combination no other row has, at the top of a public range) is planted in a small
table; models are fitted with and without it, many times with fresh noise; the attack scores each
released model by the log-likelihood it gives the canary (a white-box attack on the released file).
``simulacra.privacy.epsilon_lower_bound`` turns the scores into the ε the attack proves.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from simulacra.privacy import AuditResult, epsilon_lower_bound
from simulacra.tabular.dp import DPSynthesizer
from simulacra.tabular.dp.domain import NumericDomain

BOUNDS = {"a": ["x", "y", "z"], "b": ["u", "v", "w"], "c": [0, 100]}
CANARY = {"a": "z", "b": "w", "c": 100}


def base_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y"], n_rows)
    b = np.where(a == "x", rng.choice(["u", "v"], n_rows), rng.choice(["v", "w"], n_rows))
    c = np.where(a == "x", rng.integers(0, 40, n_rows), rng.integers(30, 70, n_rows))
    return pd.DataFrame({"a": a, "b": b, "c": c})


def canary_score(model: DPSynthesizer) -> float:
    """Log-likelihood of the canary's codes under the released model (a tree or a network)."""
    codes = []
    for col in model.modelled_:
        dom = model.domains_[col]
        if isinstance(dom, NumericDomain):
            codes.append(int(dom.codes(np.array([float(CANARY[col])]))[0]))
        else:
            codes.append(int(dom.codes(pd.Series([CANARY[col]]))[0]))
    return model.tree_.log_prob(codes)


def run_audit(epsilon: float, *, trials: int = 50, n_rows: int = 100, seed: int = 0,
              delta: float = 1e-5, confidence: float = 0.95, max_parents: int | str = "auto") -> AuditResult:
    """Fit ``trials`` models with and ``trials`` without the canary; the ε lower bound of the attack."""
    base = base_table(n_rows, seed)
    with_canary = pd.concat([base, pd.DataFrame([CANARY])], ignore_index=True)
    scores: dict[bool, list[float]] = {True: [], False: []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(trials):
            for member, frame in ((True, with_canary), (False, base)):
                model = DPSynthesizer(epsilon=epsilon, delta=delta, bounds=BOUNDS, random_state=seed * 100_003 + 2 * t + member,
                                      secure=False, max_parents=max_parents).fit(frame)
                scores[member].append(canary_score(model))
    return epsilon_lower_bound(np.array(scores[True]), np.array(scores[False]), delta=delta, confidence=confidence)
