"""Writing generated tables to Parquet, CSV or JSONL chunk by chunk, with bounded memory.

The files are written by :mod:`simulacra.io.writers` (the one writer stack); this module only plans
the ranges of each table and generates them on a few threads, at most ``workers + 1`` in memory.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulacra.errors import InputError, SpecError
from simulacra.io.files import atomic_path, terminate_cleanly
from simulacra.io.writers import SUFFIXES, ChunkWriter, TableWriter, output_format

if TYPE_CHECKING:
    from simulacra.spec.engine import Spec


def _format(path: Path, format: str | None) -> str:
    try:
        return output_format(path, format)
    except InputError as exc:
        raise SpecError(str(exc)) from None


def _ranges(units: int, step: int) -> Iterator[tuple[int, int]]:
    """``0..units`` cut every ``step`` units, lazily (a table of 10**15 rows plans nothing ahead)."""
    for lo in range(0, units, step):
        yield lo, min(units, lo + step)


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
    workers = max(1, min(-(-units // step), os.cpu_count() or 1, 4))
    empty = spec._empty(plan)
    settings = ChunkWriter(fmt)
    with terminate_cleanly(), TableWriter(path, settings) as sink, ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Any] = deque()
        for lo, hi in _ranges(units, step):  # at most `workers + 1` chunks in memory
            pending.append((hi, pool.submit(spec.generate_range, table, lo, hi, random_state=seed, n_rows=n_rows)))
            if len(pending) > workers:
                _drain(pending, sink, table, units, progress)
        while pending:
            _drain(pending, sink, table, units, progress)
        if sink.rows == 0:
            sink.write(empty)
    return sink.rows


def _drain(pending: deque[Any], sink: TableWriter, table: str, units: int, progress: Any) -> None:
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
    fmt = _format(path.with_suffix(path.suffix or ".parquet"), format)
    if path.suffix.lower() in SUFFIXES.values() and not format:
        path = path.with_suffix("")
    names = [f"{table}{SUFFIXES[fmt]}" for table in spec.order]
    _check_tables_folder(path, names)
    path.mkdir(parents=True, exist_ok=True)
    _write_marker(path, sorted(set(names) | set(_marked(path))))
    for table, name in zip(spec.order, names):
        write_table(spec, table, path / name, fmt, n_rows, seed, chunk_rows, progress)
    return path


#: Lists the files a multi-table ``generate`` wrote into its folder: those, and only those, a later
#: run may replace.
MARKER = "_simulacra_tables.json"


def _marked(folder: Path) -> list[str]:
    try:
        data = json.loads((folder / MARKER).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    files = data.get("files") if isinstance(data, dict) else None
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def _check_tables_folder(folder: Path, names: list[str]) -> None:
    """Refuse a folder holding files that no earlier ``generate`` of simulacra wrote there."""
    if folder.exists() and not folder.is_dir():
        raise SpecError(f"'{folder}' is a file; a multi-table spec writes a folder. Choose another output.")
    if not folder.is_dir():
        return
    ours = {MARKER, *_marked(folder)}
    foreign = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and p.name not in ours)
    if foreign:
        raise SpecError(
            f"Output folder '{folder}' holds {len(foreign)} file(s) simulacra did not write (e.g. '{foreign[0]}'); "
            "nothing was changed. Choose an empty or new folder (or run it as a job: end the path with '/' "
            "and pass --overwrite to replace them)."
        )


def _write_marker(folder: Path, names: list[str]) -> None:
    with atomic_path(folder / MARKER) as tmp:
        tmp.write_text(json.dumps({"format": "simulacra-tables", "files": names}, indent=2))
