from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.scale.chunks import FunctionProducer
from simulacra.scale.job import MANIFEST, SUCCESS, job_status, run_job


def _rows(start, stop):
    idx = pd.RangeIndex(start, stop)
    return pd.DataFrame({"i": idx, "sq": idx * idx, "tag": [f"r{k}" for k in idx]})


FAIL_FLAG = "SIMULACRA_TEST_FAIL_AT"


def _failing_rows(start, stop):
    if os.environ.get(FAIL_FLAG) and start >= int(os.environ[FAIL_FLAG]):
        raise RuntimeError("simulated crash")
    return _rows(start, stop)


def _crash_at(monkeypatch, row, n_rows, out):
    """Run a job of ``n_rows`` in 100-row chunks that crashes at ``row``; its producer, to resume with."""
    producer = FunctionProducer(_failing_rows, "rows")
    monkeypatch.setenv(FAIL_FLAG, str(row))
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_job(producer, n_rows, out, chunk_rows=100, workers=1)
    monkeypatch.delenv(FAIL_FLAG)
    return producer


@pytest.mark.parametrize("name,reader", [
    ("out.parquet", pd.read_parquet),
    ("out.csv", pd.read_csv),
    ("out.jsonl", lambda p: pd.read_json(p, lines=True)),
])
def test_single_file_formats_hold_every_row_in_order(tmp_path, name, reader):
    result = run_job(FunctionProducer(_rows, "rows"), 1000, tmp_path / name, chunk_rows=128, workers=1)
    assert result.path == tmp_path / name and result.chunks == 8
    pd.testing.assert_frame_equal(reader(tmp_path / name), _rows(0, 1000), check_dtype=False)
    assert sorted(os.listdir(tmp_path)) == [name]  # staging folder removed


def test_folder_output_is_partitioned_parquet_with_markers(tmp_path):
    out = tmp_path / "parts"
    result = run_job(FunctionProducer(_rows, "rows"), 1000, f"{out}/", chunk_rows=300, workers=2)
    names = sorted(os.listdir(out))
    assert names == sorted([MANIFEST, SUCCESS]) + [f"part-00000{k}.parquet" for k in range(4)]
    assert result.chunks_made == 4
    pd.testing.assert_frame_equal(pd.read_parquet(out), _rows(0, 1000), check_dtype=False)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["n_rows"] == 1000 and manifest["chunk_rows"] == 300


def test_zero_rows_gives_an_empty_table_with_columns(tmp_path):
    run_job(FunctionProducer(_rows, "rows"), 0, tmp_path / "e.parquet", chunk_rows=10, workers=1)
    back = pd.read_parquet(tmp_path / "e.parquet")
    assert len(back) == 0 and list(back.columns) == ["i", "sq", "tag"]


def test_interrupted_job_resumes_without_redoing_finished_chunks(tmp_path, monkeypatch):
    out = tmp_path / "rows.csv"
    producer = FunctionProducer(_failing_rows, "rows")
    monkeypatch.setenv(FAIL_FLAG, "500")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_job(producer, 1000, out, chunk_rows=100, workers=1)
    assert not out.exists()  # no file that looks complete
    status = job_status(out)
    assert status["state"] == "partial" and status["chunks_done"] == 5 and status["rows_done"] == 500
    staged = tmp_path / ".rows.csv.parts"
    mtimes = {p.name: p.stat().st_mtime_ns for p in staged.glob("part-*")}
    stale = staged / ".part-000007.csv.simulacra-4194305-0badcafe.part"  # its process (no such pid) is gone
    stale.write_text("half a chunk")  # a temp file a crash left behind
    monkeypatch.delenv(FAIL_FLAG)
    result = run_job(producer, 1000, out, chunk_rows=100, workers=1)
    assert (result.chunks_resumed, result.chunks_made) == (5, 5)
    pd.testing.assert_frame_equal(pd.read_csv(out), _rows(0, 1000))
    assert not staged.exists()
    assert job_status(out)["state"] == "complete"
    assert len(mtimes) == 5


def test_finished_parts_are_not_rewritten_on_resume(tmp_path, monkeypatch):
    out = tmp_path / "o"
    producer = _crash_at(monkeypatch, 300, 600, f"{out}/")
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*")}
    assert len(before) == 3 and not (out / SUCCESS).exists()
    run_job(producer, 600, f"{out}/", chunk_rows=100, workers=1)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*")}
    assert all(after[k] == v for k, v in before.items()) and len(after) == 6
    assert (out / SUCCESS).exists()


