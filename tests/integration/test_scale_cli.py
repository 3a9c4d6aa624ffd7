"""`simulacra fit --max-rows-in-memory` and `simulacra sample` as a chunked, resumable job."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import simulacra.cli.main as cli_main


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.normal(size=n)
    frame = pd.DataFrame({"age": (40 + 9 * x).round().astype(int), "score": x + rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    path = tmp_path_factory.mktemp("cli") / "big.parquet"
    frame.to_parquet(path)
    return path


def _run(args):
    result = CliRunner().invoke(cli_main.app, args)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_fit_large_then_sample_in_chunks(tmp_path, table):
    model = tmp_path / "m.simulacra"
    out = _run(["fit", str(table), "-o", str(model), "-m", "copula", "--seed", "1", "--max-rows-in-memory", "1000"])
    assert "subsample of 1,000 of 3,000" in out
    parts = tmp_path / "parts"
    out = _run(["sample", str(model), "-n", "25000", "-o", f"{parts}/", "--workers", "2", "--chunk-rows", "10000", "--seed", "3"])
    assert "25,000 rows written" in out
    assert sorted(p.name for p in parts.glob("part-*")) == [f"part-00000{k}.parquet" for k in range(3)]
    again = _run(["sample", str(model), "-n", "25000", "-o", f"{parts}/", "--workers", "2", "--chunk-rows", "10000", "--seed", "3"])
    assert "0 chunks made, 3 already done" in again
    single = tmp_path / "rows.csv"
    _run(["sample", str(model), "-n", "25000", "-o", str(single), "--chunk-rows", "7000", "--workers", "1", "--seed", "3"])
    a, b = pd.read_parquet(parts), pd.read_csv(single)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
