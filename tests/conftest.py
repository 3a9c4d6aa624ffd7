"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

# A suite started in the background by a non-interactive shell (`make test &`, a CI step run with `&`)
# inherits SIGINT as ignored (POSIX), and so would every process it starts: the Ctrl-C tests would then see
# no Ctrl-C at all. Put Python's own handler back; processes started from here inherit the default again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: Set to 1 (CI does, in .ci/run) to turn every skip into a failure: CI installs every component
#: (llama.cpp, its server, Chromium, Ray, SDMetrics, WordNet, mypy), so a test of one that skipped
#: there means a component went missing, not that a user lacks an optional extra.
REQUIRE_COMPONENTS = "SIMULACRA_REQUIRE_COMPONENTS"
#: The one skip reason that stays a skip: the shared data sets are not beside the checkout.
DATASETS_ABSENT = "../shared/datasets is not available"


def _components_required() -> bool:
    return os.environ.get(REQUIRE_COMPONENTS, "").strip().lower() not in ("", "0", "false", "no")


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _must_not_skip(report: pytest.TestReport | pytest.CollectReport) -> bool:
    return (_components_required() and bool(report.skipped) and not hasattr(report, "wasxfail")
            and DATASETS_ABSENT not in _skip_reason(report))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With SIMULACRA_REQUIRE_COMPONENTS=1, a skipped test fails (data-set skips excepted)."""
    outcome = yield
    report = outcome.get_result()
    if _must_not_skip(report):
        reason = _skip_reason(report)
        report.outcome = "failed"
        report.longrepr = f"skipped while {REQUIRE_COMPONENTS}=1 (every component must be installed here): {reason}"


_SKIPPED_MODULES: list[str] = []


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A whole module skipped at import (``allow_module_level=True``) is remembered, and fails the run at the end
    (failing the collection itself would stop every other test; under xdist the workers' reports arrive here)."""
    if _must_not_skip(report):
        _SKIPPED_MODULES.append(f"{report.nodeid}: {_skip_reason(report)}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SKIPPED_MODULES:
        terminalreporter.section(f"modules skipped while {REQUIRE_COMPONENTS}=1", red=True)
        for line in _SKIPPED_MODULES:
            terminalreporter.line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED_MODULES and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def shared_datasets_dir() -> Path | None:
    """``../shared/datasets`` beside the checkout, or $SIMULACRA_SHARED_DATASETS; None when absent."""
    env = os.environ.get("SIMULACRA_SHARED_DATASETS")
    for candidate in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "datasets", ROOT / "../shared/datasets"]:
        if candidate.is_dir():
            return candidate.resolve()
    return None


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The shared real data sets; tests using it are skipped when they are absent."""
    found = shared_datasets_dir()
    if found is None:
        pytest.skip(DATASETS_ABSENT)
    return found


@pytest.fixture(scope="session")
def adult(datasets: Path) -> pd.DataFrame:
    return pd.read_csv(datasets / "tabular" / "adult" / "adult.csv")
