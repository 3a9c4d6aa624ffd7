"""Where chunks are made: in this process, in local worker processes, or on a Ray cluster.

Every engine runs the same task, :func:`run_chunk` (make rows ``start..stop`` with a range producer
and write them as one part file), and yields a :class:`ChunkResult` per finished chunk, in any order.
At most a few chunks per worker are in flight, so memory stays flat whatever the number of chunks.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulacra.errors import InputError, MissingDependencyError, SimulacraError
from simulacra.io.files import Terminated, install_worker_handlers
from simulacra.io.writers import ChunkWriter
from simulacra.scale.chunks import Chunk, RangeProducer, split_range

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class ChunkResult:
    """A finished chunk: its index, rows written, seconds spent and file size."""

    index: int
    rows: int
    seconds: float
    bytes: int


def run_chunk(producer: RangeProducer, writer: ChunkWriter, chunk: Chunk, path: str) -> ChunkResult:
    """Make ``chunk``'s rows and write them to ``path``: the unit of work of every engine."""
    t0 = time.perf_counter()
    pieces = (producer(lo, hi) for lo, hi in split_range(chunk.start, chunk.stop))
    rows = writer.write_pieces(pieces, path)
    if getattr(producer, "exact_rows", True) and rows != chunk.rows:
        os.unlink(path)
        raise SimulacraError(
            f"Chunk {chunk.index} made {rows} rows instead of {chunk.rows}: the row producer is not "
            "deterministic over ranges; fix it so that producer(start, stop) returns stop - start rows."
        )
    return ChunkResult(chunk.index, rows, time.perf_counter() - t0, os.path.getsize(path))


def available_cores() -> int:
    """Cores this process may use.

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_workers(workers: int | None) -> int:
    """``workers`` checked; None means every available core."""
    if workers is None:
        return available_cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a whole number of at least 1, got {workers!r}")
    return workers


# -- local processes -------------------------------------------------------------------------------
_STATE: dict[str, Any] = {}


def _init_worker(producer: RangeProducer, writer: ChunkWriter) -> None:
    install_worker_handlers()  # SIGTERM removes the temporary of the chunk being written
    try:
        from threadpoolctl import threadpool_limits

        _STATE["limits"] = threadpool_limits(1)  # one BLAS thread per worker: the workers are the parallelism
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    _STATE["producer"], _STATE["writer"] = producer, writer


def _worker_task(chunk: Chunk, path: str) -> ChunkResult:
    try:
        return run_chunk(_STATE["producer"], _STATE["writer"], chunk, path)
    except Terminated:
        # the chunk's temporary is gone (unwound above); leave now, or the pool would hand this
        # worker its next queued chunk and start another temporary while the parent is stopping
        os._exit(143)


def _start_method() -> str:
    # fork starts workers in milliseconds and shares the loaded model; spawn where fork does not exist
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def run_local(
    producer: RangeProducer,
    writer: ChunkWriter,
    tasks: Iterable[tuple[Chunk, str]],
    count: int,
    workers: int,
) -> Generator[ChunkResult, None, None]:
    """Run ``count`` ``tasks`` (chunk, path), taken lazily, in this process (``workers=1``) or in a
    pool of worker processes. If the caller stops (an error, Ctrl-C, SIGTERM), workers are
    terminated: their unfinished parts are removed, finished ones stay."""
    if count <= 0:
        return
    if workers <= 1 or count == 1:
        yield from _run_inline(producer, writer, tasks)
        return
    workers = min(workers, count)
    context = multiprocessing.get_context(_start_method())
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(producer, writer))
    pending: set[Future[ChunkResult]] = set()
    try:
        for chunk, path in tasks:
            pending.add(pool.submit(_worker_task, chunk, path))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (f.result() for f in done)
    except BrokenProcessPool:
        raise SimulacraError(
            "A worker process died (often: out of memory). Finished chunks are kept; run the same job "
            "again to resume, with fewer workers or smaller chunks if memory is short."
        ) from None
    except BaseException:  # interrupted (or closed early): stop the workers now, not after their chunks
        _terminate(pool)
        raise
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """SIGTERM to the pool's workers (each removes the temporary of the part it was writing)."""
    processes = getattr(pool, "_processes", None) or {}  # no public API lists the pool's processes
    for process in list(processes.values()):
        if process.is_alive():
            process.terminate()


def _run_inline(producer: RangeProducer, writer: ChunkWriter, tasks: Iterable[tuple[Chunk, str]]) -> Generator[ChunkResult, None, None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        for chunk, path in tasks:
            yield run_chunk(producer, writer, chunk, path)
        return
    with threadpool_limits(1):
        for chunk, path in tasks:
            yield run_chunk(producer, writer, chunk, path)


# -- Ray ------------------------------------------------------------------------------------------
def import_ray() -> Any:
    """The ``ray`` module, or a MissingDependencyError naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray", "the Ray engine (engine='ray')") from None
    return ray


def run_ray(
    producer: RangeProducer,
    writer: ChunkWriter,
    tasks: Iterable[tuple[Chunk, str]],
    count: int,
    workers: int | None,
    address: str | None = None,
) -> Generator[ChunkResult, None, None]:
    """Run ``count`` ``tasks`` (taken lazily) as Ray tasks, one CPU each; connects to ``address`` (or starts Ray locally).

    Paths must be reachable from every Ray node (a shared file system on a cluster). Ray is shut
    down afterwards only if this call started it.
    """
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address:
            options["address"] = address
        elif workers:
            options["num_cpus"] = workers
        ray.init(**options)
        started = True
    try:
        capacity = int(ray.cluster_resources().get("CPU", 1))
        limit = 2 * max(1, min(workers or capacity, capacity))
        remote = ray.remote(num_cpus=1, max_retries=2)(_ray_task)
        producer_ref, writer_ref = ray.put(producer), ray.put(writer)
        pending: list[Any] = []
        for chunk, path in tasks:
            pending.append(remote.remote(producer_ref, writer_ref, chunk, path))
            if len(pending) >= limit:
                done, pending = ray.wait(pending, num_returns=1)
                yield from ray.get(done)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield from ray.get(done)
    finally:
        if started:
            ray.shutdown()


def _ray_task(producer: RangeProducer, writer: ChunkWriter, chunk: Chunk, path: str) -> ChunkResult:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return run_chunk(producer, writer, chunk, path)
