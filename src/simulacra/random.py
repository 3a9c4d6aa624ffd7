"""Random streams: seeds, blocks and keyed generators shared by ``tabular``, ``spec`` and ``scale``.

Rows are made in *blocks*. Block ``k`` of a row sequence always draws from the generator
``block_rng(seed, k)``, so the same seed gives the same rows whatever the chunking, the number of
workers or the engine: a chunk is cut into blocks, never a block into chunks' own streams.

A table's block size depends only on its number of columns (:func:`block_rows_for`): wide tables get
shorter blocks so that one block holds about :data:`BLOCK_CELLS` cells. This is the single definition
of a block that sampling, chunked jobs and workers all use.

It also seeds torch for the parts that build torch networks (:func:`torch_seeded`), and names the device
they run on (:func:`torch_device`), without importing torch.

This module imports nothing from simulacra but ``errors``: every part may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from simulacra.errors import InputError

__all__ = [
    "BLOCK_CELLS",
    "BLOCK_ROWS",
    "RandomState",
    "block_rng",
    "block_rows_for",
    "blocks_of",
    "resolve_seed",
    "seed_sequence",
    "stream",
    "torch_device",
    "torch_seeded",
]

T = TypeVar("T")

#: The longest block: tables of up to ``BLOCK_CELLS // BLOCK_ROWS`` (128) columns use blocks of this size.
BLOCK_ROWS = 1 << 14
#: Wider tables get shorter blocks, so that one block holds about this many cells.
BLOCK_CELLS = 1 << 21
#: The shortest block, whatever the width.
MIN_BLOCK_ROWS = 64
#: Largest seed: seeds are kept below 2**63 so that they fit a signed 64-bit integer (JSON, Parquet).
MAX_SEED = 2**63 - 1

#: What a ``random_state`` argument accepts.
RandomState = int | np.random.Generator | np.random.SeedSequence | None


def block_rows_for(n_columns: int) -> int:
    """Rows per block for a table of ``n_columns`` columns (a power of two, 64 to :data:`BLOCK_ROWS`).

    Examples
    --------
    >>> block_rows_for(15), block_rows_for(128), block_rows_for(200), block_rows_for(1000)
    (16384, 16384, 8192, 2048)
    """
    rows = BLOCK_CELLS // max(int(n_columns), 1)
    return int(min(BLOCK_ROWS, max(MIN_BLOCK_ROWS, 1 << max(rows.bit_length() - 1, 0))))


def resolve_seed(random_state: RandomState, fallback: np.random.Generator | None = None) -> int:
    """An integer seed from ``random_state`` (drawn from ``fallback``, or fresh entropy, when None).

    Examples
    --------
    >>> resolve_seed(7)
    7
    >>> resolve_seed(None, np.random.default_rng(0)) == resolve_seed(None, np.random.default_rng(0))
    True
    """
    if random_state is None:
        if fallback is not None:
            return int(fallback.integers(0, MAX_SEED))
        return int(np.random.SeedSequence().entropy % MAX_SEED)  # type: ignore[operator]
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, MAX_SEED))
    if isinstance(random_state, np.random.SeedSequence):
        return int(random_state.generate_state(2, dtype=np.uint64)[0] % MAX_SEED)
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InputError(f"random_state must be a non-negative integer, got {random_state}")
        return int(random_state)
    raise InputError(
        f"random_state must be an int, a numpy Generator or None, got {type(random_state).__name__}"
    )


def stream(seed: int, *key: int) -> np.random.Generator:
    """The generator of the stream named by ``key`` (non-negative integers) under ``seed``.

    Streams with different keys are independent; the same seed and key always give the same draws.

    Examples
    --------
    >>> bool(stream(1, 2, 3).random() == stream(1, 2, 3).random())
    True
    """
    return np.random.default_rng(seed_sequence(seed, *key))


def seed_sequence(seed: int, *key: int) -> np.random.SeedSequence:
    """The seed sequence of the stream named by ``key`` under ``seed`` (for raw integer states)."""
    return np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in key))


def block_rng(seed: int, block: int) -> np.random.Generator:
    """The generator of block ``block`` of the row sequence for ``seed``."""
    return stream(seed, block)


def blocks_of(start: int, stop: int, size: int) -> list[tuple[int, int, int]]:
    """``(block, lo, hi)`` for each block of ``size`` rows covering rows ``start..stop``.

    ``lo..hi`` is the part of the block to keep, counted from the block's first row.

    Examples
    --------
    >>> blocks_of(100, 600, 256)
    [(0, 100, 256), (1, 0, 256), (2, 0, 88)]
    """
    out = []
    for k in range(start // size, (stop - 1) // size + 1 if stop > start else start // size):
        out.append((k, max(start, k * size) - k * size, min(stop, (k + 1) * size) - k * size))
    return out


def torch_seeded(torch: Any, seed: int, build: Callable[[], T], device: Any = None) -> T:
    """``build()`` with torch's global CPU generator seeded inside a fork, so the caller's state is left as
    it was (torch modules draw their initial weights from the global generator and take no other).

    ``torch`` is passed in: each caller imports it with the error that names its own extra. ``device``
    (a ``torch.device`` or its name) that is not the CPU is seeded as well and forked with it, for work that
    draws on that device's generator (sampling on a GPU).

    Examples
    --------
    >>> import torch
    >>> before = torch.random.get_rng_state()
    >>> a = torch_seeded(torch, 3, lambda: torch.rand(2))
    >>> bool((a == torch_seeded(torch, 3, lambda: torch.rand(2))).all()), bool((torch.random.get_rng_state() == before).all())
    (True, True)
    """
    dev = torch.device("cpu" if device is None else device)
    gpu = dev.type != "cpu"
    with torch.random.fork_rng(devices=[dev] if gpu else [], device_type=dev.type if gpu else "cuda"):
        # the forked generators (the CPU's, the device's) are restored on leaving
        torch.default_generator.manual_seed(int(seed) % 2**63)
        if dev.type == "cuda":
            with torch.cuda.device(dev):
                torch.cuda.manual_seed(int(seed) % 2**63)
        elif gpu:  # another accelerator with torch's per-backend seeding (mps, xpu)
            getattr(torch, dev.type).manual_seed(int(seed) % 2**63)
        return build()


def torch_device(torch: Any, device: str | None = "auto") -> str:
    """The torch device to run on: ``"auto"`` (or None) is ``"cuda"`` when torch sees a CUDA GPU and
    ``"cpu"`` otherwise; ``"cpu"``, ``"cuda"`` and ``"cuda:N"`` are checked (one this machine lacks is an
    :class:`InputError` saying what to use instead).

    ``torch`` is passed in, as for :func:`torch_seeded`.

    Examples
    --------
    >>> import torch
    >>> torch_device(torch, "cpu")
    'cpu'
    >>> torch_device(torch, "auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    True
    """
    name = "auto" if device is None else str(device).strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    index = name.removeprefix("cuda:")
    if name != "cpu" and name != "cuda" and not (name.startswith("cuda:") and index.isdigit()):
        raise InputError(f"The device must be auto, cpu, cuda or cuda:N, not {device!r}.")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"Device {device!r}: torch {torch.__version__} sees no CUDA GPU here; use the device "
                             "'cpu' (--device cpu), or 'auto' for the GPU when there is one.")
        if name != "cuda" and int(index) >= torch.cuda.device_count():
            raise InputError(f"Device {device!r}: torch sees {torch.cuda.device_count()} CUDA GPU(s), numbered from 0; "
                             "use one of them, or 'auto'.")
    return name
