"""Running Python tools in a worker process: a timeout per call, no network, crashes contained.

One worker serves many calls (start-up is paid once); a call past its timeout kills the worker and the
next call starts a fresh one, so a hung or crashed tool costs one call, not the run.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path
from typing import Any

from simulacra.errors import SimulacraError

WORKER = Path(__file__).with_name("_worker.py")
#: address-space limit of the worker (bytes); a tool that allocates more fails instead of the machine
MEMORY_LIMIT = 2 * 1024**3


class CallExecutionError(SimulacraError):
    """A tool call did not return: it raised, timed out, crashed, or its arguments were refused."""


class Worker:
    """A worker process for the tools of one Python module or file (``source`` as :func:`import_source` gives)."""

    def __init__(self, source: str, *, memory_limit: int | None = MEMORY_LIMIT) -> None:
        self.source = source
        self.memory_limit = memory_limit
        self._proc: subprocess.Popen[str] | None = None
        self.restarts = 0

    def _start(self) -> subprocess.Popen[str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")]).strip(os.pathsep)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        if self.memory_limit:
            env["SIMULACRA_TOOL_MEMORY"] = str(self.memory_limit)
        for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env.pop(var, None)
        proc = subprocess.Popen([sys.executable, "-u", str(WORKER), self.source], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                cwd=str(Path(self.source).parent) if self.source.endswith(".py") else None)
        self._proc = proc
        hello = self._read(proc, 60.0)
        if not hello.get("ok"):
            self.close()
            raise CallExecutionError(f"The tools in '{self.source}' cannot be loaded in the worker: {hello.get('error')}")
        return proc

    def _read(self, proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout):
                self.close()
                raise CallExecutionError(f"timed out after {timeout:g} s")
        finally:
            sel.close()
        line = proc.stdout.readline()
        if not line:
            code = proc.poll()
            self.close()
            raise CallExecutionError(f"the worker process died (exit code {code})")
        out = json.loads(line)
        assert isinstance(out, dict)
        return out

    def call(self, name: str, arguments: dict[str, Any], timeout: float = 5.0) -> Any:
        """Run ``name(**arguments)`` in the worker; return its (JSON-able) result or raise CallExecutionError."""
        proc = self._proc if self._proc is not None and self._proc.poll() is None else None
        if proc is None:
            if self._proc is not None:
                self.restarts += 1
            proc = self._start()
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps({"name": name, "arguments": arguments}, default=str) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self.close()
            raise CallExecutionError(f"the worker process died ({exc})") from exc
        answer = self._read(proc, timeout)
        if not answer.get("ok"):
            raise CallExecutionError(str(answer.get("error")))
        return answer.get("result")

    def close(self) -> None:
        """Stop the worker process."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


__all__ = ["CallExecutionError", "Worker"]
