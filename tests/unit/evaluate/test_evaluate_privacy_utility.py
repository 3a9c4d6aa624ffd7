"""Privacy metrics flag a copied table and pass an independent one; utility compares TSTR with TRTR."""

from __future__ import annotations

import numpy as np
import pytest

from simulacra.evaluate import evaluate

PRIVACY = ["dcr_share", "exact_copies", "nndr", "mia_auc", "attribute_risk"]


def test_copied_rows_are_flagged(tables, small_options):
    real, hold = tables["real"], tables["holdout"]
    leak = real.sample(len(real), replace=True, random_state=0)
    rep = evaluate(real, leak, holdout=hold, secret="group", metrics=PRIVACY, options=small_options)
    assert rep.exact_copies > 0.9 and rep.exact_copies_holdout < 0.05
    assert rep.dcr_share > 0.75  # 600 of 800 training rows are in the reference sample
    assert rep.mia_auc > 0.7
    assert rep.nndr < rep.nndr_holdout
    assert rep.attribute_risk > 0.3
    assert rep.privacy < 0.2 and rep.verdict["privacy"]["level"] == "poor"


def test_independent_rows_look_private(tables, small_options):
    rep = evaluate(tables["real"], tables["synthetic"], holdout=tables["holdout"], secret="group",
                   metrics=PRIVACY, options=small_options)
    assert rep.exact_copies == 0.0
    assert 0.4 < rep.dcr_share < 0.6
    lo, hi = rep.results["dcr_share"].ci
    assert lo < rep.dcr_share < hi
    assert 0.4 < rep.mia_auc < 0.6
    assert rep.attribute_risk < 0.15
    assert rep.results["dcr_share"].sampling  # the samples are stated


def test_tstr_classification_and_regression(tables, small_options):
    real, hold = tables["real"], tables["holdout"]
    good = evaluate(real, tables["synthetic"], holdout=hold, target="y", metrics=["tstr"], options=small_options)
    assert good.results["tstr"].details["task"] == "classification"
    assert good.trtr > 0.8 and good.tstr_ratio > 0.9
    noise = tables["synthetic"].copy()
    noise["y"] = np.random.default_rng(0).permutation(noise["y"].to_numpy())
    bad = evaluate(real, noise, holdout=hold, target="y", metrics=["tstr"], options=small_options)
    assert bad.tstr < 0.65 and bad.tstr_ratio < good.tstr_ratio
    # above chance (AUC 0.5), the noise table keeps far less of the real model's skill than the plain ratio says
    for rep in (good, bad):
        assert rep.tstr_ratio_above_chance == pytest.approx((rep.tstr - 0.5) / (rep.trtr - 0.5))
    assert bad.tstr_ratio_above_chance < bad.tstr_ratio - 0.2
    reg = evaluate(real, tables["synthetic"], holdout=hold, target="income", metrics=["tstr"], options=small_options)
    assert reg.results["tstr"].details["task"] == "regression"
    assert reg.trtr > 0.5
    assert "tstr_f1" not in reg.scores and "trtr_f1" not in reg.scores  # F1 is for classes only
    assert reg.tstr_ratio_above_chance == pytest.approx(reg.tstr_ratio)  # chance is R² = 0
    assert reg.results["tstr"].details["rows_without_target_left_out"]["real"] > 0  # NaN targets counted


def test_utility_and_privacy_skip_without_holdout(tables):
    rep = evaluate(tables["real"], tables["synthetic"], target="y", metrics=["tstr", "dcr_share"])
    assert rep.tstr is None and "holdout" in rep.results["tstr"].skipped
    assert rep.dcr_share is None


def test_same_seed_same_numbers(tables, small_options):
    args = dict(holdout=tables["holdout"], target="y", metrics=["detection_auc", "dcr_share", "mia_auc"], options=small_options)
    a = evaluate(tables["real"], tables["synthetic"], random_state=3, **args)
    b = evaluate(tables["real"], tables["synthetic"], random_state=3, **args)
    assert a.scores == b.scores
    assert a.dcr_share == pytest.approx(b.dcr_share)
