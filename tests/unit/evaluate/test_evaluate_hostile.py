"""Broken synthetic tables are scored as broken: empty columns, impossible dates, tiny and odd tables."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.evaluate import evaluate


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate(*args, **kwargs)


def test_an_entirely_empty_column_lowers_quality_and_fails_fidelity(tables):
    real, syn = tables["real"], tables["synthetic"]
    base = _quiet(real, syn, metrics=["quality"])
    emptied = syn.copy()
    emptied["income"] = np.nan
    broken = _quiet(real, emptied, metrics=["quality"])
    assert broken.quality < base.quality - 0.05
    assert broken.results["column_shapes"].details["columns"]["income"]["score"] == 0.0
    assert broken.info["empty_columns"] == {"income": "synthetic"}
    assert broken.verdict["fidelity"]["level"] == "poor" and "income" in broken.verdict["fidelity"]["text"]
    assert any("'income' is entirely empty" in w for w in broken.warnings)
    summary = str(broken.summary())
    assert "empty_columns" in summary and "FAILED: income" in summary


def test_missing_values_where_real_has_none_lower_quality(tables):
    real, syn = tables["real"], tables["synthetic"]
    holes = syn.copy()
    holes.loc[: len(holes) // 2, "age"] = np.nan
    a, b = _quiet(real, syn, metrics=["quality"]), _quiet(real, holes, metrics=["quality"])
    assert b.missing_similarity < a.missing_similarity
    assert b.quality < a.quality


def test_impossible_dates_count_as_invalid_rows():
    real = pd.DataFrame({"d": [f"{y}-01-02" for y in range(2500, 2600)], "x": np.arange(100.0)})
    syn = real.copy()
    syn.loc[:9, "d"] = "8896-34-07"
    report = _quiet(real, syn, metrics=["validity"])
    assert report.validity == pytest.approx(0.9)
    assert report.type_errors == pytest.approx(0.1)
    assert report.results["validity"].details["columns"]["d"]["unreadable"] == 10


@pytest.mark.parametrize("rows", [1, 2])
def test_tiny_synthetic_tables_give_a_report(tables, rows):
    real = tables["real"]
    report = _quiet(real, real.head(rows), holdout=tables["holdout"], target="y")
    json.dumps(report.to_dict(), allow_nan=False)
    assert report.results["detection_auc"].skipped.startswith("needs at least")
    assert report.results["tstr"].skipped.startswith("needs at least")


def test_all_missing_tables_give_a_report():
    empty = pd.DataFrame({"x": [np.nan] * 5, "c": [None] * 5})
    report = _quiet(empty, empty.copy())
    json.dumps(report.to_dict(), allow_nan=False)
    assert report.validity == 1.0 and report.quality is None


def test_infinite_and_huge_values_do_not_break_the_models(tables):
    real, syn = tables["real"].copy(), tables["synthetic"].copy()
    real.loc[:3, "income"] = [np.inf, -np.inf, 1e308, -1e308]
    syn.loc[:1, "income"] = [np.inf, 1e300]
    report = _quiet(real, syn, holdout=tables["holdout"], target="y")
    json.dumps(report.to_dict(), allow_nan=False)
    assert report.tstr is not None and report.detection_auc is not None


def test_nested_and_binary_columns_are_refused_by_name():
    frame = pd.DataFrame({"x": [1.0, 2.0], "tags": [[1, 2], [3]], "blob": [b"\x00", b"\x01"]})
    with pytest.raises(InputError, match="'tags' holds nested values.*'blob' holds binary"):
        evaluate(frame, frame.copy())
