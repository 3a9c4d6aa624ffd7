"""Fitting on a table larger than memory.

One streaming pass computes exact whole-table statistics (:class:`StreamingStats`) and a seeded,
uniform random subsample of at most ``max_rows_in_memory`` rows (keeping the smallest of one random
key per row, so the sample does not depend on the chunk size). A table that fits is used whole; a
larger one is fitted on the subsample, and the report says so and how far the subsample's marginals
are from the exact ones.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra._deprecation import renamed
from simulacra.scale.chunks import check_count
from simulacra.io.reading import READ_CHUNK_ROWS, iter_table_chunks
from simulacra.scale.stats import StreamingStats, numeric_values


@dataclass
class FitLargeReport:
    """How a large table was fitted: rows read and used, the exact statistics, time."""

    rows_total: int
    rows_fitted: int
    seed: int
    seconds: float
    stats: StreamingStats = field(repr=False)
    marginal_gaps: dict[str, float] = field(default_factory=dict)

    @property
    def subsampled(self) -> bool:
        return self.rows_fitted < self.rows_total

    def message(self) -> str:
        """One line for the user."""
        if not self.subsampled:
            return f"Fitted on all {self.rows_total:,} rows."
        worst = max(self.marginal_gaps.items(), key=lambda kv: kv[1], default=("-", 0.0))
        return (
            f"Fitted on a uniform random subsample of {self.rows_fitted:,} of {self.rows_total:,} rows "
            f"(seed {self.seed}); exact statistics were computed over all rows. Largest gap between the "
            f"subsample's and the exact marginals: {worst[1]:.4f} (column '{worst[0]}')."
        )


class _Reservoir:
    """The ``size`` rows with the smallest random keys seen so far, in their original order."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.frames: list[pd.DataFrame] = []
        self.keys: list[np.ndarray] = []
        self.held = 0
        self.offset = 0

    def add(self, chunk: pd.DataFrame) -> None:
        keys = self.rng.random(len(chunk))
        chunk = chunk.set_axis(np.arange(self.offset, self.offset + len(chunk)))
        self.offset += len(chunk)
        if self.held >= self.size:  # only rows beating the current threshold can enter
            threshold = self._threshold()
            keep = keys < threshold
            chunk, keys = chunk[keep], keys[keep]
        self.frames.append(chunk)
        self.keys.append(keys)
        self.held += len(chunk)
        if self.held > self.size + max(self.size // 4, 1):
            self._prune()

    def _threshold(self) -> float:
        all_keys = np.concatenate(self.keys)
        return float(np.partition(all_keys, self.size - 1)[self.size - 1])

    def _prune(self) -> None:
        frame = pd.concat(self.frames) if len(self.frames) > 1 else self.frames[0]
        keys = np.concatenate(self.keys)
        self.frames, self.keys = [], []
        if len(frame) > self.size:
            top = np.argpartition(keys, self.size - 1)[: self.size]
            frame, keys = frame.iloc[top], keys[top]
        self.frames, self.keys, self.held = [frame], [keys], len(frame)

    def result(self) -> pd.DataFrame:
        """The sample, in file order; the reservoir lets go of its rows (one copy in memory, not two)."""
        if not self.frames:
            return pd.DataFrame()
        self._prune()
        frame = self.frames[0]
        self.frames, self.keys, self.held = [], [], 0
        order = np.argsort(frame.index.to_numpy(), kind="stable")
        return frame.take(order).reset_index(drop=True)


def _marginal_gaps(sample: pd.DataFrame, stats: StreamingStats) -> dict[str, float]:
    """Per column, the largest gap between the subsample's and the exact distribution (KS / TV distance)."""
    gaps: dict[str, float] = {}
    for name, kind in stats.kinds.items():
        try:
            exact = stats.value_counts(name)
        except ValueError:
            continue
        if kind == "numeric":
            values = numeric_values(sample[name])  # dates in seconds, as the exact counts hold them
            values = values[~np.isnan(values)]
            if not len(values) or not len(exact):
                continue
            cdf_exact = np.cumsum(exact.to_numpy()) / exact.sum()
            cdf_sample = np.searchsorted(np.sort(values), exact.index.to_numpy(dtype=float), side="right") / len(values)
            gaps[name] = float(np.max(np.abs(cdf_exact - cdf_sample)))
        else:
            p = exact / exact.sum()
            q = sample[name].value_counts(normalize=True).reindex(p.index, fill_value=0.0)
            gaps[name] = float(0.5 * np.abs(p.to_numpy() - q.to_numpy()).sum())
    return gaps


def fit_large(
    synth: Any,
    path: str | Path,
    max_rows_in_memory: int = 1_000_000,
    *,
    random_state: int | None = None,
    chunk_rows: int = READ_CHUNK_ROWS,
    warn: bool = True,
    seed: int | None = None,
    **read_options: Any,
) -> FitLargeReport:
    """Fit ``synth`` on a Parquet/CSV/JSONL table of any size, reading it in chunks.

    Parameters
    ----------
    synth : BaseSynthesizer
        An unfitted synthesizer; fitted in place.
    path : str or Path
        A table file or a folder of Parquet files.
    max_rows_in_memory : int
        Most rows handed to the model. Larger tables are fitted on a uniform random subsample of this
        size drawn with ``random_state`` (a warning says so); statistics in the report cover every row.
    random_state : int, optional
        Seed of the subsample (default 0). ``seed=`` is its deprecated spelling.
    chunk_rows : int
        Rows read at a time.
    warn : bool
        Warn when the model is fitted on a subsample (the report's ``message()`` says it too).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from simulacra.tabular.copula import GaussianCopulaSynthesizer
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pd.DataFrame({"x": range(1000), "g": ["a", "b"] * 500}).to_parquet(p)
    >>> report = fit_large(GaussianCopulaSynthesizer(random_state=0), p, max_rows_in_memory=5000, chunk_rows=300)
    >>> report.rows_total, report.rows_fitted, report.subsampled
    (1000, 1000, False)
    """
    max_rows = check_count(max_rows_in_memory, "max_rows_in_memory", minimum=1)
    t0 = time.perf_counter()
    stats = StreamingStats()
    seed = int(renamed("seed", "random_state", seed, random_state, "fit_large") or 0)
    reservoir = _Reservoir(max_rows, seed)
    for chunk in iter_table_chunks(path, chunk_rows, **read_options):
        stats.update(chunk)
        reservoir.add(chunk)
    sample = reservoir.result()
    del reservoir
    gaps = _marginal_gaps(sample, stats) if len(sample) < stats.rows else {}
    report = FitLargeReport(stats.rows, len(sample), seed, 0.0, stats, gaps)
    if report.subsampled and warn:
        warnings.warn(report.message(), stacklevel=2)
    synth.fit(sample)
    del sample
    report.seconds = time.perf_counter() - t0
    return report
