"""Writing generated tables to Parquet, CSV or JSONL chunk by chunk, with bounded memory."""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from simulacra.errors import SpecError
from simulacra.io import atomic_path

if TYPE_CHECKING:
    from simulacra.spec.engine import Spec

SUFFIX = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}


def _format(path: Path, format: str | None) -> str:
    if format:
        fmt = format.lower().lstrip(".")
    else:
        fmt = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(
            path.suffix.lower(), "parquet" if not path.suffix else ""
        )
    if fmt not in SUFFIX:
        raise SpecError(f"cannot write '{path}': use a .parquet, .csv or .jsonl file name, or format=parquet|csv|jsonl")
    return fmt


class _Sink:
    """One output file being written: Parquet row groups, CSV or JSONL appended chunk by chunk."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self.writer: Any = None
        self.schema: pa.Schema | None = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.schema is None:
            self.schema = table.schema.remove_metadata()
        table = table.replace_schema_metadata(None)
        if table.schema != self.schema:
            table = table.cast(self.schema)
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            if self.writer is None:
                self.writer = pq.ParquetWriter(self.path, self.schema, compression="snappy")
            self.writer.write_table(table)
        elif self.fmt == "csv":
            import pyarrow.csv as pcsv

            if self.writer is None:
                self.writer = pcsv.CSVWriter(self.path, self.schema)
            self.writer.write_table(table)
        else:
            with open(self.path, "a", encoding="utf-8") as fh:
                text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
                fh.write(text if text.endswith("\n") or not text else text + "\n")
        self.rows += len(frame)

    def close(self, empty: pd.DataFrame) -> None:
        if self.writer is None and self.fmt != "jsonl":
            self.write(empty)
        if self.writer is not None:
            self.writer.close()
        elif self.fmt == "jsonl" and not self.path.exists():
            self.path.write_text("", encoding="utf-8")


def write_table(spec: Spec, table: str, path: Path, fmt: str, n_rows: int | None, seed: int, chunk_rows: int, progress: Any) -> int:
    """Write one table; returns its row count."""
    units = spec.units(table, n_rows, random_state=seed)
    unit = spec.row_unit(table)
    plan = spec.plans[table]
    if unit == "parent_rows":
        from simulacra.spec.structures import parent_block_size

        step = max(1, parent_block_size(spec._per_parent[table]) * max(1, chunk_rows // (1 << 16)))
    elif unit == "entities":
        step = max(1, chunk_rows // plan.model.length)
    else:
        step = max(1, chunk_rows)
    ranges = [(i * step, min(units, (i + 1) * step)) for i in range(math.ceil(units / step))]
    workers = max(1, min(len(ranges), os.cpu_count() or 1, 4))
    with atomic_path(path) as tmp, ThreadPoolExecutor(max_workers=workers) as pool:
        sink = _Sink(tmp, fmt)
        pending: deque[Any] = deque()
        for lo, hi in ranges:  # at most `workers + 1` chunks in memory: bounded whatever the row count
            pending.append((hi, pool.submit(spec.generate_range, table, lo, hi, random_state=seed, n_rows=n_rows)))
            if len(pending) > workers:
                _drain(pending, sink, table, units, progress)
        while pending:
            _drain(pending, sink, table, units, progress)
        sink.close(spec._empty(plan))
    return sink.rows


def _drain(pending: deque[Any], sink: _Sink, table: str, units: int, progress: Any) -> None:
    hi, future = pending.popleft()
    sink.write(future.result())
    if progress is not None:
        progress(table, hi, units)


def write_tables(
    spec: Spec, path: Path, n_rows: int | None, *, seed: int, chunk_rows: int, format: str | None, progress: Any = None
) -> Path:
    """Write every table: one file for a single-table spec, else a folder with one file per table."""
    if chunk_rows < 1:
        raise SpecError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if len(spec.tables) == 1:
        fmt = _format(path, format)
        write_table(spec, spec.tables[0], path, fmt, n_rows, seed, chunk_rows, progress)
        return path
    fmt = _format(Path("x." + format) if format else path.with_suffix(path.suffix or ".parquet"), None)
    if path.suffix.lower() in (".parquet", ".csv", ".jsonl") and not format:
        path = path.with_suffix("")
    path.mkdir(parents=True, exist_ok=True)
    for table in spec.order:
        write_table(spec, table, path / f"{table}{SUFFIX[fmt]}", fmt, n_rows, seed, chunk_rows, progress)
    return path