def test_a_different_job_in_the_folder_is_refused_unless_overwrite(tmp_path):
    out = f"{tmp_path}/o/"
    run_job(FunctionProducer(_rows, "rows"), 100, out, chunk_rows=50, workers=1)
    with pytest.raises(InputError, match="different"):
        run_job(FunctionProducer(_rows, "rows"), 100, out, chunk_rows=20, workers=1)
    result = run_job(FunctionProducer(_rows, "rows"), 100, out, chunk_rows=20, workers=1, overwrite=True)
    assert result.chunks_made == 5 and len(list(Path(out).glob("part-*"))) == 5


def test_folder_with_foreign_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="did not write"):
        run_job(FunctionProducer(_rows, "rows"), 10, f"{tmp_path}/", chunk_rows=5, workers=1)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_completed_job_is_not_redone(tmp_path):
    out = f"{tmp_path}/o/"
    run_job(FunctionProducer(_rows, "rows"), 100, out, chunk_rows=50, workers=1)
    again = run_job(FunctionProducer(_rows, "rows"), 100, out, chunk_rows=50, workers=1)
    assert again.chunks_made == 0 and again.chunks_resumed == 2


def test_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="engine"):
        run_job(FunctionProducer(_rows, "rows"), 10, tmp_path / "a.parquet", engine="spark")
    with pytest.raises(InputError, match="format"):
        run_job(FunctionProducer(_rows, "rows"), 10, f"{tmp_path}/x/", format="xlsx")
    with pytest.raises(InputError, match="workers"):
        run_job(FunctionProducer(_rows, "rows"), 10, tmp_path / "a.parquet", workers=0)


def _dies(start, stop):
    if start >= 200:
        os._exit(9)  # a worker killed (as by the OOM killer)
    return _rows(start, stop)


def test_a_dead_worker_is_a_clear_error_and_finished_chunks_stay(tmp_path):
    from simulacra.errors import SimulacraError

    out = f"{tmp_path}/o/"
    with pytest.raises(SimulacraError, match="worker process died"):
        run_job(FunctionProducer(_dies, "dies"), 1000, out, chunk_rows=100, workers=2)
    assert job_status(out)["state"] == "partial"


def test_a_single_parquet_file_is_staged_as_arrow_streams_and_resumes_from_them(tmp_path, monkeypatch):
    """Parts of a single Parquet file are Arrow streams, encoded to Parquet once (when assembled),
    not Parquet parts decoded and encoded a second time; an interrupted job resumes from them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "rows.parquet"
    producer = _crash_at(monkeypatch, 300, 700, out)
    staged = tmp_path / ".rows.parquet.parts"
    parts = sorted(p.name for p in staged.glob("part-*"))
    assert parts == [f"part-00000{k}.arrow" for k in range(3)] and not out.exists()
    first = pa.ipc.open_stream(str(staged / parts[0])).read_all()
    assert first.num_rows == 100 and pa.types.is_dictionary(first.schema.field("tag").type)
    manifest = json.loads((staged / MANIFEST).read_text())
    assert (manifest["output_format"], manifest["part_format"]) == ("parquet", "arrow")
    assert job_status(out)["chunks_done"] == 3
    result = run_job(producer, 700, out, chunk_rows=100, workers=1)
    assert (result.chunks_resumed, result.chunks_made) == (3, 4) and not staged.exists()
    back = pd.read_parquet(out)
    pd.testing.assert_frame_equal(back, _rows(0, 700), check_dtype=False)
    assert back["tag"].dtype == object  # text reads back as text, not as a category
    meta = pq.ParquetFile(out).metadata
    assert meta.num_rows == 700 and meta.row_group(0).column(2).compression == "SNAPPY"


def test_a_folder_job_of_the_old_manifest_without_part_format_still_resumes(tmp_path, monkeypatch):
    out = tmp_path / "o"
    producer = _crash_at(monkeypatch, 200, 400, f"{out}/")
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["part_format"]  # as written before part formats existed
    (out / MANIFEST).write_text(json.dumps(manifest))
    result = run_job(producer, 400, f"{out}/", chunk_rows=100, workers=1)
    assert (result.chunks_resumed, result.chunks_made) == (2, 2)
