"""Output folders and jobs (issue 12): no foreign file removed, no temporary left, no plan in memory."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
import warnings
from pathlib import Path

import pandas as pd
import pytest

from simulacra.errors import InputError, SpecError
from simulacra.io.files import atomic_path, stale_temps, temp_path
from simulacra.scale.chunks import FunctionProducer
from simulacra.scale.job import MANIFEST, SUCCESS, job_status, run_job

DEAD_PID = 4194305  # above Linux's pid_max: no such process


def _cli(argv, capsys) -> tuple[int, str]:
    """Run the command line as a user does: exit code and everything printed."""
    from simulacra.cli.main import main

    try:
        code = int(main([str(a) for a in argv]) or 0)  # the console script exits with what main returns
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _rows(start, stop):
    idx = pd.RangeIndex(start, stop)
    return pd.DataFrame({"i": idx, "half": idx / 2})


def _foreign(folder: Path) -> dict[str, bytes]:
    """Another tool's output: names that look like a job's parts and markers."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "part-0.parquet": b"theirs 0",
        "part-000000.parquet": b"theirs, named like ours",
        SUCCESS: b"",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def _unchanged(folder: Path, files: dict[str, bytes]) -> bool:
    return all((folder / name).read_bytes() == data for name, data in files.items())


def test_a_folder_of_another_tool_is_refused_and_left_as_it_was(tmp_path):
    out = tmp_path / "out"
    files = _foreign(out)
    with pytest.raises(InputError, match="did not write.*--overwrite"):
        run_job(FunctionProducer(_rows, "rows"), 100, f"{out}/", chunk_rows=40, workers=1)
    assert _unchanged(out, files) and sorted(os.listdir(out)) == sorted(files)  # no manifest either


def test_overwrite_says_what_it_removes(tmp_path):
    out = tmp_path / "out"
    (out / "keep").mkdir(parents=True)  # folders are never removed: refused instead
    _foreign(out)
    with pytest.raises(InputError, match="folders"):
        run_job(FunctionProducer(_rows, "rows"), 100, f"{out}/", chunk_rows=40, workers=1, overwrite=True)
    (out / "keep").rmdir()
    with pytest.warns(UserWarning, match=r"removing 3 file\(s\).*part-0\.parquet"):
        result = run_job(FunctionProducer(_rows, "rows"), 100, f"{out}/", chunk_rows=40, workers=1, overwrite=True)
    assert sorted(Path(p).name for p in result.extra["removed"]) == sorted(["part-0.parquet", "part-000000.parquet", SUCCESS])
    pd.testing.assert_frame_equal(pd.read_parquet(out), _rows(0, 100), check_dtype=False)


def test_resume_keeps_foreign_files_out(tmp_path):
    """A finished job's folder that gained a foreign file is not silently treated as ours."""
    out = tmp_path / "out"
    run_job(FunctionProducer(_rows, "rows"), 100, f"{out}/", chunk_rows=40, workers=1)
    (out / "part-000009.parquet").write_bytes(b"beyond the job's 3 chunks: not ours")
    with pytest.raises(InputError, match="did not write"):
        run_job(FunctionProducer(_rows, "rows"), 100, f"{out}/", chunk_rows=40, workers=1)
    assert (out / "part-000009.parquet").read_bytes().startswith(b"beyond")


def test_cli_sample_to_a_foreign_folder_is_refused(tmp_path, small_synth, capsys):
    model = tmp_path / "m.model"
    small_synth.save(model)
    out = tmp_path / "folder"
    files = _foreign(out)
    code, output = _cli(["sample", model, "-n", "500", "-o", f"{out}/"], capsys)
    assert code == 2 and "did not write" in output
    assert _unchanged(out, files) and not (out / MANIFEST).exists()
    code, output = _cli(["sample", model, "-n", "500", "-o", f"{out}/", "--overwrite"], capsys)
    assert code == 0, output
    flat = output.replace("\n", "")  # rich wraps long lines
    assert "removed (--overwrite)" in flat and "part-0.parquet" in flat
    assert len(pd.read_parquet(out)) == 500


SPEC = """
name: two
tables:
  people:
    rows: 50
    columns:
      id: {kind: sequence}
      age: {kind: normal, mean: 40, std: 10}
  pets:
    rows: 20
    columns:
      id: {kind: sequence}
"""


