from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import MetadataError, ValidationError
from simulacra.metadata import Metadata, detect_column, detect_datetime_format


def test_detects_each_semantic_type():
    df = pd.DataFrame(
        {
            "user_id": [f"U{i:04d}" for i in range(60)],
            "age": np.arange(60) % 50 + 18,
            "price": np.linspace(1, 100, 60).round(2),
            "city": ["Oslo", "Rome", "Lima"] * 20,
            "flag": [True, False] * 30,
            "when": pd.date_range("2021-01-01", periods=60, freq="D").strftime("%Y-%m-%d"),
            "bio": ["this is a much longer free text about person number %d" % i for i in range(60)],
        }
    )
    meta = Metadata.detect(df)
    types = {k: v.type for k, v in meta.columns.items()}
    assert types == {
        "user_id": "id", "age": "numerical", "price": "numerical", "city": "categorical",
        "flag": "boolean", "when": "datetime", "bio": "text",
    }
    assert meta.columns["age"].integer and meta.columns["age"].minimum == 18
    assert meta.columns["price"].decimals == 2 and not meta.columns["price"].integer
    assert meta.columns["when"].format == "%Y-%m-%d"
    assert meta.primary_key == "user_id"


def test_json_round_trip_and_versioning(tmp_path):
    meta = Metadata.detect(pd.DataFrame({"a": [1.5, 2.25], "b": ["x", "y"]}))
    path = tmp_path / "meta.json"
    meta.save(path)
    assert Metadata.load(path) == meta
    payload = json.loads(path.read_text())
    assert payload["schema_version"] == 1
    payload["schema_version"] = 99
    path.write_text(json.dumps(payload))
    with pytest.raises(MetadataError, match="newer"):
        Metadata.load(path)


def test_invalid_metadata_lists_problems():
    with pytest.raises(MetadataError, match="columns.a"):
        Metadata.from_dict({"columns": {"a": {"type": "nonsense"}}})


def test_override_column_type():
    meta = Metadata.detect(pd.DataFrame({"zip": [10115, 20095, 10115, 80331]}))
    assert meta["zip"].type == "numerical"
    meta.update_column("zip", type="categorical")
    assert meta["zip"].type == "categorical"
    with pytest.raises(MetadataError, match="Unknown column type"):
        meta.update_column("zip", type="colour")
    with pytest.raises(MetadataError, match="No column"):
        meta["nope"]


def test_validation_lists_every_problem_at_once():
    meta = Metadata.from_dict(
        {"columns": {"age": {"type": "numerical", "integer": True}, "id": {"type": "id"}, "gone": {"type": "categorical"}}}
    )
    df = pd.DataFrame({"age": ["31", "n/a", "n/a", "2.5", np.inf], "id": [1, 1, 2, 3, 4], "extra": 1})
    problems = meta.problems(df)
    text = "\n".join(problems)
    assert "non-numeric values (e.g. 'n/a')" in text and "declare it categorical" in text
    assert "duplicate values" in text
    assert "not in the data: gone" in text and "not in the metadata: extra" in text
    with pytest.raises(ValidationError) as err:
        meta.validate_data(df)
    assert len(err.value.problems) == len(problems) >= 4


def test_infinite_values_are_reported():
    df = pd.DataFrame({"x": [1.0, np.inf, np.nan, -np.inf]})
    problems = Metadata.detect(df).problems(df)
    assert any("2 infinite values" in p for p in problems)


def test_mixed_numbers_and_words():
    mostly_numbers = pd.Series(["1", "2", "3"] * 40 + ["?"], name="n")
    with pytest.warns(UserWarning, match="non-numeric"):
        col = detect_column(mostly_numbers)
    assert col.type == "numerical" and col.missing_tokens == ["?"]
    mixed = pd.Series(["1", "two", "3", "four"] * 10, name="m")
    assert detect_column(mixed).type == "categorical"


def test_dates_in_several_formats():
    strings = pd.Series(["2021-01-05", "05/02/2021", "March 3, 2021", "2021-04-01"] * 5)
    assert detect_datetime_format(strings) == "mixed"
    assert detect_datetime_format(pd.Series(["20141013T000000", "20150225T000000"])) == "%Y%m%dT%H%M%S"
    assert detect_datetime_format(pd.Series(["apple", "pear"])) is None


def test_frame_problems():
    with pytest.raises(ValidationError, match="no rows"):
        Metadata.detect(pd.DataFrame({"a": []}))
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(ValidationError, match="Duplicate column names"):
        Metadata.detect(dup)


def test_detection_never_mutates():
    df = pd.DataFrame({"a": ["1", "2", "x"], "b": [1.0, np.nan, 3.0]})
    before = df.copy()
    Metadata.detect(df)
    pd.testing.assert_frame_equal(df, before)


def test_few_unique_labels_are_not_an_identifier():
    assert detect_column(pd.Series(["c0", "c3", "c1"], name="city")).type == "categorical"
    assert detect_column(pd.Series(["c0", "c3", "c1"], name="city_id")).type == "id"
    assert detect_column(pd.Series([f"K{i:03d}" for i in range(40)], name="code")).type == "id"
