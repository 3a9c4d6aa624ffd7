"""benchmarks/peers_device.py: its jobs are checked before any starts, and a job stopped at the deadline
is stopped with its children (the peers' engines start worker processes)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def peers():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield importlib.import_module("peers_device")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(tmp_path / "adult.parquet")
    (tmp_path / "adult.types.json").write_text(json.dumps({"x": "numerical"}))
    return tmp_path


@pytest.mark.parametrize("spec, message", [
    ("", "--jobs is empty"), (" , ", "--jobs is empty"),
    ("mostly_dp:adult", "expected MODEL:TABLE:EPS"),
    ("mostly:adult:1", "MODEL one of aim, mst, mostly_dp"),
    ("aim:adult:x", "positive number, got 'x'"), ("aim:adult:0", "positive number"),
    ("aim:adult:1,aim:credit:1", "no training split .*credit.parquet .run prepare first"),
    ("aim:adult:1,aim:adult:1", "more than once"),
])
def test_bad_jobs_are_refused_before_any_starts(peers, data: Path, spec: str, message: str) -> None:
    with pytest.raises(SystemExit, match=message):
        peers.parse_jobs(spec, data)
    good = peers.parse_jobs(" aim:adult:0.3, mostly_dp:adult:1 ", data)
    assert good == ["aim:adult:0.3", "mostly_dp:adult:1"]


def test_a_job_stopped_at_the_deadline_takes_its_children_with_it(peers, data: Path, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    slow = tmp_path / "slow.sh"  # stands for a peer whose engine runs in a worker process
    slow.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {pidfile}\nwait\n")
    fast = tmp_path / "fast.sh"
    fast.write_text("#!/bin/sh\nexit 3\n")
    for script in (slow, fast):
        script.chmod(0o755)
    out = tmp_path / "out"
    args = argparse.Namespace(data=str(data), out=str(out), jobs="mostly_dp:adult:1,aim:adult:0.3",
                              python_mostly=str(slow), path_mostly="", python_aim=str(fast), path_aim="",
                              device="cpu", minutes=1.0, deadline=3.0)
    assert peers.run(args) == 0
    status = json.loads((out / "status.json").read_text())
    assert status["aim:adult:0.3"].startswith("rc=3")
    assert status["mostly_dp:adult:1"].startswith("stopped unfinished")
    child = int(pidfile.read_text())
    for _ in range(50):  # the killed child is reaped by whoever inherits it, shortly after
        if not _running(child):
            break
        time.sleep(0.1)
    else:
        os.kill(child, 9)
        pytest.fail("the stopped job's child process was left running")


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (killed, waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
