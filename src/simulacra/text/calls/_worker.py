"""The worker process that runs tool functions: ``python _worker.py SOURCE``.

It reads one JSON call per line on stdin and answers one JSON line on its own copy of stdout; what the
functions print goes to stderr. Sockets are refused before the module is imported, so a tool cannot
reach the network from Python (this is not an operating-system sandbox: a tool that starts another
program could). Only the standard library and pydantic are imported here.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import socket
import sys
import traceback
from typing import Any


class _NoNetwork(socket.socket):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise PermissionError("network access is disabled while running tools")


def _deny(*args: Any, **kwargs: Any) -> Any:
    raise PermissionError("network access is disabled while running tools")


def _block_network() -> None:
    import _socket

    socket.socket = _NoNetwork  # type: ignore[misc]
    socket.create_connection = _deny
    socket.getaddrinfo = _deny
    socket.socketpair = _deny
    _socket.socket = _NoNetwork  # type: ignore[misc]
    _socket.getaddrinfo = _deny


def _load(source: str) -> Any:
    if source.endswith(".py"):
        spec = importlib.util.spec_from_file_location("_simulacra_tools", source)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["_simulacra_tools"] = module
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(source)


def main() -> None:
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout = sys.stderr
    limit = os.environ.get("SIMULACRA_TOOL_MEMORY")
    if limit:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
        except (ImportError, ValueError, OSError):
            pass
    _block_network()
    from pydantic import ValidationError, validate_call

    try:
        module = _load(sys.argv[1])
    except BaseException as exc:  # noqa: BLE001 - report any import failure to the parent
        out.write(json.dumps({"ok": False, "error": f"import failed: {type(exc).__name__}: {exc}"}) + "\n")
        out.flush()
        return
    out.write(json.dumps({"ok": True, "ready": True}) + "\n")
    out.flush()
    wrapped: dict[str, Any] = {}
    for line in sys.stdin:
        try:
            call = json.loads(line)
            name = call["name"]
            if name not in wrapped:
                wrapped[name] = validate_call(getattr(module, name))
            value = wrapped[name](**call["arguments"])
            answer = {"ok": True, "result": value}
            text = json.dumps(answer, default=str, ensure_ascii=False)
        except ValidationError as exc:
            text = json.dumps({"ok": False, "error": "arguments rejected: " + "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())})
        except BaseException as exc:  # noqa: BLE001 - the tool's own failure is the answer
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" (line {tb[-1].lineno})" if tb else ""
            text = json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}{where}"}, ensure_ascii=False)
        out.write(text + "\n")
        out.flush()


if __name__ == "__main__":
    main()
