"""Resumable chunked jobs: plan, manifest, progress, and the final file or folder.

A job writes ``n_rows`` rows from a range producer as numbered part files. Its folder holds a
manifest (``_simulacra_job.json``: what is being made, with a fingerprint of the model, seed and
options) and, once every part exists, a ``_SUCCESS`` marker. Parts appear atomically, so after a
crash the parts present are exactly the finished chunks: running the same job again makes only the
missing ones. A single-file output is staged as parts in a hidden folder beside it and assembled at
the end; the file appears only when complete.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simulacra.errors import InputError
from simulacra.io.tables import atomic_path
from simulacra.scale.chunks import DEFAULT_CHUNK_ROWS, Chunk, RangeProducer, check_count, plan_chunks
from simulacra.scale.engines import ENGINES, ChunkResult, resolve_workers, run_local, run_ray
from simulacra.scale.writers import (
    SUFFIXES,
    ChunkWriter,
    arrow_schema,
    check_format,
    count_rows,
    fast_eligible,
    merge_parts,
    part_name,
)

MANIFEST = "_simulacra_job.json"
SUCCESS = "_SUCCESS"
JOB_FORMAT = "simulacra-job"


@dataclass
class JobResult:
    """What a job wrote: where, how many rows and chunks (made now or found done), and how fast."""

    path: Path
    rows: int
    chunks: int
    chunks_made: int
    chunks_resumed: int
    seconds: float
    format: str
    engine: str
    workers: int
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        """Rows made in this run per second of wall time."""
        made = self.rows * self.chunks_made / max(self.chunks, 1)
        return made / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class Layout:
    """Where a job's parts go, and the single file they become (None: the folder is the output)."""

    parts_dir: Path
    single_file: Path | None
    fmt: str


def plan_layout(output: str | Path, format: str | None) -> Layout:
    """A folder output (no table suffix, or an existing folder) or a single file staged beside itself.

    Examples
    --------
    >>> plan_layout("out/rows.csv", None).single_file.name
    'rows.csv'
    >>> plan_layout("out/", "parquet").single_file is None
    True
    """
    out = Path(output)
    suffix = out.suffix.lower()
    is_dir = str(output).endswith(("/", "\\")) or out.is_dir() or not suffix
    if is_dir:
        return Layout(out, None, check_format(format or "parquet"))
    if format is None and suffix not in {*SUFFIXES.values(), ".pq"}:
        raise InputError(
            f"Cannot write '{out.name}' in chunks: use a .parquet, .csv or .jsonl file, or a folder "
            "(end the path with '/') for partitioned files."
        )
    fmt = check_format(format or suffix)
    return Layout(out.parent / f".{out.name}.parts", out, fmt)


def _manifest(producer: RangeProducer, n_rows: int, chunk_rows: int, fmt: str, info: dict[str, Any]) -> dict[str, Any]:
    from simulacra import __version__

    return {
        "format": JOB_FORMAT,
        "version": 1,
        "library_version": __version__,
        "fingerprint": producer.fingerprint(),
        "n_rows": n_rows,
        "chunk_rows": chunk_rows,
        "output_format": fmt,
        **info,
    }


def read_job_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of the job in ``folder`` (None if there is none)."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("format") == JOB_FORMAT else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str))


def _ours(path: Path) -> bool:
    name = path.name
    return name in (MANIFEST, SUCCESS) or (name.startswith("part-") and path.suffix in SUFFIXES.values()) or (
        name.startswith((".part-", "._simulacra_job", "._SUCCESS")) and name.endswith(".part")
    )


def _prepare_folder(layout: Layout, manifest: dict[str, Any], resume: bool, overwrite: bool) -> bool:
    """Make the parts folder ready; returns True when an earlier run of the same job is resumed."""
    folder = layout.parts_dir
    old = read_job_manifest(folder)
    keys = ("fingerprint", "n_rows", "chunk_rows", "output_format")
    same = old is not None and all(old.get(k) == manifest.get(k) for k in keys)
    entries = list(folder.iterdir()) if folder.is_dir() else []
    if entries and not (same and resume):
        foreign = [p.name for p in entries if not _ours(p)]
        if foreign:
            raise InputError(
                f"Output folder '{folder}' holds files this job did not write (e.g. '{foreign[0]}'); "
                "choose an empty or new folder."
            )
        if old is not None and not overwrite and not same:
            changed = [k for k in keys if old.get(k) != manifest.get(k)]
            raise InputError(
                f"'{folder}' holds an unfinished or finished job with a different {', '.join(changed)}; "
                "pass overwrite=True (--overwrite) to replace it, or write to a new folder."
            )
        if old is not None and not overwrite and not resume:
            raise InputError(f"'{folder}' holds this job already; pass resume=True to finish it or overwrite=True to redo it.")
        for p in entries:
            p.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob(".part-*.part"), *folder.glob("._*.part")]:  # temporary files of chunks a crash interrupted
        stale.unlink()
    if not (same and resume):
        _write_json(folder / MANIFEST, manifest)
        return False
    return True


def _finished(folder: Path, chunks: list[Chunk], fmt: str) -> set[int]:
    done = set()
    for c in chunks:
        path = folder / part_name(c.index, fmt)
        if path.exists():
            rows = count_rows(path, fmt)
            if rows is None or rows == c.rows:
                done.add(c.index)
            else:  # pragma: no cover - parts are renamed only when complete
                path.unlink()
    return done


