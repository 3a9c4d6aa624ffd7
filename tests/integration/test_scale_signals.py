"""SIGTERM and SIGINT during ``generate`` and a chunked job: no temporary left behind, finished parts kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

SPEC = """
name: big
tables:
  t:
    rows: 100000000
    columns:
      id: {kind: sequence}
      x: {kind: normal, mean: 0, std: 1}
      label: {kind: categorical, values: [a, b, c]}
"""

JOB = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from simulacra.scale.chunks import FunctionProducer
    from simulacra.scale.job import run_job

    def rows(start, stop):
        time.sleep(0.3)
        idx = pd.RangeIndex(start, stop)
        return pd.DataFrame({"i": idx, "label": [f"row {k}" for k in idx]})

    PRODUCER = FunctionProducer(rows, "signal-test-v1")

    if __name__ == "__main__":
        run_job(PRODUCER, 200_000, sys.argv[1], chunk_rows=2_000, workers=2, progress=False)
    """
)


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.is_file() and p.name.endswith(".part")]  # any hidden temporary


def _wait_for(predicate, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_generate_interrupted_leaves_no_temporary(tmp_path, sig):
    spec = tmp_path / "big.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out" / "rows.parquet"
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulacra.cli.main", "generate", str(spec), "-o", str(out)],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: out.parent.is_dir() and any(p.stat().st_size > 0 for p in _temps(out.parent)))
        proc.send_signal(sig)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:  # pragma: no cover - only when the test fails
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert not out.exists() and _temps(out.parent) == [], sorted(os.listdir(out.parent))


@pytest.mark.parametrize("target", ["parts/", "o/rows.parquet"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_job_interrupted_keeps_finished_parts_removes_temporaries_and_resumes(tmp_path, sig, target):
    helper = tmp_path / "job_helper.py"
    helper.write_text(JOB)
    output = tmp_path / target
    parts = output if target.endswith("/") else output.parent / f".{output.name}.parts"
    root = parts if target.endswith("/") else output.parent
    suffix = ".parquet" if target.endswith("/") else ".arrow"  # a single Parquet file is staged as Arrow streams
    proc = subprocess.Popen([sys.executable, str(helper), str(output) + ("/" if target.endswith("/") else "")],
                            env=_env(), stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: len(list(parts.glob(f"part-*{suffix}"))) >= 3 and _temps(root) != [])
        proc.send_signal(sig)  # to the job's own process only: it must stop its workers itself
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:  # pragma: no cover
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    # the workers exit after the parent and remove their own temporaries: give them time on a busy machine
    deadline = time.time() + 15
    while _temps(root) and time.time() < deadline:
        time.sleep(0.05)
    assert _temps(root) == [] and not (output.exists() and output.is_file())
    finished = sorted(parts.glob(f"part-*{suffix}"))
    assert 3 <= len(finished) < 100
    for part in finished:
        k = int(part.stem.split("-")[1])
        rows = pd.read_parquet(part) if suffix == ".parquet" else pa.ipc.open_stream(str(part)).read_pandas()
        assert rows["i"].tolist() == list(range(k * 2_000, (k + 1) * 2_000))
    again = str(output) + ("/" if target.endswith("/") else "")
    done = subprocess.run([sys.executable, str(helper), again], env=_env(), capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert pd.read_parquet(output)["i"].tolist() == list(range(200_000))
