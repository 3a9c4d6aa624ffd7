"""The empirical privacy audit: the ε a canary membership attack proves stays under the claimed ε,
and the same audit catches a mechanism whose noise is switched off (the negative control)."""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dp_audit import run_audit  # noqa: E402

from simulacra.privacy import epsilon_lower_bound  # noqa: E402
from simulacra.privacy.mechanisms import Mechanisms  # noqa: E402

TRIALS = 40


def test_audit_lower_bound_stays_under_the_claimed_epsilon():
    result = run_audit(1.0, trials=TRIALS, n_rows=100, seed=1)
    assert result.trials_in == result.trials_out == TRIALS
    assert result.epsilon_lower < 1.0


def _no_noise(self, counts, rho, step, sensitivity=1.0):  # a broken mechanism: the accountant says ρ, no noise is added
    self._record(step, rho)
    return np.asarray(counts, dtype=float)


@pytest.mark.parametrize("max_parents", ["auto", 2])  # 100 rows: "auto" is the tree; 2 forces the network
def test_audit_catches_a_mechanism_without_noise(max_parents):
    with mock.patch.object(Mechanisms, "gaussian_counts", _no_noise):
        result = run_audit(1.0, trials=TRIALS, n_rows=100, seed=1, max_parents=max_parents)
    assert result.epsilon_lower > 1.0  # the audit proves more leakage than ε = 1 allows
    assert result.tpr == 1.0 and result.fpr == 0.0


def test_audit_of_the_network_stays_under_the_claimed_epsilon():
    result = run_audit(1.0, trials=TRIALS, n_rows=100, seed=1, max_parents=2)
    assert result.epsilon_lower < 1.0


def test_lower_bound_is_conservative_for_few_trials():
    # a perfect attack on 10 trials per side proves only a modest ε at 95 % confidence
    bound = epsilon_lower_bound(np.ones(10), np.zeros(10)).epsilon_lower
    assert 1.0 < bound < 3.0
