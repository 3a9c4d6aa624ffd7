"""Spec generation at scale: a range producer over ``Spec.generate_range`` and jobs per table.

``start``/``stop`` count the table's *units* (``Spec.row_unit``): rows for plain tables, parent rows
for child tables, entities for time series; chunks of a child table therefore hold a varying number
of rows, each chunk still the same whatever the chunking.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from simulacra._deprecation import renamed, swapped_order
from simulacra.scale.chunks import DEFAULT_CHUNK_ROWS
from simulacra.scale.job import JobResult, run_job


def spec_digest(spec: Any) -> str:
    """A digest of what a spec generates (its parsed document)."""
    document = getattr(spec, "document", spec)
    try:
        text = json.dumps(document.model_dump(mode="json"), sort_keys=True, default=str)
    except (AttributeError, TypeError, ValueError):
        text = repr(document)
    return hashlib.sha256(text.encode()).hexdigest()


class SpecProducer:
    """Units ``start..stop`` of one table of a spec, for a seed (and main-table size ``n_rows``).

    Forked workers inherit the spec; spawned and Ray workers receive the spec object from this
    process (simulacra's own declarations, never a file from elsewhere).
    """

    def __init__(self, spec: Any, table: str, seed: int, n_rows: int | None = None) -> None:
        self.spec = spec
        self.table = table
        self.seed = int(seed)
        self.n_rows = n_rows
        self.exact_rows = spec.row_unit(table) == "rows" if hasattr(spec, "row_unit") else True

    def __call__(self, start: int, stop: int) -> pd.DataFrame:
        return self.spec.generate_range(self.table, start, stop, random_state=self.seed, n_rows=self.n_rows)

    def fingerprint(self) -> str:
        payload = json.dumps([spec_digest(self.spec), self.table, self.seed, self.n_rows])
        return hashlib.sha256(payload.encode()).hexdigest()

def run_generate_job(
    spec: Any,
    out: str | Path,
    n_rows: int | None = None,
    *,
    tables: list[str] | None = None,
    workers: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    format: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    random_state: int | None = None,
    resume: bool = True,
    overwrite: bool = False,
    progress: bool | None = None,
    seed: int | None = None,
) -> dict[str, JobResult]:
    """``simulacra generate`` at scale: each table of ``spec`` written in chunks, resumably.

    A single-table spec writes ``out`` (a file or a folder of parts); a multi-table spec writes one
    folder of parts per table under ``out`` (``out/<table>/part-000000.parquet``...). ``n_rows`` is
    the main table's size (None: the spec's ``rows``). ``random_state`` defaults to the spec's own
    ``seed`` (else 0). Arguments in the order of :func:`simulacra.scale.sample_to` (the old order
    ``(spec, n_rows, out)`` and ``seed=`` still work, with a DeprecationWarning).
    """
    out, n_rows = swapped_order(out, n_rows, "run_generate_job")
    random_state = renamed("seed", "random_state", seed, random_state, "run_generate_job")
    if random_state is None:
        document = getattr(spec, "document", None)
        random_state = getattr(document, "seed", None) or 0
    seed = int(random_state)
    names = tables or list(spec.tables)
    results: dict[str, JobResult] = {}
    for name in names:
        target: str | Path = out if len(names) == 1 else f"{Path(out) / name}/"
        units = spec.units(name, n_rows, random_state=seed)
        producer = SpecProducer(spec, name, seed, n_rows)
        info = {"producer": "spec", "table": name, "seed": seed, "unit": spec.row_unit(name), "main_rows": n_rows}
        results[name] = run_job(
            producer, units, target, chunk_rows=chunk_rows, workers=workers, engine=engine, format=format,
            resume=resume, overwrite=overwrite, progress=progress, ray_address=ray_address, info=info,
        )
    return results
