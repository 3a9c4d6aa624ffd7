"""Scale: any number of rows in bounded memory, on every core, or on a Ray cluster.

- :func:`sample_to` / :func:`iter_samples`: a fitted synthesizer's rows to files or as a stream of chunks;
- :func:`run_job`: the engine under them, for any *range producer* ``fn(start, stop) -> DataFrame``;
- :func:`fit_large`: fit on a table larger than memory (exact streamed statistics, seeded subsample);
- :class:`StreamingStats`: exact marginals, category counts and correlations over chunks.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Chunk": "simulacra.scale.chunks",
    "DEFAULT_CHUNK_ROWS": "simulacra.scale.chunks",
    "FunctionProducer": "simulacra.scale.chunks",
    "JobResult": "simulacra.scale.job",
    "RangeProducer": "simulacra.scale.chunks",
    "SpecProducer": "simulacra.scale.spec",
    "StreamingStats": "simulacra.scale.stats",
    "SynthesizerProducer": "simulacra.scale.chunks",
    "FitLargeReport": "simulacra.scale.fit",
    "fit_large": "simulacra.scale.fit",
    "iter_samples": "simulacra.scale.api",
    "iter_table_chunks": "simulacra.io.reading",
    "job_status": "simulacra.scale.job",
    "plan_chunks": "simulacra.scale.chunks",
    "run_generate_job": "simulacra.scale.spec",
    "run_job": "simulacra.scale.job",
    "run_sample_job": "simulacra.scale.api",
    "sample_to": "simulacra.scale.api",
    "stream_stats": "simulacra.scale.stats",
    "to_ray_dataset": "simulacra.scale.ray_data",
}

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "Chunk",
    "FitLargeReport",
    "FunctionProducer",
    "JobResult",
    "RangeProducer",
    "SpecProducer",
    "StreamingStats",
    "SynthesizerProducer",
    "fit_large",
    "iter_samples",
    "iter_table_chunks",
    "job_status",
    "plan_chunks",
    "run_generate_job",
    "run_job",
    "run_sample_job",
    "sample_to",
    "stream_stats",
    "to_ray_dataset",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simulacra.scale' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
