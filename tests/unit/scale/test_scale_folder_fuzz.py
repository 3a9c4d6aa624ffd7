"""Fuzz: job folders with random foreign files and random interrupted runs never lose a file they did
not create (issue 12). The budget is fixed here; ``SIMULACRA_FUZZ_EXAMPLES`` raises it."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from simulacra.errors import SimulacraError
from simulacra.scale.chunks import FunctionProducer
from simulacra.scale.job import run_job

EXAMPLES = int(os.environ.get("SIMULACRA_FUZZ_EXAMPLES", "40"))

# names other tools use, names that look like ours, and hidden files
NAMES = st.one_of(
    st.sampled_from([
        "part-0.parquet", "part-000000.parquet", "part-000001.csv", "part-000003.parquet", "part-999999.parquet",
        "_SUCCESS", "_metadata", "_simulacra_job.json", "notes.txt", ".hidden", ".part-000000.parquet.x.part",
        ".part-000000.parquet.simulacra-1-0badcafe.part", "data.jsonl",
    ]),
    st.from_regex(r"[a-z_.][a-z0-9_.-]{0,12}", fullmatch=True).filter(lambda n: n not in (".", "..")),
)
CONTENT = st.one_of(st.binary(max_size=40), st.just(b'{"format": "simulacra-job", "n_rows": 5}'))


class Stop(Exception):
    pass


def _rows(start, stop):
    if os.environ.get("FUZZ_STOP_AT") and start >= int(os.environ["FUZZ_STOP_AT"]):
        raise Stop
    idx = pd.RangeIndex(start, stop)
    return pd.DataFrame({"i": idx})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=st.dictionaries(NAMES, CONTENT, max_size=5),
    runs=st.lists(
        st.tuples(
            st.integers(0, 400),  # rows
            st.sampled_from([50, 100, 128]),  # chunk rows
            st.sampled_from(["parquet", "csv", "jsonl"]),
            st.one_of(st.none(), st.integers(0, 400)),  # where the run is interrupted
            st.booleans(),  # overwrite
        ),
        min_size=1, max_size=3,
    ),
)
def test_no_file_the_run_did_not_create_is_ever_removed(tmp_path_factory, files, runs):
    folder = tmp_path_factory.mktemp("job") / "out"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    before = _snapshot(folder)
    allowed: set[str] = set()  # pre-existing files an overwrite named as removed
    for n_rows, chunk_rows, fmt, stop_at, overwrite in runs:
        os.environ.pop("FUZZ_STOP_AT", None)
        if stop_at is not None:
            os.environ["FUZZ_STOP_AT"] = str(stop_at)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                run_job(FunctionProducer(_rows, "fuzz"), n_rows, f"{folder}/", chunk_rows=chunk_rows, format=fmt,
                        workers=1, overwrite=overwrite, progress=False)
                event("run completed")
            except SimulacraError as exc:
                event(f"refused: {type(exc).__name__}")
            except Stop:
                event("run interrupted")
            finally:
                os.environ.pop("FUZZ_STOP_AT", None)
        for w in caught:
            if "removing" in str(w.message):
                assert overwrite
                allowed |= {name for name in before if f" {name}" in str(w.message) or f"{name}," in str(w.message)}
        gone = {name for name in before if not (folder / name).exists()}
        assert gone <= allowed, f"removed without being named: {sorted(gone - allowed)}"
        for name in set(before) - allowed:  # every other file is there, byte for byte
            assert (folder / name).read_bytes() == before[name], name


@pytest.mark.parametrize("stop_at", [0, 150, None])
def test_an_interrupted_run_in_an_empty_folder_leaves_only_its_own_files(tmp_path, monkeypatch, stop_at):
    if stop_at is not None:
        monkeypatch.setenv("FUZZ_STOP_AT", str(stop_at))
    out = tmp_path / "o"
    try:
        run_job(FunctionProducer(_rows, "fuzz"), 300, f"{out}/", chunk_rows=50, workers=1, progress=False)
    except Stop:
        pass
    names = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert all(n.startswith("part-") or n in ("_SUCCESS", "_simulacra_job.json") for n in names)
