"""The scale API of synthesizers: stream chunks, write any number of rows to files, jobs for the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pandas as pd

from simulacra._deprecation import renamed, swapped_order
from simulacra.scale.chunks import DEFAULT_CHUNK_ROWS, SynthesizerProducer, require_fitted
from simulacra.scale.job import JobResult, plan_layout, read_job_manifest, run_job


def iter_samples(
    synth: Any,
    n_rows: int,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    random_state: int | None = None,
    *,
    conditions: dict[str, Any] | None = None,
    seed: int | None = None,
) -> Iterator[pd.DataFrame]:
    """Rows ``0..n_rows`` of ``synth`` as DataFrames of at most ``chunk_rows`` rows (``synth.iter_samples``).

    Examples
    --------
    >>> import pandas as pd
    >>> from simulacra.tabular.copula import GaussianCopulaSynthesizer
    >>> synth = GaussianCopulaSynthesizer(random_state=0).fit(pd.DataFrame({"x": range(100)}))
    >>> [len(c) for c in iter_samples(synth, 10, chunk_rows=4, random_state=1)]
    [4, 4, 2]
    """
    require_fitted(synth)
    random_state = renamed("seed", "random_state", seed, random_state, "iter_samples")
    return cast(Iterator[pd.DataFrame], synth.iter_samples(n_rows, chunk_rows, random_state, conditions=conditions))


def sample_to(
    synth: Any,
    path: str | Path,
    n_rows: int,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workers: int | None = None,
    engine: str = "local",
    format: str | None = None,
    random_state: int | None = None,
    conditions: dict[str, Any] | None = None,
    resume: bool = True,
    overwrite: bool = False,
    ray_address: str | None = None,
    progress: bool | None = None,
    seed: int | None = None,
) -> JobResult:
    """Write ``n_rows`` rows of the fitted ``synth`` to ``path`` in chunks, in bounded memory.

    ``path`` is a file (``.parquet``, ``.csv``, ``.jsonl``: staged in parts, appears once complete) or
    a folder (partitioned files ``part-000000.parquet``...). The same ``random_state`` gives the same
    rows in the same order whatever ``chunk_rows``, ``workers`` or ``engine``. When it is None a seed
    is drawn (and recorded in the job manifest); resuming an interrupted job reuses the recorded seed.
    A folder holding files the job did not write is refused unless ``overwrite``. ``seed=`` is the
    deprecated spelling of ``random_state=``.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from simulacra.tabular.copula import GaussianCopulaSynthesizer
    >>> synth = GaussianCopulaSynthesizer(random_state=0).fit(pd.DataFrame({"x": range(100)}))
    >>> out = tempfile.mkdtemp() + "/rows.csv"
    >>> sample_to(synth, out, 1000, chunk_rows=300, workers=1, random_state=7).rows
    1000
    >>> pd.read_csv(out).equals(synth.sample_range(0, 1000, random_state=7))
    True
    """
    require_fitted(synth)
    random_state = renamed("seed", "random_state", seed, random_state, "sample_to")
    if random_state is None and resume:
        old = read_job_manifest(plan_layout(path, format).parts_dir)
        random_state = old.get("seed") if old else None
    seed_ = synth.sampling_seed(random_state)
    producer = SynthesizerProducer.from_synthesizer(synth, seed_, conditions)
    formats = {
        name: col.format for name, col in synth.metadata_.columns.items()
        if col.type == "datetime" and getattr(col, "format", None)
    }
    info = {"producer": "synthesizer", "model": synth.name, "seed": seed_, "conditions": conditions}
    return run_job(
        producer, n_rows, path, chunk_rows=chunk_rows, workers=workers, engine=engine, format=format,
        resume=resume, overwrite=overwrite, progress=progress, ray_address=ray_address,
        datetime_formats=formats, info=info,
    )


def run_sample_job(
    model: Any,
    out: str | Path,
    n_rows: int,
    *,
    workers: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    format: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    random_state: int | None = None,
    conditions: dict[str, Any] | None = None,
    resume: bool = True,
    overwrite: bool = False,
    progress: bool | None = None,
    seed: int | None = None,
) -> JobResult:
    """``simulacra sample`` at scale: ``model`` is a fitted synthesizer or the path of a model file.

    Arguments in the order of :func:`sample_to`: source, output, rows (the old order
    ``(model, n_rows, out)`` still works, with a DeprecationWarning).
    """
    out, n_rows = swapped_order(out, n_rows, "run_sample_job")
    random_state = renamed("seed", "random_state", seed, random_state, "run_sample_job")
    if isinstance(model, (str, Path)):
        from simulacra.tabular.persistence import load

        model = load(model)
    return sample_to(
        model, out, n_rows, chunk_rows=chunk_rows, workers=workers, engine=engine, format=format,
        random_state=random_state, conditions=conditions, resume=resume, overwrite=overwrite,
        ray_address=ray_address, progress=progress,
    )


def wants_job(
    output: str | Path,
    n_rows: int,
    *,
    workers: int | None = None,
    chunk_rows: int | None = None,
    engine: str = "local",
) -> bool:
    """Whether ``simulacra sample`` should run a chunked job rather than sample in memory.

    Yes when the output is a folder, a scale option was given, or the rows exceed one chunk.

    Examples
    --------
    >>> wants_job("out.csv", 1000), wants_job("out/", 1000), wants_job("out.csv", 10**8)
    (False, True, True)
    """
    if engine != "local" or workers is not None or chunk_rows is not None:
        return True
    folder = str(output).endswith(("/", "\\")) or Path(output).is_dir() or not Path(output).suffix
    return folder or n_rows > DEFAULT_CHUNK_ROWS
