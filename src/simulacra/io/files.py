"""Files that appear complete or not at all, temporaries that never outlive their writer, and signals.

Every file simulacra writes is first written to a hidden temporary beside it, named
``.<name>.simulacra-<pid>-<token>.part``, and renamed over the target only once complete. The
temporary is removed when the writing fails, when the process is interrupted (Ctrl-C, or SIGTERM
while :func:`terminate_cleanly` is active), and, should the process have been killed outright
(SIGKILL, power loss), by the next write of the same file: a temporary whose process no longer
exists is stale. Only names of that exact form are ever removed, so files of other programs are
never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from simulacra.errors import InputError

#: The mark of simulacra's temporaries: ``.<target name>`` + this + ``<pid>-<token>.part``.
TEMP_MARK = ".simulacra-"
TEMP_SUFFIX = ".part"


def temp_path(target: str | Path) -> Path:
    """A new, unused temporary name beside ``target``, owned by this process.

    Examples
    --------
    >>> import os
    >>> temp_path("out/rows.csv").name.startswith(f".rows.csv.simulacra-{os.getpid()}-")
    True
    """
    target = Path(target)
    return target.parent / f".{target.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"


def temp_owner(path: str | Path, target_name: str | None = None) -> int | None:
    """The process id in a temporary's name (None if ``path`` is not a simulacra temporary).

    With ``target_name``, only temporaries of that target count.

    Examples
    --------
    >>> temp_owner(".rows.csv.simulacra-123-abcd1234.part")
    123
    >>> temp_owner(".rows.csv.simulacra-123-abcd1234.part", "other.csv") is None
    True
    >>> temp_owner("rows.csv") is None
    True
    """
    name = Path(path).name
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX) and TEMP_MARK in name):
        return None
    stem, _, tail = name[: -len(TEMP_SUFFIX)].rpartition(TEMP_MARK)
    if target_name is not None and stem != f".{target_name}":
        return None
    pid, _, token = tail.partition("-")
    if not (pid.isdigit() and len(token) == 8 and all(c in "0123456789abcdef" for c in token)):
        return None
    return int(pid)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:  # pragma: no cover - platforms without signal 0
        return True
    try:  # a zombie (killed, not yet reaped) answers signal 0 but writes nothing any more
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[-1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def stale_temps(target: str | Path) -> list[Path]:
    """Temporaries of ``target`` left by simulacra processes that no longer run."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    pattern = glob.escape(f".{target.name}{TEMP_MARK}") + "*" + TEMP_SUFFIX
    out = []
    for path in target.parent.glob(pattern):
        pid = temp_owner(path, target.name)
        if pid is not None and not _alive(pid):
            out.append(path)
    return sorted(out)


def stale_temps_in(folder: str | Path) -> list[Path]:
    """Every stale simulacra temporary directly in ``folder`` (of any target)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob(".*" + glob.escape(TEMP_MARK) + "*" + TEMP_SUFFIX):
        pid = temp_owner(path)
        if pid is not None and not _alive(pid):
            out.append(path)
    return sorted(out)


def remove_files(paths: list[Path]) -> list[Path]:
    """Remove ``paths`` (those already gone are skipped); returns the ones removed."""
    removed = []
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it only when the block succeeds.

    Stale temporaries of the same target (left by a killed run) are removed first; the
    temporary is removed if the block fails or is interrupted.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), [p.name for p in target.parent.iterdir()]
    ('done', ['a.txt'])
    """
    target = Path(path)
    if target.is_dir():  # checked before any work: os.replace would fail only at the end
        raise InputError(f"'{target}' is a folder, but one file is written here; give a file path "
                         f"(e.g. '{target / ('data' + (target.suffix or '.parquet'))}') instead")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_files(stale_temps(target))
    tmp = temp_path(target)
    try:  # created inside the try: a signal right after the open still removes it
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # usual permissions (umask applies)
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class Terminated(SystemExit):
    """Raised in the main thread when the process receives SIGTERM (or SIGHUP) during a write."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(128 + signum)


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP unwind the stack like Ctrl-C does, so temporaries go.

    Python's default is to die on SIGTERM without running ``finally`` blocks. Handlers are only
    installed from the main thread and only where the program has not installed its own; the
    previous handlers come back when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
            previous[sig] = signal.signal(sig, _raise_terminated)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _worker_terminated(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise Terminated(128 + signum)


def install_worker_handlers() -> None:
    """In a worker process: the first SIGTERM unwinds (removing temporaries) instead of killing
    outright, and later ones are ignored so the unwinding finishes. SIGINT is ignored: Ctrl-C
    reaches the whole process group, and the parent stops its workers itself."""
    signal.signal(signal.SIGTERM, _worker_terminated)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
