"""Splitting a row range into chunks, and the producers that make a chunk's rows.

A *range producer* is any callable ``producer(start, stop) -> DataFrame`` that returns rows
``start..stop`` of a deterministic, seeded, infinite sequence of rows. Because row ``i`` never depends
on how the range was cut, any chunking, any number of workers and any engine give the same rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol, overload, runtime_checkable

import pandas as pd

from simulacra.errors import InputError, NotFittedError
from simulacra.io.model import archive_digest

#: Default chunk size: 2**20 rows, a multiple of the synthesizers' (power-of-two) block size, so no
#: block is generated twice.
DEFAULT_CHUNK_ROWS = 1 << 20


@dataclass(frozen=True)
class Chunk:
    """Rows ``start`` to ``stop`` of a job, the ``index``-th chunk."""

    index: int
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start


class ChunkPlan(Sequence[Chunk]):
    """The chunks of ``range(n_rows)``, computed on demand: planning 10**15 rows takes no memory.

    Examples
    --------
    >>> plan = ChunkPlan(10, 4)
    >>> len(plan), plan[-1], [c.rows for c in plan]
    (3, Chunk(index=2, start=8, stop=10), [4, 4, 2])
    """

    def __init__(self, n_rows: int, chunk_rows: int) -> None:
        self.n_rows, self.chunk_rows = n_rows, chunk_rows
        self._count = -(-n_rows // chunk_rows)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, k: int) -> Chunk: ...

    @overload
    def __getitem__(self, k: slice) -> list[Chunk]: ...

    def __getitem__(self, k: int | slice) -> Chunk | list[Chunk]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self._count))]
        if k < 0:
            k += self._count
        if not 0 <= k < self._count:
            raise IndexError(k)
        return Chunk(k, k * self.chunk_rows, min(self.n_rows, (k + 1) * self.chunk_rows))

    def __iter__(self) -> Iterator[Chunk]:
        return (self[k] for k in range(self._count))

    def rows_of(self, indices: Iterable[int]) -> int:
        """Rows in the chunks numbered ``indices``."""
        return sum(self[k].rows for k in indices)


def plan_chunks(n_rows: int, chunk_rows: int) -> ChunkPlan:
    """Cut ``range(n_rows)`` into chunks of ``chunk_rows`` (the last one may be shorter), lazily.

    Examples
    --------
    >>> [(c.start, c.stop) for c in plan_chunks(10, 4)]
    [(0, 4), (4, 8), (8, 10)]
    >>> len(plan_chunks(10**15, 1 << 20))
    953674317
    """
    n_rows, chunk_rows = check_count(n_rows, "n_rows"), check_count(chunk_rows, "chunk_rows", minimum=1)
    return ChunkPlan(n_rows, chunk_rows)


def check_count(value: Any, name: str, minimum: int = 0) -> int:
    """``value`` as an int of at least ``minimum``, or an InputError that says so."""
    if isinstance(value, bool):
        raise InputError(f"{name} must be a whole number, got {value!r}")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a whole number, got {value!r}") from None
    if not as_float.is_integer() or as_float < minimum:
        raise InputError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return int(as_float)


#: A chunk is made and written in pieces of at most this many rows (2**18), one Parquet
#: row group each: a worker's memory is bounded by one piece, whatever ``chunk_rows``.
PIECE_ROWS = 1 << 18


def split_range(start: int, stop: int, size: int = PIECE_ROWS) -> list[tuple[int, int]]:
    """``start..stop`` cut at multiples of ``size``.

    Examples
    --------
    >>> split_range(100, 600, 256)
    [(100, 256), (256, 512), (512, 600)]
    """
    edges = [start, *range((start // size + 1) * size, stop, size), stop]
    return [(lo, hi) for lo, hi in pairwise(edges) if hi > lo] or [(start, stop)]


@runtime_checkable
class RangeProducer(Protocol):
    """Makes rows ``start..stop`` of a deterministic row sequence; picklable for worker processes."""

    def __call__(self, start: int, stop: int) -> pd.DataFrame: ...

    def fingerprint(self) -> str:
        """A digest that changes whenever the rows would change (model, seed, conditions)."""
        ...


class SynthesizerProducer:
    """Rows of a fitted synthesizer, carried to workers as its saved model file (never pickled).

    Parameters
    ----------
    model_bytes : bytes
        The model archive written by ``save`` (``BaseSynthesizer.save``).
    seed : int
        The row sequence's seed.
    conditions : dict, optional
        Fixed column values, as for ``sample(conditions=...)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from simulacra.tabular.copula import GaussianCopulaSynthesizer
    >>> synth = GaussianCopulaSynthesizer(random_state=0).fit(pd.DataFrame({"x": range(50)}))
    >>> producer = SynthesizerProducer.from_synthesizer(synth, seed=3)
    >>> producer(5, 8).equals(synth.sample_range(5, 8, random_state=3))
    True
    """

    def __init__(self, model_bytes: bytes, seed: int, conditions: dict[str, Any] | None = None) -> None:
        self.model_bytes = model_bytes
        self.seed = int(seed)
        self.conditions = dict(conditions) if conditions else None
        self._synth: Any = None

    @classmethod
    def from_synthesizer(
        cls, synth: Any, seed: int, conditions: dict[str, Any] | None = None
    ) -> SynthesizerProducer:
        """A producer for the fitted ``synth`` (saved to bytes once); the synthesizer is reused here."""
        require_fitted(synth)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.simulacra"
            synth.save(path)
            data = path.read_bytes()
        producer = cls(data, seed, conditions)
        producer._attach(synth)
        return producer

    def _attach(self, synth: Any) -> None:
        self._synth = synth

    def synthesizer(self) -> Any:
        """The synthesizer, loaded from the model bytes on first use in this process."""
        if self._synth is None:
            from simulacra.tabular.persistence import load

            fd, tmp = tempfile.mkstemp(suffix=".simulacra")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(self.model_bytes)
                self._attach(load(tmp))
            finally:
                os.unlink(tmp)
        return self._synth

    def __call__(self, start: int, stop: int) -> pd.DataFrame:
        synth = self.synthesizer()
        if stop <= start:
            return synth.sample_range(0, 0, random_state=self.seed, conditions=self.conditions)
        # one block at a time: no thread pool inside a worker, and memory of one block at a time
        parts = [
            synth.sample_range(lo, hi, random_state=self.seed, conditions=self.conditions)
            for lo, hi in split_range(start, stop, synth.block_rows)
        ]
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)

    def fingerprint(self) -> str:
        digest = hashlib.sha256(archive_digest(self.model_bytes).encode())
        digest.update(json.dumps([self.seed, self.conditions], sort_keys=True, default=str).encode())
        return digest.hexdigest()

    def __getstate__(self) -> dict[str, Any]:
        return {"model_bytes": self.model_bytes, "seed": self.seed, "conditions": self.conditions}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["model_bytes"], state["seed"], state["conditions"])  # type: ignore[misc]


def require_fitted(synth: Any) -> None:
    """A NotFittedError unless ``synth`` is a fitted synthesizer."""
    if not getattr(synth, "is_fitted", False):
        raise NotFittedError(
            f"This {type(synth).__name__} is not fitted yet; call fit(data) before writing its rows."
        )


class FunctionProducer:
    """Wraps a plain function ``fn(start, stop) -> DataFrame`` with a fingerprint of your choice.

    The function must be picklable for worker processes (a module-level function or a
    ``functools.partial`` of one) and deterministic: the same range always gives the same rows.

    Examples
    --------
    >>> import pandas as pd
    >>> def rows(start, stop):
    ...     return pd.DataFrame({"i": range(start, stop)})
    >>> FunctionProducer(rows, "ints-v1")(2, 4)["i"].tolist()
    [2, 3]
    """

    def __init__(self, fn: Any, fingerprint: str) -> None:
        self.fn = fn
        self._fingerprint = str(fingerprint)

    def __call__(self, start: int, stop: int) -> pd.DataFrame:
        return self.fn(start, stop)

    def fingerprint(self) -> str:
        return hashlib.sha256(self._fingerprint.encode()).hexdigest()
