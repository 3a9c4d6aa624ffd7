"""A job killed with SIGKILL leaves only complete parts and no complete-looking output; it resumes."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd

HELPER = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from simulacra.scale.chunks import FunctionProducer
    from simulacra.scale.job import run_job

    def rows(start, stop):
        time.sleep(0.15)
        idx = pd.RangeIndex(start, stop)
        return pd.DataFrame({"i": idx, "label": [f"row {k}" for k in idx], "half": idx / 2})

    PRODUCER = FunctionProducer(rows, "crash-test-v1")

    if __name__ == "__main__":
        run_job(PRODUCER, 40_000, sys.argv[1], chunk_rows=1_000, workers=2, progress=False)
    """
)


def test_killed_job_leaves_no_complete_looking_file_and_resumes(tmp_path):
    helper = tmp_path / "crash_helper.py"
    helper.write_text(HELPER)
    out = tmp_path / "rows.csv"
    staged = tmp_path / ".rows.csv.parts"
    proc = subprocess.Popen([sys.executable, str(helper), str(out)], start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(list(staged.glob("part-*.csv"))) < 4:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert not out.exists()
    finished = sorted(staged.glob("part-*.csv"))
    assert 4 <= len(finished) < 40
    for part in finished:  # every visible part is whole
        frame = pd.read_csv(part)
        k = int(part.stem.split("-")[1])
        assert frame["i"].tolist() == list(range(k * 1_000, (k + 1) * 1_000))

    spec = importlib.util.spec_from_file_location("crash_helper", helper)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from simulacra.scale.job import run_job

    result = run_job(module.PRODUCER, 40_000, out, chunk_rows=1_000, workers=2, progress=False)
    assert result.chunks_resumed == len(finished) and result.chunks_made == 40 - len(finished)
    back = pd.read_csv(out)
    assert back["i"].tolist() == list(range(40_000))
    assert not staged.exists()
