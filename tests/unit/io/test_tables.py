from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import DataReadError
from simulacra.io import read_table, write_table


def test_csv_delimiter_and_bom(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("\ufeffa;b;c\n1;x;2.5\n2;y;3.5\n".encode())
    df = read_table(p)
    assert list(df.columns) == ["a", "b", "c"] and df["a"].tolist() == [1, 2]


def test_tab_and_pipe_delimiters(tmp_path):
    for sep in ("\t", "|"):
        p = tmp_path / "t.csv"
        p.write_text(sep.join(["a", "b"]) + "\n" + sep.join(["1", "x"]) + "\n")
        assert list(read_table(p).columns) == ["a", "b"]
    p.write_text("a,b\n1,x\n")
    assert read_table(p, delimiter=",")["b"].tolist() == ["x"]


def test_non_utf8_bytes_are_read_with_a_warning(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("name,city\nJos\xe9,M\xfcnchen\n".encode("latin-1"))
    with pytest.warns(UserWarning, match="not UTF-8"):
        df = read_table(p)
    assert df["city"].tolist() == ["München"]


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataReadError, match="empty"):
        read_table(empty)
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    assert len(read_table(header)) == 0


def test_duplicate_header_names(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(DataReadError, match="duplicate column names: 'a'"):
        read_table(p)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DataReadError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    odd = tmp_path / "t.xyz"
    odd.write_text("a\n1\n")
    with pytest.raises(Exception, match="Cannot tell the format"):
        read_table(odd)


def test_too_large_is_refused_or_streamed(tmp_path):
    p = tmp_path / "big.csv"
    rows = pd.DataFrame({"i": np.arange(5000), "g": np.arange(5000) % 3})
    rows.to_csv(p, index=False)
    with pytest.raises(DataReadError, match="--sample-rows"):
        read_table(p, max_memory=10_000)
    sample = read_table(p, max_memory=10_000, sample_rows=100, random_state=1)
    assert len(sample) == 100 and sample["i"].is_unique and sample["i"].is_monotonic_increasing
    again = read_table(p, max_memory=10_000, sample_rows=100, random_state=1)
    pd.testing.assert_frame_equal(sample, again)


def test_a_table_too_large_in_a_database_gets_the_databases_advice(tmp_path):
    """In a folder of related tables a too-large file was refused with '--sample-rows', which `fit` refuses
    for folders (a sample of one table breaks its keys): the advice now fits a database."""
    from simulacra.io import read_tables

    pd.DataFrame({"i": np.arange(5000)}).to_csv(tmp_path / "orders.csv", index=False)
    pd.DataFrame({"i": [1, 2]}).to_csv(tmp_path / "shops.csv", index=False)
    with pytest.raises(DataReadError, match=r"orders.csv' is .* GB.* tables of a database are read whole: fit on a subset") as err:
        read_tables(tmp_path, max_memory=10_000)
    assert "--sample-rows" not in str(err.value) and "--max-rows-in-memory" in str(err.value)
    assert set(read_tables(tmp_path)) == {"orders", "shops"}


@pytest.mark.parametrize("ext", ["parquet", "csv", "jsonl"])
def test_write_read_round_trip_keeps_types(tmp_path, ext):
    df = pd.DataFrame(
        {
            "i": pd.array([1, None, 3], dtype="Int64"),
            "f": [1.5, np.nan, 2.25],
            "s": ["a", None, "c"],
            "d": pd.to_datetime(["2020-01-01", None, "2020-03-01"]),
        }
    )
    path = write_table(df, tmp_path / f"t.{ext}")
    back = read_table(path)
    assert back["i"].dropna().tolist() == [1, 3] and back["i"].isna().tolist() == [False, True, False]
    assert back["f"].isna().tolist() == [False, True, False]
    assert back["s"].isna().tolist() == [False, True, False]
    if ext == "parquet":
        pd.testing.assert_frame_equal(back, df)
    assert not list(tmp_path.glob("*.part")), "no temporary file is left behind"


def test_write_is_atomic_on_failure(tmp_path):
    target = tmp_path / "out.parquet"
    bad = pd.DataFrame({"x": [object()]})
    with pytest.raises(Exception):
        write_table(bad, target)
    assert not target.exists() and not list(tmp_path.iterdir())