def run_job(
    producer: RangeProducer,
    n_rows: int,
    output: str | Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    workers: int | None = None,
    engine: str = "local",
    format: str | None = None,
    resume: bool = True,
    overwrite: bool = False,
    progress: bool | None = None,
    ray_address: str | None = None,
    datetime_formats: dict[str, str] | None = None,
    info: dict[str, Any] | None = None,
) -> JobResult:
    """Write rows ``0..n_rows`` of ``producer`` to ``output`` in chunks, resumably.

    ``output`` is a folder (partitioned files ``part-000000.parquet``, ...) or a single file
    (``.parquet``, ``.csv``, ``.jsonl``). ``engine`` is ``local`` (``workers`` processes; all cores
    when None) or ``ray`` (``ray_address``: a cluster, or None for Ray on this machine).
    With ``resume``, parts finished by an interrupted run of the same job are kept, not redone.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from simulacra.scale.chunks import FunctionProducer
    >>> def squares(start, stop):
    ...     return pd.DataFrame({"i": range(start, stop)}).assign(sq=lambda d: d.i ** 2)
    >>> out = tempfile.mkdtemp() + "/squares/"
    >>> result = run_job(FunctionProducer(squares, "squares"), 10, out, chunk_rows=4, workers=1)
    >>> result.rows, result.chunks, int(pd.read_parquet(out)["sq"].iloc[-1])
    (10, 3, 81)
    """
    n_rows = check_count(n_rows, "n_rows")
    chunk_rows = check_count(chunk_rows, "chunk_rows", minimum=1)
    if engine not in ENGINES:
        raise InputError(f"Unknown engine '{engine}'; use one of: {', '.join(ENGINES)}")
    n_workers = resolve_workers(workers)
    layout = plan_layout(output, format)
    t0 = time.perf_counter()
    manifest = _manifest(producer, n_rows, chunk_rows, layout.fmt, dict(info or {}))
    resumed = _prepare_folder(layout, manifest, resume, overwrite)
    chunks = plan_chunks(n_rows, chunk_rows)
    done = _finished(layout.parts_dir, chunks, layout.fmt) if resumed else set()
    writer = ChunkWriter(layout.fmt, datetime_formats=dict(datetime_formats or {}))
    if layout.fmt == "parquet":
        probe = producer(0, min(n_rows, 256))
        writer.schema_bytes = arrow_schema(probe).serialize().to_pybytes()
        writer.fast = fast_eligible(probe)
    todo = [(c, str(layout.parts_dir / part_name(c.index, layout.fmt))) for c in chunks if c.index not in done]
    if engine == "ray":
        results = run_ray(producer, writer, todo, workers, ray_address)
    else:
        results = run_local(producer, writer, todo, n_workers)
    written = _drain(results, {c.index: c.rows for c, _ in todo}, progress, f"{n_rows:,} rows → {Path(output).name}")
    parts = [layout.parts_dir / part_name(c.index, layout.fmt) for c in chunks]
    if not parts:  # zero rows: one empty part with the right columns
        parts = [layout.parts_dir / part_name(0, layout.fmt)]
        writer.write(producer(0, 0), parts[0])
    final = _finish(layout, parts, writer, n_rows, time.perf_counter() - t0)
    return JobResult(
        final, n_rows, len(chunks), len(todo), len(done), time.perf_counter() - t0, layout.fmt, engine,
        n_workers, manifest.get("seed"), {"parts_dir": str(layout.parts_dir), "rows_written_now": written},
    )


def _finish(layout: Layout, parts: list[Path], writer: ChunkWriter, n_rows: int, seconds: float) -> Path:
    if layout.single_file is None:
        _write_json(layout.parts_dir / SUCCESS, {"rows": n_rows, "parts": len(parts), "seconds": round(seconds, 3)})
        return layout.parts_dir
    merge_parts(parts, layout.single_file, layout.fmt, writer.schema())
    shutil.rmtree(layout.parts_dir)
    return layout.single_file


def _drain(results: Iterator[ChunkResult], sizes: dict[int, int], progress: bool | None, label: str) -> int:
    """Consume finished chunks, showing rows/s and an ETA when ``progress`` (default: on a terminal)."""
    show = sys.stderr.isatty() if progress is None else progress
    made = 0
    if not show:
        for res in results:
            made += res.rows
        return made
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    ]
    t0 = time.perf_counter()
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=sum(sizes.values()), rate="")
        for res in results:
            made += res.rows
            rate = made / max(time.perf_counter() - t0, 1e-9)
            bar.update(task, advance=sizes.get(res.index, res.rows), rate=f"{rate:,.0f} rows/s")
    return made


def job_status(output: str | Path, format: str | None = None) -> dict[str, Any]:
    """How far the job writing ``output`` got: parts done and missing, and whether it finished.

    Examples
    --------
    >>> job_status("/nonexistent/folder/")["state"]
    'absent'
    """
    layout = plan_layout(output, format)
    if layout.single_file is not None and layout.single_file.exists() and not layout.parts_dir.exists():
        return {"state": "complete", "path": str(layout.single_file)}
    manifest = read_job_manifest(layout.parts_dir)
    if manifest is None:
        return {"state": "absent", "path": str(output)}
    chunks = plan_chunks(manifest["n_rows"], manifest["chunk_rows"])
    done = _finished(layout.parts_dir, chunks, manifest["output_format"])
    complete = (layout.parts_dir / SUCCESS).exists()
    return {
        "state": "complete" if complete else "partial",
        "path": str(output),
        "chunks": len(chunks),
        "chunks_done": len(done),
        "rows_done": sum(c.rows for c in chunks if c.index in done),
        "manifest": manifest,
    }


def as_dict(result: JobResult) -> dict[str, Any]:
    """A JSON-able summary of a job's result."""
    out = asdict(result)
    out["path"] = str(result.path)
    out["rows_per_second"] = result.rows_per_second
    return out
