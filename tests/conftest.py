"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


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
        pytest.skip("../shared/datasets is not available")
    return found


@pytest.fixture(scope="session")
def adult(datasets: Path) -> pd.DataFrame:
    return pd.read_csv(datasets / "tabular" / "adult" / "adult.csv")
