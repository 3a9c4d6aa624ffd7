"""Fuzzing the text commands against a misbehaving server (127.0.0.1 only).

:func:`text_chaos_case` draws, from one seed, a server that answers with a random cycle of HTTP statuses,
non-JSON bodies, cut bodies, dropped connections, hangs and delays, and a random ``simulacra text``
command against it, and checks the invariant: the command either succeeds with every row it promised
written and valid, or fails with a clear :class:`~simulacra.errors.SimulacraError`; never another
exception, never a run past its time bound, never exit 0 with nothing valid written.
"""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

from simulacra.testing.llm import MISBEHAVIOURS, FakeOpenAIServer

OK, CLEAR_ERROR = "ok", "clear error"
_OUTCOMES = [200, 200, 200, 429, 500, 503, 404, 400, *MISBEHAVIOURS]
#: the longest a case may take before it counts as a hang (its timeouts are 0.25 s, its deadline 1 s)
HANG_AFTER = 30.0


def _command(rng: random.Random, workdir: Path, url: str) -> list[str]:
    n = str(rng.randint(1, 3))
    common = ["--model", url, "--timeout", "0.25", "--deadline", "1", "--http-retries", str(rng.randint(0, 2)),
              "--retries", str(rng.randint(0, 2)), "--concurrency", str(rng.choice([1, 4])),
              "--cache", str(workdir / "cache.sqlite")]
    kind = rng.choice(["qa", "rows", "label"])
    if kind == "qa":
        (workdir / "topics.txt").write_text("tides\nvolcanoes\n", encoding="utf-8")
        return ["text", "qa", "--topics", str(workdir / "topics.txt"), "-n", n, "-o", str(workdir / "out.jsonl"), *common]
    if kind == "rows":
        schema = {"type": "object", "properties": {"age": {"type": "integer", "minimum": 1, "maximum": 9},
                                                   "note": {"type": "string", "maxLength": 60}}}
        (workdir / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
        return ["text", "rows", "--schema", str(workdir / "schema.json"), "-n", n, "--per-call", "2",
                "-o", str(workdir / "out.jsonl"), *common]
    return ["text", "label", "--labels", "pos,neg", "--per-label", n, "-o", str(workdir / "out.jsonl"), *common]


def _valid_rows(path: Path) -> int:
    if not path.is_file():
        return 0
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return sum(1 for r in rows if r.get("_status", "ok") == "ok")


def text_chaos_case(seed: int, workdir: str | Path, app: Any) -> tuple[str, dict[str, Any]]:
    """Run one fuzz case with the command-line ``app`` (``simulacra.cli.main.app``); returns ``(outcome class,
    details)``. Outcome classes: ``"ok"``, ``"clear error"``, or ``"BUG: ..."`` (another exception, a hang,
    exit 0 without valid rows)."""
    from typer.testing import CliRunner

    from simulacra.errors import SimulacraError

    rng = random.Random(seed)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    faults = [rng.choice(_OUTCOMES) for _ in range(rng.randint(1, 6))]
    latency = rng.choice([0.0, 0.0, 0.05, 0.2])
    box: dict[str, Any] = {}
    with FakeOpenAIServer(faults=faults, latency=latency, retry_after=rng.choice([0.01, 0.1]), seed=seed) as srv:
        args = _command(rng, work, srv.url)
        details: dict[str, Any] = {"seed": seed, "faults": faults, "latency": latency, "args": args[:2]}

        def run() -> None:
            box["result"] = CliRunner().invoke(app, args)

        start = time.perf_counter()
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(HANG_AFTER)
        details["seconds"] = round(time.perf_counter() - start, 2)
    if worker.is_alive():
        return "BUG: hang", details
    res = box["result"]
    exc = res.exception
    details["exit_code"] = res.exit_code
    if res.exit_code == 0:
        valid = _valid_rows(work / "out.jsonl")
        details["valid_rows"] = valid
        return (OK, details) if valid > 0 else ("BUG: exit 0 with nothing valid written", details)
    if isinstance(exc, SimulacraError):
        details["error"] = str(exc).splitlines()[0][:200]
        return CLEAR_ERROR, details
    if isinstance(exc, SystemExit) and res.exit_code == 2:  # click usage errors
        return CLEAR_ERROR, details
    details["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return f"BUG: {type(exc).__name__}", details


__all__ = ["CLEAR_ERROR", "HANG_AFTER", "OK", "text_chaos_case"]
