"""Crash matrix of ``simulacra text`` (issue 14): every command x every schema/example of docs/text.md, run as
a user would (a subprocess each), against the embedded model and against llama.cpp's server on 127.0.0.1.

    nice -n 10 .venv/bin/python benchmarks/bench_text_crash.py --backends embedded,server -n 1 --timeout 150

A crash is a signal (negative exit code, e.g. SIGSEGV), an exit code other than 0 (done) or 2 (a stated
shortfall or a one-line error), or a Python traceback in the output. A command still running after
``--timeout`` seconds is killed and counted as a timeout, not a crash. Prints a Markdown table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = {  # the schemas docs/text.md names: a person (facts + text), an e-mail, a review, a support ticket
    "person": {"type": "object", "properties": {
        "country": {"type": "string", "enum": ["France", "Japan", "Brazil", "Kenya"]},
        "age": {"type": "integer", "minimum": 18, "maximum": 80},
        "job": {"type": "string", "minLength": 3, "maxLength": 40},
        "bio": {"type": "string", "minLength": 10, "maxLength": 1500}}},  # above llama.cpp's 1,000: must be capped
    "email": {"type": "object", "properties": {"subject": {"type": "string", "maxLength": 80},
                                               "body": {"type": "string", "maxLength": 1200}}},
    "review": {"type": "object", "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 5},
                                                "text": {"type": "string", "maxLength": 600}}},
    "ticket": {"type": "object", "properties": {"product": {"type": "string", "enum": ["router", "laptop", "phone"]},
                                                "priority": {"type": "string", "enum": ["low", "high"]},
                                                "description": {"type": "string", "maxLength": 800}}},
}
DOC = ("Tides are the rise and fall of sea levels caused by the gravity of the Moon and the Sun. Most coasts have "
       "two high tides and two low tides each day. The Bay of Fundy in Canada has the highest tides in the world, "
       "up to 16 metres.\n\nVolcanoes form where magma reaches the surface. Mount Etna in Sicily is one of the most "
       "active volcanoes in Europe.")
SEEDS = ["Write a haiku about rain", "Sort these numbers from low to high: 5, 2, 9", "Explain photosynthesis simply",
         "Translate 'good morning' into French", "Name three prime numbers", "Summarize the paragraph in one sentence"]
_SERVE = ("import runpy, sys\n"
          "from simulacra.text.backends.llamacpp import _has_amx_kernels, _without_extra_buffers\n"
          "sys.argv = ['llama_cpp.server', *sys.argv[1:]]\n"
          "with _without_extra_buffers(_has_amx_kernels()):\n"
          "    runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n")


def _inputs(work: Path) -> None:
    for name, schema in SCHEMAS.items():
        (work / f"{name}.schema.json").write_text(json.dumps(schema))
    (work / "people.yaml").write_text("rows: 10\ncolumns:\n  age: {kind: uniform, min: 20, max: 70, round: 0}\n")
    (work / "topics.txt").write_text("tides\nvolcanoes\nhash tables\n")
    (work / "docs").mkdir(exist_ok=True)
    (work / "docs" / "nature.md").write_text(DOC)
    (work / "seed_tasks.jsonl").write_text("".join(json.dumps({"instruction": s}) + "\n" for s in SEEDS))
    qa = [{"question": "What causes tides?", "answer": "The gravity of the Moon and the Sun."},
          {"question": "Where is Mount Etna?", "answer": "In Sicily."}]
    (work / "qa_in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in qa))
    ins = [{"instruction": s, "output": "Done."} for s in SEEDS[:2]]
    (work / "instructions_in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ins))


def commands(n: int) -> dict[str, list[str]]:
    """Every ``simulacra text`` command of docs/text.md, with tiny ``n``, keyed by a short name."""
    cmds = {
        "qa --topics": ["qa", "--topics", "topics.txt", "-n", str(n)],
        "qa --documents (template)": ["qa", "--documents", "docs", "-n", str(n), "--phrasing", "template"],
        "qa --documents (model)": ["qa", "--documents", "docs", "-n", str(n), "--phrasing", "model"],
        "instruct": ["instruct", "--seeds", "seed_tasks.jsonl", "-n", str(n), "--calls-per-round", "2"],
        "instruct --no-outputs": ["instruct", "--seeds", "seed_tasks.jsonl", "-n", str(n), "--no-outputs",
                                  "--calls-per-round", "2"],
        "evolve": ["evolve", "instructions_in.jsonl", "--rounds", "1"],
        "label": ["label", "--labels", "positive,negative", "--per-label", str(n), "--domain", "product reviews"],
        "judge": ["judge", "qa_in.jsonl", "--rubric", "helpfulness", "--min-judge-accuracy", "0"],
        "judge --pairs": ["judge", "qa_in.jsonl", "--pairs", "--min-judge-accuracy", "0"],
        "judge --pairs (refused)": ["judge", "qa_in.jsonl", "--pairs"],
    }
    for name in SCHEMAS:
        cmds[f"rows {name}"] = ["rows", "--schema", f"{name}.schema.json", "-n", str(n), "--entity", name]
    cmds["rows person --conditions"] = ["rows", "--schema", "person.schema.json", "--conditions", "people.yaml",
                                        "-n", str(n), "--entity", "person"]
    return cmds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(work: Path) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1 with the embedded model (AMX kernels off)."""
    from simulacra.text.backends.llamacpp import default_model_path

    port = _free_port()
    log = open(work / "server.log", "a")
    proc = subprocess.Popen([sys.executable, "-c", _SERVE, "--model", str(default_model_path()), "--host", "127.0.0.1",
                             "--port", str(port), "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048",
                             "--model_alias", "smollm2"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {work / 'server.log'}")
        try:
            opener.open(url + "/models", timeout=2).read()
            return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start in 90 s")


def run_one(args: list[str], work: Path, out: Path, backend: list[str], timeout: float) -> dict:
    """Run one command; classify its end."""
    cmd = [sys.executable, "-m", "simulacra.cli.main", "text", *args, "-o", str(out), *backend]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1", "COLUMNS": "200"}
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        code, text = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as exc:
        code, text = None, (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else str(exc.stdout or "")
    seconds = round(time.perf_counter() - t0, 1)
    rows = 0
    if out.exists():
        rows = sum(1 for line in out.read_text().splitlines() if line.strip() and json.loads(line).get("_status", "ok") == "ok")
    crash = code is not None and (code < 0 or code not in (0, 2) or "Traceback (most recent call last)" in text)
    last = [ln for ln in text.strip().splitlines() if ln.strip()][-1:] if text.strip() else [""]
    return {"exit": code if code is not None else "timeout", "rows": rows, "crash": crash, "seconds": seconds,
            "last": last[0][:160]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="embedded,server")
    ap.add_argument("-n", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=150.0, help="seconds per command before it is killed")
    ap.add_argument("--only", default=None, help="comma-separated command names")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="simulacra-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    _inputs(work)
    cmds = commands(a.n)
    if a.only:
        cmds = {k: v for k, v in cmds.items() if k in a.only.split(",")}
    results: dict[str, dict[str, dict]] = {}
    for backend in a.backends.split(","):
        server = None
        for name, args in cmds.items():
            opts = ["--model", "smollm2-135m", "--threads", "1"]
            if backend == "server":
                if server is None or server[0].poll() is not None:
                    if server is not None:
                        results.setdefault("server process", {})[name] = {"exit": server[0].returncode, "crash": True}
                    server = start_server(work)
                opts = ["--model", server[1], "--concurrency", "2", "--timeout", "60", "--deadline", "60"]
            out = work / backend / (name.replace(" ", "_").replace("-", "").replace("(", "").replace(")", "") + ".jsonl")
            out.parent.mkdir(exist_ok=True)
            r = run_one(args, work, out, opts, a.timeout)
            if backend == "server" and server is not None and server[0].poll() is not None:
                r["server_died"] = server[0].returncode
                r["crash"] = True
            results.setdefault(name, {})[backend] = r
            print(json.dumps({"command": name, "backend": backend, **r}), flush=True)
        if server is not None:
            server[0].terminate()
            server[0].wait(timeout=10)
    backends = a.backends.split(",")
    print("\n| command | " + " | ".join(f"{b}: exit / valid rows / s" for b in backends) + " |")
    print("|---|" + "---|" * len(backends))
    for name, per in results.items():
        cells = [(f"**CRASH** {r['exit']}" if r.get("crash") else str(r["exit"])) + f" / {r.get('rows', '-')} / {r.get('seconds', '-')}"
                 if (r := per.get(b)) else "-" for b in backends]
        print(f"| `text {name}` | " + " | ".join(cells) + " |")
    crashes = {b: sum(1 for per in results.values() if per.get(b, {}).get("crash")) for b in backends}
    print(json.dumps({"crashes": crashes, "commands": len(cmds), "n": a.n, "load": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
