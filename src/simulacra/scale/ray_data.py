"""Rows of a synthesizer or spec as a lazy Ray Dataset, for Ray Data pipelines.

``to_ray_dataset`` gives one dataset block per chunk; Ray streams them through whatever follows
(``map_batches``, ``write_parquet``, a training loop) on every node of the cluster, and the rows are
the same as :func:`simulacra.scale.sample_to` writes for the same seed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from simulacra._deprecation import renamed
from simulacra.scale.chunks import (
    DEFAULT_CHUNK_ROWS,
    RangeProducer,
    SynthesizerProducer,
    check_count,
    plan_chunks,
)
from simulacra.scale.engines import import_ray


class _MakeRows:
    def __init__(self, producer: RangeProducer) -> None:
        self.producer = producer

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        frames = [self.producer(int(a), int(b)) for a, b in zip(batch["start"], batch["stop"])]
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def to_ray_dataset(
    source: Any,
    n_rows: int,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    random_state: int | None = None,
    conditions: dict[str, Any] | None = None,
    seed: int | None = None,
) -> Any:
    """A lazy ``ray.data.Dataset`` of ``n_rows`` rows of ``source`` (a fitted synthesizer or a range producer).

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("ray")  # doctest: +SKIP
    >>> ds = to_ray_dataset(synth, 10_000_000, random_state=1)  # doctest: +SKIP
    >>> ds.write_parquet("s3://bucket/rows/")  # doctest: +SKIP
    """
    random_state = renamed("seed", "random_state", seed, random_state, "to_ray_dataset")
    ray = import_ray()
    n_rows = check_count(n_rows, "n_rows")
    if isinstance(source, RangeProducer) and not hasattr(source, "sample_range"):
        producer = source
    else:
        producer = SynthesizerProducer.from_synthesizer(source, source.sampling_seed(random_state), conditions)
    chunks = plan_chunks(n_rows, chunk_rows)
    items = [{"start": c.start, "stop": c.stop} for c in chunks]
    dataset = ray.data.from_items(items, override_num_blocks=max(1, len(items)))
    return dataset.map_batches(_MakeRows(producer), batch_size=1, batch_format="pandas", zero_copy_batch=False)
