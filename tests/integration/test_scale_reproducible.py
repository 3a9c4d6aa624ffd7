"""Same seed, same rows, in the same order, whatever the chunk size, the number of workers or the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.tabular.base import BLOCK_ROWS
from simulacra.scale.api import sample_to

N_ROWS = BLOCK_ROWS + 4_465  # crosses a block edge


@pytest.fixture(scope="module")
def synth():
    from simulacra.tabular.copula import GaussianCopulaSynthesizer

    rng = np.random.default_rng(7)
    n = 300
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": x,
            "y": np.where(rng.random(n) < 0.2, np.nan, 3 * x + rng.normal(size=n)),
            "g": rng.choice(["p", "q", "r"], n),
            "k": rng.integers(0, 5, n),
        }
    )
    return GaussianCopulaSynthesizer(random_state=1).fit(frame)


@pytest.fixture(scope="module")
def expected(synth):
    return synth.sample_range(0, N_ROWS, random_state=2024)


@pytest.mark.parametrize(
    "chunk_rows,workers,target,reader",
    [
        (5_000, 1, "rows.parquet", pd.read_parquet),
        (7_777, 2, "parts/", pd.read_parquet),
        (BLOCK_ROWS, 2, "rows.csv", pd.read_csv),
    ],
)
def test_same_rows_for_every_configuration(tmp_path, synth, expected, chunk_rows, workers, target, reader):
    result = sample_to(synth, f"{tmp_path}/{target}", N_ROWS, chunk_rows=chunk_rows, workers=workers, random_state=2024, progress=False)
    assert result.rows == N_ROWS
    got = reader(result.path)
    pd.testing.assert_frame_equal(got, expected, check_dtype=target.endswith(".csv") is False)


def test_iter_samples_matches_whatever_the_chunk(synth, expected):
    for chunk_rows in (9_999, 50_000):
        chunks = list(synth.iter_samples(N_ROWS, chunk_rows=chunk_rows, random_state=2024))
        assert max(len(c) for c in chunks) <= chunk_rows
        pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), expected)


def test_different_seed_gives_different_rows(tmp_path, synth, expected):
    result = sample_to(synth, tmp_path / "other.parquet", 2_000, chunk_rows=500, workers=1, random_state=2025, progress=False)
    assert not pd.read_parquet(result.path).equals(expected.iloc[:2_000])


def test_seed_is_recorded_and_reused_on_resume(tmp_path, synth):
    first = sample_to(synth, f"{tmp_path}/o/", 3_000, chunk_rows=1_000, workers=1, progress=False)
    assert isinstance(first.seed, int)
    (tmp_path / "o" / "part-000002.parquet").unlink()  # as if interrupted before the last chunk
    (tmp_path / "o" / "_SUCCESS").unlink()
    again = sample_to(synth, f"{tmp_path}/o/", 3_000, chunk_rows=1_000, workers=1, progress=False)
    assert again.seed == first.seed and again.chunks_made == 1
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o"), synth.sample_range(0, 3_000, random_state=first.seed))
