from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.scale.stats import StreamingStats, stream_stats


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(1)
    n = 5000
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 50, n).astype(float),
            "b": 1e6 + 3 * x + rng.normal(size=n),  # large offset: tests numerical accuracy
            "c": -x + rng.normal(size=n) * 0.5,
            "g": rng.choice(["x", "y", "z"], n),
            "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
        }
    )
    frame.loc[rng.random(n) < 0.1, "b"] = np.nan
    frame.loc[rng.random(n) < 0.05, "g"] = None
    return frame


def _chunks(frame, size):
    return [frame.iloc[i : i + size] for i in range(0, len(frame), size)]


def test_exact_moments_counts_and_quantiles(table):
    stats = StreamingStats()
    for chunk in _chunks(table, 777):
        stats.update(chunk)
    summary = stats.summary(quantiles=(0.1, 0.5, 0.9))
    assert stats.rows == len(table)
    for col in ("a", "b", "c"):
        s = table[col].dropna()
        assert summary.loc[col, "count"] == len(s)
        assert summary.loc[col, "missing"] == table[col].isna().sum()
        assert summary.loc[col, "mean"] == pytest.approx(s.mean(), rel=1e-12)
        assert summary.loc[col, "std"] == pytest.approx(s.std(), rel=1e-9)
        expected = np.quantile(s, [0.1, 0.5, 0.9], method="inverted_cdf")
        np.testing.assert_array_equal(stats.quantiles(col, [0.1, 0.5, 0.9]), expected)
    counts = stats.value_counts("g")
    assert counts.to_dict() == table["g"].value_counts().to_dict()
    assert summary.loc["g", "missing"] == table["g"].isna().sum()
    assert summary.loc["when", "kind"] == "numeric"


def test_pairwise_complete_correlation_matches_pandas(table):
    stats = StreamingStats()
    for chunk in _chunks(table, 1000):
        stats.update(chunk)
    expected = table[["a", "b", "c", "when"]].assign(when=lambda d: d.when.astype("int64") / 1e9).corr()
    np.testing.assert_allclose(stats.correlation().to_numpy(), expected.to_numpy(), atol=1e-9)


def test_merge_equals_one_pass(table):
    whole = StreamingStats().update(table)
    left, right = StreamingStats().update(table.iloc[:2100]), StreamingStats().update(table.iloc[2100:])
    merged = left.merge(right)
    pd.testing.assert_frame_equal(merged.summary(), whole.summary(), rtol=1e-9)
    np.testing.assert_allclose(merged.correlation().to_numpy(), whole.correlation().to_numpy(), atol=1e-9)


def test_many_distinct_values_fall_back_to_an_accurate_summary():
    rng = np.random.default_rng(2)
    x = rng.normal(size=20_000)
    stats = StreamingStats(max_distinct=1000)
    for chunk in _chunks(pd.DataFrame({"x": x}), 3000):
        stats.update(chunk)
    summary = stats.summary()
    assert not summary.loc["x", "exact"]
    assert summary.loc["x", "mean"] == pytest.approx(x.mean(), rel=1e-12)  # moments stay exact
    qs = stats.quantiles("x", [0.05, 0.5, 0.95])
    np.testing.assert_allclose(qs, np.quantile(x, [0.05, 0.5, 0.95]), atol=0.02)


def test_stream_stats_reads_a_parquet_folder(tmp_path, table):
    folder = tmp_path / "t"
    folder.mkdir()
    for i, chunk in enumerate(_chunks(table, 2000)):
        chunk.to_parquet(folder / f"part-{i}.parquet")
    (folder / "_SUCCESS").write_text("{}")
    stats = stream_stats(folder, chunk_rows=900)
    assert stats.rows == len(table)
    assert stats.summary().loc["a", "mean"] == pytest.approx(table["a"].mean())


def test_user_errors_are_simulacra_errors_that_say_what_to_do():
    from simulacra.errors import SimulacraError
    from simulacra.scale.stats import StreamingStats

    stats = StreamingStats(max_distinct=4).update(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]}))
    with pytest.raises(SimulacraError, match="columns are: x, c"):
        stats.quantiles("nope", [0.5])
    with pytest.raises(SimulacraError, match="value_counts"):
        stats.quantiles("c", [0.5])
    stats.update(pd.DataFrame({"x": [3.0, 4.0, 5.0], "c": ["e", "f", "g"]}))
    with pytest.raises(SimulacraError, match="larger max_distinct"):
        stats.value_counts("c")
    other = StreamingStats().update(pd.DataFrame({"y": [1.0]}))
    with pytest.raises(SimulacraError, match="different columns"):
        stats.merge(other)
    with pytest.raises(SimulacraError, match="max_distinct"):
        StreamingStats(max_distinct=0)
    with pytest.raises(SimulacraError, match="DataFrame"):
        StreamingStats().update([1, 2])