def test_generate_to_a_foreign_folder_is_refused(tmp_path):
    from simulacra.scale.spec import run_generate_job
    from simulacra.spec import Spec

    spec = Spec.from_yaml(SPEC)
    job = tmp_path / "job"
    files = _foreign(job / "people")  # a multi-table job writes one folder of parts per table
    with pytest.raises(InputError, match="did not write"):
        run_generate_job(spec, f"{job}/", 50, progress=False)
    assert _unchanged(job / "people", files)
    plain = tmp_path / "plain"
    files = _foreign(plain)
    with pytest.raises(SpecError, match="did not write"):
        spec.generate_to(plain, 50)
    assert _unchanged(plain, files) and sorted(os.listdir(plain)) == sorted(files)
    fresh = tmp_path / "fresh"
    spec.generate_to(fresh, 50)
    spec.generate_to(fresh, 60)  # its own earlier output is replaced without a word
    assert len(pd.read_parquet(fresh / "people.parquet")) == 60


# -- temporaries ---------------------------------------------------------------------------------
def test_stale_temporaries_are_removed_on_the_next_write_and_nothing_else(tmp_path):
    target = tmp_path / "rows.parquet"
    stale = tmp_path / f".rows.parquet.simulacra-{DEAD_PID}-0badcafe.part"
    mine = temp_path(target)  # this process is alive: not stale
    lookalikes = [tmp_path / ".rows.parquet.tmp", tmp_path / f".other.parquet.simulacra-{DEAD_PID}-0badcafe.part",
                  tmp_path / f".rows.parquet.simulacra-{DEAD_PID}-notatoken.part"]
    for p in [stale, mine, *lookalikes]:
        p.write_text("x")
    assert stale_temps(target) == [stale]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert not stale.exists() and mine.exists() and all(p.exists() for p in lookalikes)


def test_a_failed_write_leaves_no_temporary(tmp_path):
    with pytest.raises(ZeroDivisionError), atomic_path(tmp_path / "x.csv") as tmp:
        tmp.write_text("half")
        1 / 0  # noqa: B018
    assert os.listdir(tmp_path) == []


# -- lazy planning ---------------------------------------------------------------------------------
class _StopAfterOneChunk(Exception):
    pass


def _one_chunk_then_stop(start, stop):
    if start >= 1000:
        raise _StopAfterOneChunk
    return _rows(start, stop)


def test_a_job_of_10_to_the_15_rows_plans_nothing_ahead(tmp_path):
    out = tmp_path / "huge"
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(_StopAfterOneChunk):
        run_job(FunctionProducer(_one_chunk_then_stop, "huge"), 10**15, f"{out}/", chunk_rows=1000, workers=1, progress=False)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seconds < 20 and peak < 50e6  # the chunk list alone would be 10**12 chunks
    assert (out / "part-000000.parquet").exists() and (out / MANIFEST).exists()
    status = job_status(f"{out}/")
    assert status["chunks"] == 10**12 and status["chunks_done"] == 1 and status["rows_done"] == 1000


def _broken(start, stop):
    raise ValueError("the model cannot make rows")


def test_a_refused_job_leaves_no_manifest(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ValueError, match="cannot make rows"):
        run_job(FunctionProducer(_broken, "broken"), 10**15, f"{out}/", chunk_rows=1 << 20, workers=1)
    assert not out.exists()
    with pytest.raises(InputError):
        run_job(FunctionProducer(_rows, "rows"), -5, f"{out}/")
    assert not out.exists()


def test_cli_sample_with_a_huge_count_does_not_build_a_plan(tmp_path, small_synth, monkeypatch, capsys):
    """The planning of ``-n 10**15`` is lazy: the first chunk is written before anything else happens."""
    from simulacra.scale import chunks

    model = tmp_path / "m.model"
    small_synth.save(model)
    calls = []
    real = chunks.SynthesizerProducer.__call__

    def stop_after_first(self, start, stop):
        if start > 0:
            calls.append(start)
            raise KeyboardInterrupt
        return real(self, start, stop)

    monkeypatch.setattr(chunks.SynthesizerProducer, "__call__", stop_after_first)
    out = tmp_path / "big"
    t0 = time.perf_counter()
    code, _ = _cli(["sample", model, "-n", 10**15, "--workers", "1", "--chunk-rows", "4096", "-o", f"{out}/"], capsys)
    assert time.perf_counter() - t0 < 30 and calls  # stopped in the second chunk, not in planning
    assert code == 130
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "part-000000.parquet"]
    assert json.loads((out / MANIFEST).read_text())["parts"]["count"] == -(-(10**15) // 4096)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert job_status(f"{out}/")["chunks_done"] == 1
