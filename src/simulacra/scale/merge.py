"""Assembling a single-file output from a job's parts while the job runs.

Parts finish in any order; :class:`PartMerger` appends them to the output in index order as soon as
the next one is ready, so the copy overlaps the making of later chunks (the workers keep going while
this process appends) instead of following the whole job. It runs in the job's own thread: no
thread is alive when worker processes are forked. The output appears only once complete; stopping
the job removes the half-assembled temporary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from simulacra.io.writers import PartAppender


class PartMerger:
    """Merge parts ``0..count-1`` (paths from ``path_of``) into ``dest`` in order, as they become ready.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for k in (1, 0):
    ...     _ = (d / f"{k}.csv").write_text(f"a\\n{k}\\n")
    >>> merger = PartMerger(d / "all.csv", "csv", None, lambda k: d / f"{k}.csv", 2)
    >>> merger.start([]); merger.ready(1); merger.ready(0)
    >>> merger.finish().read_text().split()
    ['a', '0', '1']
    """

    def __init__(self, dest: Path, fmt: str, schema: Any, path_of: Callable[[int], Path], count: int) -> None:
        self.dest, self.path_of, self.count = dest, path_of, max(count, 1)
        self._appender = PartAppender(dest, fmt, schema)
        self._stack = ExitStack()
        self._ready: set[int] = set()
        self._next = 0

    def start(self, done: Iterable[int]) -> None:
        """Open the output, with the parts ``done`` (finished by an earlier run) available."""
        self._stack.enter_context(self._appender)
        self._ready.update(done)
        self._advance()

    def ready(self, index: int) -> None:
        """Part ``index`` is complete: append it and every following part already complete."""
        self._ready.add(index)
        self._advance()

    def _advance(self) -> None:
        while self._next in self._ready and self._next < self.count:
            self._ready.discard(self._next)
            self._appender.append(self.path_of(self._next))
            self._next += 1

    def finish(self) -> Path:
        """Append what is left (every part must be complete) and put the output in place."""
        self._ready.update(range(self._next, self.count))
        self._advance()
        self._stack.close()
        return self.dest

    def stop(self) -> None:
        """Abandon the merge: the temporary is removed and ``dest`` is left as it was."""
        self._stack.__exit__(RuntimeError, RuntimeError("stopped"), None)
