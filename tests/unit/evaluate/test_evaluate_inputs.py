"""Bad input gets a clear error or warning, never a confident wrong number."""

from __future__ import annotations

import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.evaluate import EvaluationWarning, evaluate


def test_mismatched_columns(tables):
    with pytest.raises(InputError, match="missing from the synthetic table: group"):
        evaluate(tables["real"], tables["synthetic"].drop(columns="group"))
    with pytest.raises(InputError, match="only in the holdout table: extra"):
        evaluate(tables["real"], tables["synthetic"], holdout=tables["holdout"].assign(extra=1))


def test_target_missing_on_one_side(tables):
    with pytest.raises(InputError, match="target column 'y' is missing from the synthetic table"):
        evaluate(tables["real"], tables["synthetic"].drop(columns="y"), target="y")
    with pytest.raises(InputError, match="not in the real table"):
        evaluate(tables["real"].drop(columns="y"), tables["synthetic"].drop(columns="y"), target="y")
    empty_target = tables["synthetic"].assign(y=None)
    with pytest.raises(InputError, match="no values in the synthetic table"):
        evaluate(tables["real"], empty_target, target="y", metrics=["quality"])


def test_empty_synthetic_table(tables):
    with pytest.raises(InputError, match="synthetic table is empty"):
        evaluate(tables["real"], tables["synthetic"].iloc[:0])


def test_different_dtypes(tables):
    bad = tables["synthetic"].assign(age=["x"] * len(tables["synthetic"]))
    with pytest.raises(InputError, match="'age' is int64 in the real table but object"):
        evaluate(tables["real"], bad)
    as_text = tables["synthetic"].assign(age=tables["synthetic"]["age"].astype(str))
    rep = evaluate(tables["real"], as_text, metrics=["column_shapes"])  # convertible: no warning needed
    assert rep.results["column_shapes"].details["columns"]["age"]["score"] > 0.9
    few_bad = as_text.copy()
    few_bad.loc[0, "age"] = "unknown"
    with pytest.warns(EvaluationWarning, match="count as type errors"):
        evaluate(tables["real"], few_bad, metrics=["column_shapes"])


def test_holdout_overlapping_training_warns(tables):
    real = tables["real"]
    with pytest.warns(EvaluationWarning, match="holdout overlaps the training data"):
        rep = evaluate(real, tables["synthetic"], holdout=real.sample(300, random_state=0), metrics=["dcr_share"])
    assert rep.verdict["privacy"]["level"] == "unknown"
    assert rep.warnings


def test_unknown_names(tables):
    with pytest.raises(InputError, match="sensitive column 'nope'"):
        evaluate(tables["real"], tables["synthetic"], sensitive="nope")
    with pytest.raises(InputError, match="No metric called"):
        evaluate(tables["real"], tables["synthetic"], metrics=["nope"])
    with pytest.raises(InputError, match="DataFrame or a file path"):
        evaluate([1, 2], tables["synthetic"])


def test_paths_are_read(tmp_path, tables):
    tables["real"].to_csv(tmp_path / "r.csv", index=False)
    tables["synthetic"].to_parquet(tmp_path / "s.parquet")
    rep = evaluate(str(tmp_path / "r.csv"), tmp_path / "s.parquet", metrics=["quality"])
    assert 0.5 < rep.quality <= 1.0
    assert isinstance(tables["real"], pd.DataFrame)
