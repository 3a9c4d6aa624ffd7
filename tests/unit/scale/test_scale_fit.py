from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.scale.fit import _Reservoir, fit_large
from simulacra.tabular.copula import GaussianCopulaSynthesizer


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 6000
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=n), "g": rng.choice(["a", "b"], n, p=[0.7, 0.3])})
    path = tmp_path_factory.mktemp("fit") / "big.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_reservoir_is_uniform_sized_and_independent_of_chunking():
    frame = pd.DataFrame({"i": np.arange(10_000)})
    samples = []
    for size in (333, 2000):
        res = _Reservoir(500, seed=9)
        for i in range(0, len(frame), size):
            res.add(frame.iloc[i : i + size])
        samples.append(res.result()["i"].to_numpy())
    assert len(samples[0]) == 500
    np.testing.assert_array_equal(samples[0], samples[1])
    assert np.all(np.diff(samples[0]) > 0)  # original order kept
    assert 3500 < samples[0].mean() < 6500  # spread over the whole table


def test_fit_large_subsamples_and_says_so(big_file):
    path, frame = big_file
    synth = GaussianCopulaSynthesizer(random_state=0)
    with pytest.warns(UserWarning, match="subsample of 1,000 of 6,000"):
        report = fit_large(synth, path, max_rows_in_memory=1000, chunk_rows=700, random_state=4)
    assert report.subsampled and report.rows_fitted == 1000 and synth.n_training_rows_ == 1000
    assert report.stats.rows == 6000
    assert report.stats.summary().loc["x", "mean"] == pytest.approx(frame["x"].mean())
    assert set(report.marginal_gaps) == {"x", "y", "g"} and max(report.marginal_gaps.values()) < 0.1
    assert len(synth.sample(10, random_state=0)) == 10


def test_fit_large_uses_the_whole_table_when_it_fits(big_file):
    path, _ = big_file
    synth = GaussianCopulaSynthesizer(random_state=0)
    report = fit_large(synth, path, max_rows_in_memory=10_000, chunk_rows=999)
    assert not report.subsampled and report.rows_fitted == 6000
    plain = GaussianCopulaSynthesizer(random_state=0).fit(pd.read_csv(path))
    pd.testing.assert_frame_equal(synth.sample(50, random_state=1), plain.sample(50, random_state=1))


@pytest.mark.parametrize("zone", [None, "Asia/Kolkata"])
def test_the_gap_of_a_date_column_compares_like_with_like(tmp_path, zone):
    # regression: the subsample's dates were compared in nanoseconds with the exact counts in seconds, so a
    # date column read from Parquet always reported the largest gap, 1.0000 (of a perfectly fine subsample)
    rng = np.random.default_rng(0)
    days = pd.Series(pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 90, 3000), unit="D"))
    frame = pd.DataFrame({"d": days if zone is None else days.dt.tz_localize(zone), "x": rng.normal(size=3000)})
    frame.to_parquet(tmp_path / "d.parquet")
    report = fit_large(GaussianCopulaSynthesizer(random_state=0), tmp_path / "d.parquet", max_rows_in_memory=1500,
                       warn=False)
    assert 0 < report.marginal_gaps["d"] < 0.1, report.marginal_gaps
