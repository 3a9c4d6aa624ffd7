from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from simulacra.io.writers import ChunkWriter, arrow_schema, fast_eligible, merge_parts


def _frame(start: int, n: int) -> pd.DataFrame:
    idx = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "text": pd.Series([None if i % 7 == 0 else f"v{i % 5}" for i in idx], dtype=object),
            "count": pd.array([pd.NA if i % 11 == 0 else int(i) for i in idx], dtype="Int64"),
            "flag": idx % 2 == 0,
            "value": idx / 3,
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(idx, unit="h"),
        }
    )


def _writer(sample: pd.DataFrame, fmt: str = "parquet") -> ChunkWriter:
    schema = arrow_schema(sample).serialize().to_pybytes()
    return ChunkWriter(fmt, schema_bytes=schema, fast=fast_eligible(sample))


@pytest.mark.parametrize("nullable", [False, True])
def test_both_paths_round_trip_dtypes_and_missing_values(tmp_path, nullable):
    frame = _frame if nullable else (lambda start, n: _frame(start, n).drop(columns="count"))
    writer = _writer(frame(0, 50))
    assert (writer.to_arrow_fast(frame(0, 10)) is None) == nullable  # Int64 needs the exact path
    path = tmp_path / "p.parquet"
    rows = writer.write_pieces(iter([frame(0, 300), frame(300, 200)]), path)
    assert rows == 500 and pq.ParquetFile(path).num_row_groups == 2
    pd.testing.assert_frame_equal(pd.read_parquet(path), pd.concat([frame(0, 300), frame(300, 200)], ignore_index=True))


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(pd.to_timedelta(np.arange(20), unit="s")),
        pd.Series(pd.date_range("2024-01-01", periods=20, tz="Europe/Paris")),
        pd.Series(pd.Categorical(["a", "b"] * 10)),
    ],
)
def test_other_types_take_the_exact_path(tmp_path, column):
    frame = pd.DataFrame({"x": np.arange(20), "other": column})
    writer = _writer(frame)
    assert writer.to_arrow_fast(frame) is None
    writer.write(frame, tmp_path / "o.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o.parquet"), frame)


def test_a_piece_the_fast_path_refuses_is_cast_to_the_file_schema(tmp_path, monkeypatch):
    first = pd.DataFrame({"text": ["a", "b"], "n": [1, 2]})
    odd = pd.DataFrame({"text": ["bytes", "c"], "n": [3, 4]})
    writer = _writer(first)
    fast = ChunkWriter.to_arrow_fast
    monkeypatch.setattr(ChunkWriter, "to_arrow_fast", lambda self, f: None if f["n"].iloc[0] == 3 else fast(self, f))
    writer.write_pieces(iter([first, odd]), tmp_path / "m.parquet")
    back = pd.read_parquet(tmp_path / "m.parquet")
    assert back["text"].tolist() == ["a", "b", "bytes", "c"] and back["n"].tolist() == [1, 2, 3, 4]


def test_merged_parts_keep_dtypes(tmp_path):
    writer = _writer(_frame(0, 10))
    parts = []
    for k in range(3):
        parts.append(tmp_path / f"part-{k}.parquet")
        writer.write(_frame(k * 100, 100), parts[-1])
    merge_parts(parts, tmp_path / "all.parquet", "parquet", writer.schema())
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "all.parquet"), _frame(0, 300))


def test_atomic_path_refuses_a_folder_before_the_block_runs(tmp_path):
    from simulacra.errors import InputError
    from simulacra.io.files import atomic_path

    (tmp_path / "out").mkdir()
    ran = []
    with pytest.raises(InputError, match="is a folder"), atomic_path(tmp_path / "out"):
        ran.append(1)
    assert not ran and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
