"""Resumable chunked jobs: plan, manifest, progress, and the final file or folder.

A job writes ``n_rows`` rows from a range producer as numbered part files. Its folder holds a
manifest (``_simulacra_job.json``: what is being made, with a fingerprint of the model, seed and
options) and, once every part exists, a ``_SUCCESS`` marker. Parts appear atomically, so after a
crash the parts present are exactly the finished chunks: running the same job again makes only the
missing ones. A single-file output is staged as parts in a hidden folder beside it and appended to
it as they finish (a Parquet file from Arrow-stream parts, so its rows are encoded once); the file
appears only when complete.

What a job may delete (see docs/security.md): only files its manifest lists (the manifest, the
``_SUCCESS`` marker, and ``part-NNNNNN.<fmt>`` for the chunks it plans) and its own stale
temporaries (see :mod:`simulacra.io.files`). A folder holding anything else is refused unless
``overwrite`` is given, and then every file removed is named in a warning and in the result.
Chunks are planned lazily: a job of 10**15 rows holds one chunk at a time, never the list.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simulacra.errors import InputError
from simulacra.io.files import (
    atomic_path,
    remove_files,
    stale_temps_in,
    temp_owner,
    terminate_cleanly,
)
from simulacra.io.writers import PART_SUFFIXES, SUFFIXES, ChunkWriter, count_rows, output_format
from simulacra.scale.chunks import DEFAULT_CHUNK_ROWS, ChunkPlan, RangeProducer, check_count, plan_chunks
from simulacra.scale.engines import ENGINES, ChunkResult, resolve_workers, run_local, run_ray
from simulacra.scale.merge import PartMerger

MANIFEST = "_simulacra_job.json"
SUCCESS = "_SUCCESS"
JOB_FORMAT = "simulacra-job"
_PART = re.compile(r"^part-(\d{6,})(\.[a-z]+)$")


def part_name(index: int, fmt: str) -> str:
    """The file name of part ``index``.

    Examples
    --------
    >>> part_name(3, "parquet")
    'part-000003.parquet'
    """
    return f"part-{index:06d}{PART_SUFFIXES[fmt]}"


def part_index(name: str, fmt: str) -> int | None:
    """The chunk number of a part file name of format ``fmt`` (None for any other name).

    Examples
    --------
    >>> part_index("part-000012.csv", "csv"), part_index("part-0.parquet", "parquet")
    (12, None)
    """
    found = _PART.match(name)
    if found is None or found.group(2) != PART_SUFFIXES.get(fmt):
        return None
    return int(found.group(1))


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
    """Where a job's parts go, and the single file they become (None: the folder is the output).

    ``part_fmt`` is the format of the parts: ``fmt``, except for a single Parquet file, staged as
    Arrow streams so that its rows are encoded to Parquet once, not once per part and again in it.
    """

    parts_dir: Path
    single_file: Path | None
    fmt: str
    part_fmt: str = ""

    def __post_init__(self) -> None:
        if not self.part_fmt:
            object.__setattr__(self, "part_fmt", self.fmt)


def plan_layout(output: str | Path, format: str | None) -> Layout:
    """A folder output (no table suffix, or an existing folder) or a single file staged beside itself.

    Examples
    --------
    >>> plan_layout("out/rows.csv", None).single_file.name
    'rows.csv'
    >>> plan_layout("out/", "parquet").single_file is None
    True
    >>> plan_layout("out/rows.parquet", None).part_fmt
    'arrow'
    """
    out = Path(output)
    suffix = out.suffix.lower()
    is_dir = str(output).endswith(("/", "\\")) or out.is_dir() or not suffix
    if is_dir:
        return Layout(out, None, output_format(out, format or "parquet", what="write in chunks"))
    fmt = output_format(out, format, what="write in chunks")
    return Layout(out.parent / f".{out.name}.parts", out, fmt, "arrow" if fmt == "parquet" else fmt)


def _manifest(producer: RangeProducer, plan: ChunkPlan, layout: Layout, info: dict[str, Any]) -> dict[str, Any]:
    from simulacra import __version__

    return {
        "format": JOB_FORMAT,
        "version": 1,
        "library_version": __version__,
        "fingerprint": producer.fingerprint(),
        "n_rows": plan.n_rows,
        "chunk_rows": plan.chunk_rows,
        "output_format": layout.fmt,
        "part_format": layout.part_fmt,
        # the files this job owns, and may remove: the manifest, the marker and these parts
        "parts": {"pattern": part_name(0, layout.part_fmt).replace("000000", "{index:06d}"), "count": len(plan)},
        **info,
    }


def read_job_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of the job in ``folder`` (None if there is none)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    ok = isinstance(data, dict) and data.get("format") == JOB_FORMAT
    ok = ok and isinstance(data.get("n_rows"), int) and isinstance(data.get("chunk_rows"), int) and data["chunk_rows"] > 0
    ok = ok and data.get("output_format") in SUFFIXES and data.get("part_format", data.get("output_format")) in PART_SUFFIXES
    return data if ok else None


def part_format(manifest: dict[str, Any]) -> str:
    """The format of the parts of a job's manifest (that of its output, for manifests older than
    ``part_format``)."""
    return str(manifest.get("part_format", manifest["output_format"]))


def owned_by(manifest: dict[str, Any] | None, name: str) -> bool:
    """Whether the job of ``manifest`` wrote (and so may remove) the file ``name`` of its folder.

    Examples
    --------
    >>> m = {"n_rows": 10, "chunk_rows": 4, "output_format": "csv"}
    >>> [owned_by(m, n) for n in ("part-000002.csv", "part-000003.csv", "part-0.csv", "_SUCCESS")]
    [True, False, False, True]
    >>> owned_by(None, "_SUCCESS")
    False
    """
    if manifest is None:
        return False
    if name in (MANIFEST, SUCCESS):
        return True
    index = part_index(name, part_format(manifest))
    return index is not None and index < len(ChunkPlan(manifest["n_rows"], manifest["chunk_rows"]))


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=str))


def _check_folder(layout: Layout, manifest: dict[str, Any], resume: bool, overwrite: bool) -> tuple[bool, list[Path]]:
    """Whether an earlier run of the same job is resumed, and the files to remove first.

    Nothing is changed here: every refusal leaves the folder as it was.
    """
    folder = layout.parts_dir
    if folder.exists() and not folder.is_dir():
        raise InputError(f"'{folder}' is a file, not a folder; choose another output.")
    old = read_job_manifest(folder)
    keys = ("fingerprint", "n_rows", "chunk_rows", "output_format", "part_format")
    same = old is not None and all((part_format(old) if k == "part_format" else old.get(k)) == manifest.get(k) for k in keys)
    entries = sorted(folder.iterdir()) if folder.is_dir() else []
    stale = set(stale_temps_in(folder))
    busy = [p for p in entries if temp_owner(p) is not None and p not in stale]
    if busy:
        raise InputError(
            f"Another simulacra process (pid {temp_owner(busy[0])}) is writing to '{folder}' right now; "
            f"wait for it to finish or choose another output (if no such job runs, remove '{busy[0].name}')."
        )
    visible = [p for p in entries if not p.name.startswith(".")]
    mine = [p for p in visible if owned_by(old, p.name)]
    foreign = [p for p in visible if p not in mine]
    if foreign:
        dirs = [p.name for p in foreign if p.is_dir()]
        if dirs:
            raise InputError(
                f"Output folder '{folder}' holds folders this job did not make (e.g. '{dirs[0]}'); "
                "nothing was changed. Choose an empty or new folder."
            )
        if not overwrite:
            raise InputError(
                f"Output folder '{folder}' holds {len(foreign)} file(s) this job did not write "
                f"(e.g. '{foreign[0].name}'); nothing was changed. Choose an empty or new folder, or pass "
                "overwrite=True (--overwrite) to remove them."
            )
    if old is not None and not same and not overwrite:
        changed = [k for k in keys if (part_format(old) if k == "part_format" else old.get(k)) != manifest.get(k)]
        raise InputError(
            f"'{folder}' holds an unfinished or finished job with a different {', '.join(changed)}; "
            "pass overwrite=True (--overwrite) to replace it, or write to a new folder."
        )
    if old is not None and same and not resume and not overwrite:
        raise InputError(f"'{folder}' holds this job already; pass resume=True to finish it or overwrite=True to redo it.")
    resumed = same and resume and not foreign
    remove = foreign + ([] if resumed else mine)
    return resumed, remove


def _prepare_folder(layout: Layout, manifest: dict[str, Any], remove: list[Path], resumed: bool) -> None:
    folder = layout.parts_dir
    if remove:
        names = ", ".join(p.name for p in remove[:10]) + (f" and {len(remove) - 10} more" if len(remove) > 10 else "")
        warnings.warn(f"overwrite: removing {len(remove)} file(s) from '{folder}': {names}", stacklevel=4)
        if any(p.name == MANIFEST for p in remove):  # the manifest goes last: the folder stays ours until then
            remove = [p for p in remove if p.name != MANIFEST] + [folder / MANIFEST]
        remove_files(remove)
    folder.mkdir(parents=True, exist_ok=True)
    remove_files(stale_temps_in(folder))  # temporaries of chunks a killed run was writing
    if not resumed:
        _write_json(folder / MANIFEST, manifest)


def _finished(folder: Path, plan: ChunkPlan, fmt: str) -> set[int]:
    """Chunks whose part file is present and whole (the folder is listed: nothing is planned ahead)."""
    done = set()
    for path in folder.iterdir() if folder.is_dir() else ():
        k = part_index(path.name, fmt)
        if k is None or k >= len(plan):
            continue
        rows = count_rows(path, fmt)
        if rows is None or rows == plan[k].rows:
            done.add(k)
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
    A folder holding files the job did not write is refused unless ``overwrite``. SIGTERM and
    Ctrl-C stop the job cleanly: finished parts stay (run again to resume), temporaries go.

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
    plan = plan_chunks(n_rows, chunk_rows)
    manifest = _manifest(producer, plan, layout, dict(info or {}))
    resumed, remove = _check_folder(layout, manifest, resume, overwrite)
    probe = producer(0, min(n_rows, 256))  # before anything is written: a producer that fails leaves no trace
    writer = ChunkWriter.for_sample(layout.part_fmt, probe, datetime_formats=dict(datetime_formats or {}))
    with terminate_cleanly():
        _prepare_folder(layout, manifest, remove, resumed)
        done = _finished(layout.parts_dir, plan, layout.part_fmt) if resumed else set()
        todo = ((c, str(layout.parts_dir / part_name(c.index, layout.part_fmt))) for c in plan if c.index not in done)
        count = len(plan) - len(done)
        merger = None
        if layout.single_file is not None:
            merger = PartMerger(layout.single_file, layout.fmt, writer.schema(),
                                lambda k: layout.parts_dir / part_name(k, layout.part_fmt), len(plan))
        if engine == "ray":
            results = run_ray(producer, writer, todo, count, workers, ray_address)
        else:
            results = run_local(producer, writer, todo, count, n_workers)
        try:
            available = set(done)
            if not len(plan):  # zero rows: one empty part with the right columns
                writer.write(producer(0, 0), layout.parts_dir / part_name(0, layout.part_fmt))
                available = {0}
            if merger is not None:
                merger.start(available)
            with contextlib.closing(results):
                written = _drain(results, n_rows - plan.rows_of(done), progress,
                                 f"{n_rows:,} rows → {Path(output).name}", merger)
        except BaseException:
            if merger is not None:
                merger.stop()
            raise
        final = _finish(layout, plan, merger, n_rows, time.perf_counter() - t0)
    return JobResult(
        final, n_rows, len(plan), count, len(done), time.perf_counter() - t0, layout.fmt, engine, n_workers,
        manifest.get("seed"), {"parts_dir": str(layout.parts_dir), "rows_written_now": written,
                               "removed": [str(p) for p in remove]},
    )


def _finish(layout: Layout, plan: ChunkPlan, merger: PartMerger | None, n_rows: int, seconds: float) -> Path:
    folder = layout.parts_dir
    if merger is None:
        _write_json(folder / SUCCESS, {"rows": n_rows, "parts": max(len(plan), 1), "seconds": round(seconds, 3)})
        return folder
    merger.finish()
    # the staging folder goes: only the files this job owns, then the folder if nothing else is left
    manifest = read_job_manifest(folder)
    remove_files([p for p in folder.iterdir() if owned_by(manifest, p.name) and p.name != MANIFEST])
    remove_files([folder / MANIFEST, *stale_temps_in(folder)])
    with contextlib.suppress(OSError):
        folder.rmdir()
    return merger.dest


def _drain(
    results: Iterable[ChunkResult], total: int, progress: bool | None, label: str, merger: PartMerger | None = None
) -> int:
    """Consume finished chunks (handing them to ``merger``), showing rows/s and an ETA when ``progress``
    (default: on a terminal)."""
    show = sys.stderr.isatty() if progress is None else progress
    made = 0
    if not show:
        for res in results:
            made += res.rows
            if merger is not None:
                merger.ready(res.index)
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
        task = bar.add_task(label, total=total, rate="")
        for res in results:
            made += res.rows
            if merger is not None:
                merger.ready(res.index)
            rate = made / max(time.perf_counter() - t0, 1e-9)
            bar.update(task, advance=res.rows, rate=f"{rate:,.0f} rows/s")
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
    plan = ChunkPlan(manifest["n_rows"], manifest["chunk_rows"])
    done = _finished(layout.parts_dir, plan, part_format(manifest))
    complete = (layout.parts_dir / SUCCESS).exists()
    return {
        "state": "complete" if complete else "partial",
        "path": str(output),
        "chunks": len(plan),
        "chunks_done": len(done),
        "rows_done": plan.rows_of(done),
        "manifest": manifest,
    }


def as_dict(result: JobResult) -> dict[str, Any]:
    """A JSON-able summary of a job's result."""
    out = asdict(result)
    out["path"] = str(result.path)
    out["rows_per_second"] = result.rows_per_second
    return out
