"""DPSynthesizer's tree: the structure score, its sensitivity, and the marginals every noisy table measures."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from simulacra.privacy.accounting import DEFAULT_SHARES
from simulacra.tabular.dp import DPSynthesizer
from simulacra.tabular.dp.synthesizer import SMALL_EPSILON_SELECTION
from simulacra.tabular.dp.tree import DEPENDENCE_SENSITIVITY, combine_marginals, dependence


def test_dependence_moves_by_less_than_its_sensitivity_when_one_row_is_added():
    rng = np.random.default_rng(0)
    largest = 0.0
    for _ in range(400):
        ka, kb = rng.integers(2, 7, size=2)
        table = rng.integers(0, rng.integers(1, 40), size=(ka, kb))
        a, b = rng.integers(ka), rng.integers(kb)
        plus = table.copy()
        plus[a, b] += 1
        largest = max(largest, abs(dependence(plus) - dependence(table)))
    assert largest <= DEPENDENCE_SENSITIVITY
    assert largest > 1.0  # the bound of 1 that a distance from fixed marginals has would not hold here


def _label_table(n: int, seed: int) -> pd.DataFrame:
    """A label tied to a 3-code column, beside a wide numeric column and some noise columns it does not depend on."""
    rng = np.random.default_rng(seed)
    pay = rng.choice([0, 1, 2], n, p=[0.6, 0.3, 0.1])
    y = (rng.random(n) < np.array([0.2, 0.4, 0.6])[pay]).astype(int)
    age = rng.integers(21, 80, n)
    frame = {"age": age, "pay": pay, "y": y}
    for k in range(12):
        frame[f"amount{k}"] = np.round(rng.lognormal(8, 1.5, n), 2)
    return pd.DataFrame(frame)


def test_the_label_is_tied_to_the_column_it_depends_on_at_small_epsilon():
    # Regression: the score measured each pair against the *noisy* 1-way marginals, so a column of
    # many codes whose marginal is noisy (age, amounts) looked dependent on everything at small ε, and
    # the label was attached to it instead of to the column it depends on (here: to age in 5 fits of 6).
    df = _label_table(20000, 0)
    hits = 0
    for seed in range(6):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            synth = DPSynthesizer(epsilon=0.3, delta=1e-9, random_state=seed).fit(df)
        hits += any(set(edge) == {"y", "pay"} for edge in synth.describe()["tree"])
    assert hits >= 5


def test_combined_marginal_weighs_each_measurement_by_its_noise():
    released = [np.array([0.7, 0.3]), np.array([0.5, 0.5])]
    noisy = [np.array([[400.0, 100.0], [100.0, 400.0]])]  # the table says column 0 is 50/50
    # column 0's own release is 100x noisier than the table's sums: the table wins
    out = combine_marginals(released, [np.full(2, 1e6), np.full(2, 1e2)], [(0, 1)], noisy, 1e2 / 2, 1000.0)
    assert np.allclose(out[0], [0.5, 0.5], atol=0.01)
    # equally noisy: the average, then normalised
    out = combine_marginals(released, [np.full(2, 100.0), np.full(2, 100.0)], [(0, 1)], noisy, 50.0, 1000.0)
    assert np.allclose(out[0], [0.6, 0.4], atol=1e-6)
    assert all(abs(m.sum() - 1.0) < 1e-9 and (m >= 0).all() for m in out)


def test_tree_marginal_of_a_wide_numeric_column_is_closer_to_the_truth_than_its_own_release():
    df = _label_table(20000, 1)
    own, tree = [], []
    for seed in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            synth = DPSynthesizer(epsilon=0.3, delta=1e-9, random_state=seed).fit(df)
        k = synth.modelled_.index("age")
        domain = synth.domains_["age"]
        truth = np.bincount(domain.codes(df["age"].to_numpy(float)), minlength=domain.n_codes) / len(df)
        own.append(np.abs(domain.marginal() - truth).sum())
        tree.append(np.abs(synth.tree_.marginals[k] - truth).sum())
    assert np.mean(tree) < 0.7 * np.mean(own)


def test_small_epsilon_gives_the_structure_more_of_the_budget():
    df = _label_table(3000, 2)[["pay", "y", "age"]]
    shares = {}
    for eps in (0.3, 1.0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            split = DPSynthesizer(epsilon=eps, delta=1e-9, random_state=0).fit(df).privacy_guarantee()["split"]
        shares[eps] = {step: part["share"] for step, part in split.items()}
        assert abs(sum(shares[eps].values()) - 1.0) < 1e-12
    assert shares[1.0] == DEFAULT_SHARES
    assert shares[0.3]["selection"] == SMALL_EPSILON_SELECTION > DEFAULT_SHARES["selection"]
    assert shares[0.3]["pairs"] == pytest.approx(DEFAULT_SHARES["pairs"] - (SMALL_EPSILON_SELECTION - DEFAULT_SHARES["selection"]))
