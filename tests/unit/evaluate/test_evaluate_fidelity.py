"""Fidelity follows SDMetrics' QualityReport exactly on a mixed table (numbers, dates, bools, NaN)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from simulacra.evaluate import compute_metric, evaluate
from simulacra.metadata import Metadata


def _sdmetrics_quality(real, syn, meta):
    sdm = pytest.importorskip("sdmetrics.reports.single_table")
    spec = {"columns": {c: {"sdtype": col.type} for c, col in meta.columns.items()}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = sdm.QualityReport()
        rep.generate(real, syn, spec, verbose=False)
    props = rep.get_properties().set_index("Property")["Score"]
    return rep.get_score(), props["Column Shapes"], props["Column Pair Trends"]


def test_quality_agrees_with_sdmetrics(tables):
    real, syn = tables["real"], tables["synthetic"].copy()
    syn["income"] = syn["income"] * 1.3  # make the pair trends differ
    meta = Metadata.detect(real)
    ours = evaluate(real, syn, metadata=meta, metrics=["quality"])
    overall, shapes, pairs = _sdmetrics_quality(real, syn, meta)
    assert ours.column_shapes == pytest.approx(shapes, abs=1e-9)
    assert ours.column_pair_trends == pytest.approx(pairs, abs=1e-9)
    # SDMetrics ignores missing values; our quality is its score times missing_similarity
    assert ours.missing_similarity < 1.0
    assert ours.quality == pytest.approx(overall * ours.missing_similarity, abs=1e-9)
    same_missing = syn.copy()
    for col in real.columns:
        same_missing[col] = same_missing[col].where(real[col].notna().to_numpy())
        same_missing.loc[real[col].notna().to_numpy() & same_missing[col].isna().to_numpy(), col] = real[col]
    exact = evaluate(real, same_missing, metadata=meta, metrics=["quality"])
    assert exact.missing_similarity == 1.0
    assert exact.quality == pytest.approx(_sdmetrics_quality(real, same_missing, meta)[0], abs=1e-9)


def test_identical_tables_score_one_and_differences_lower_it(tables):
    real = tables["real"]
    assert compute_metric("column_shapes", real, real.copy()).value == 1.0
    shifted = real.copy()
    shifted["age"] = shifted["age"] + 30
    res = compute_metric("column_shapes", real, shifted)
    assert res.details["columns"]["age"]["score"] < 0.5
    assert res.details["columns"]["group"]["score"] == 1.0


def test_id_and_text_columns_are_not_scored(tables):
    real = tables["real"].assign(key=[f"K{i:05d}" for i in range(len(tables["real"]))])
    syn = tables["synthetic"].assign(key=[f"Z{i:05d}" for i in range(len(tables["synthetic"]))])
    res = compute_metric("column_shapes", real, syn)
    assert "key" in res.details["not_scored"] and "key" not in res.details["columns"]


def test_detection_separates_different_tables(tables, small_options):
    real = tables["real"]
    fake = real.copy()
    fake["income"] = np.random.default_rng(0).uniform(0, 10, len(real))
    same = evaluate(real, tables["holdout"], metrics=["detection_auc"], options=small_options)
    far = evaluate(real, fake, metrics=["detection_auc"], options=small_options)
    assert far.detection_auc > 0.95
    assert same.detection_auc < 0.65


def test_missing_similarity_reports_rates(tables):
    syn = tables["synthetic"].copy()
    syn["age"] = syn["age"].astype(float)
    syn.loc[: len(syn) // 2, "age"] = np.nan
    res = compute_metric("missing_similarity", tables["real"], syn)
    assert res.details["columns"]["age"]["synthetic"] > 0.45
    assert res.value < 0.97
