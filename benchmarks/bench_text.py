"""Benchmarks of simulacra.text (issue 6). Each part prints a JSON line; ``all`` runs every part.

    .venv/bin/python benchmarks/bench_text.py schema --rows 200      # embedded model: parse/validate rate vs free generation + regex
    .venv/bin/python benchmarks/bench_text.py overhead --prompts 12  # pipeline tokens/s vs llama-cpp-python directly
    .venv/bin/python benchmarks/bench_text.py concurrency            # throughput vs cap, fixed-latency local server
    .venv/bin/python benchmarks/bench_text.py faults --requests 400  # 429/500-injecting server: requests lost
The ``schema`` part also times a rerun of the finished job (zero model calls expected).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

PERSON = {
    "type": "object",
    "properties": {
        "country": {"type": "string", "enum": ["France", "Japan", "Brazil", "Kenya", "Canada", "India"]},
        "age": {"type": "integer", "minimum": 18, "maximum": 80},
        "job": {"type": "string", "minLength": 3, "maxLength": 40, "description": "job title"},
        "bio": {"type": "string", "minLength": 10, "maxLength": 120, "description": "one sentence about the person"},
    },
}


def _load() -> str:
    return os.getloadavg().__repr__()


def bench_schema(rows: int, baseline: int, per_call: int, threads: int) -> dict:
    from simulacra.io.tables import read_table  # noqa: F401  (warm imports outside the timing)
    from simulacra.text.backends.llamacpp import LlamaCppBackend
    from simulacra.text.engine import Engine
    from simulacra.text.schema import bound_schema, regex_json, validation_errors, validator
    from simulacra.text.tasks.rows import generate_rows
    from simulacra.text.types import ChatRequest

    backend = LlamaCppBackend(n_threads=threads)
    _ = backend.llama  # load outside the timings
    cache = Path(tempfile.mkdtemp()) / "cache.sqlite"
    t0 = time.perf_counter()
    eng = Engine(backend, cache=cache)
    res = generate_rows(PERSON, rows, entity="person", rows_per_call=per_call, seed=7, engine=eng)
    first = time.perf_counter() - t0
    valid = sum(r.get("_status", "ok") == "ok" for r in res.records)
    calls_first = eng.calls
    t1 = time.perf_counter()
    eng2 = Engine(LlamaCppBackend(n_threads=threads), cache=cache)
    res2 = generate_rows(PERSON, rows, entity="person", rows_per_call=per_call, seed=7, engine=eng2)
    rerun = time.perf_counter() - t1
    same = res2.records == res.records
    # baseline: free generation (no grammar), JSON found by a regex, validated the same way
    check = validator(bound_schema(PERSON))
    ok_parse = ok_valid = 0
    for i in range(baseline):
        req = ChatRequest.user("Write one realistic person record as JSON with fields country, age (18-80), job and bio. "
                               "Reply with the JSON object only.", max_tokens=160, temperature=0.9, seed=1000 + i)
        text = backend.complete([req])[0].text
        try:
            value = regex_json(text)
        except ValueError:
            continue
        ok_parse += 1
        ok_valid += isinstance(value, dict) and not validation_errors(value, check)
    return {"part": "schema", "rows": rows, "rows_out": len(res.records), "valid": valid, "valid_rate": valid / rows,
            "invalid_kept": len(res.records) - valid, "calls": calls_first, "retries": calls_first - -(-rows // per_call),
            "first_run_s": round(first, 2), "rerun_s": round(rerun, 3), "rerun_ratio": round(rerun / first, 4),
            "rerun_model_calls": eng2.calls, "rerun_identical": same, "baseline_outputs": baseline,
            "baseline_parsed": ok_parse, "baseline_valid": ok_valid, "load": _load(),
            "sample": [{k: v for k, v in r.items() if not k.startswith("_")} for r in res.records[:3]]}


def bench_overhead(prompts: int, max_tokens: int, threads: int, repeats: int) -> dict:
    from simulacra.text.backends.llamacpp import LlamaCppBackend
    from simulacra.text.engine import Engine
    from simulacra.text.types import ChatRequest

    backend = LlamaCppBackend(n_threads=threads)
    llama = backend.llama
    topics = ["rivers", "bread", "chess", "volcanoes", "jazz", "tides", "bees", "glass", "maps", "salt", "owls", "kites"]
    msgs = [[{"role": "user", "content": f"Write two sentences about {topics[i % len(topics)]} (variant {i})."}] for i in range(prompts)]

    def direct() -> tuple[int, float]:
        t = time.perf_counter()
        toks = sum(llama.create_chat_completion(messages=m, max_tokens=max_tokens, temperature=0.8, top_p=0.95, seed=i)["usage"]["completion_tokens"]
                   for i, m in enumerate(msgs))
        return toks, time.perf_counter() - t

    def pipeline() -> tuple[int, float]:
        eng = Engine(backend)  # fresh in-memory cache: every request reaches the model
        t = time.perf_counter()
        out = eng.complete([ChatRequest(messages=tuple(m), max_tokens=max_tokens, temperature=0.8, top_p=0.95, seed=i)
                            for i, m in enumerate(msgs)])
        return sum(c.completion_tokens for c in out), time.perf_counter() - t

    d_rates, p_rates = [], []
    for _ in range(repeats):  # interleaved, best of each, to damp the noise of a shared CPU
        tk, s = direct()
        d_rates.append(tk / s)
        tk, s = pipeline()
        p_rates.append(tk / s)
    return {"part": "overhead", "prompts": prompts, "max_tokens": max_tokens, "direct_tok_s": round(max(d_rates), 1),
            "pipeline_tok_s": round(max(p_rates), 1), "ratio": round(max(p_rates) / max(d_rates), 3),
            "all_direct": [round(x, 1) for x in d_rates], "all_pipeline": [round(x, 1) for x in p_rates], "load": _load()}


def bench_concurrency(waves: int, latency: float, caps: list[int]) -> dict:
    """Requests = waves x cap for each cap, against a fake server in its own process (no shared GIL)."""
    import subprocess
    import sys

    from simulacra.text.backends.openai_http import OpenAIBackend
    from simulacra.text.types import ChatRequest

    proc = subprocess.Popen([sys.executable, "-m", "simulacra.testing.llm", "--latency", str(latency)],
                            stdout=subprocess.PIPE, text=True)
    out = []
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        for cap in caps:
            n = waves * cap
            be = OpenAIBackend(url, concurrency=cap)
            reqs = [ChatRequest.user(f"q{cap}-{i}", seed=i) for i in range(n)]
            t = time.perf_counter()
            res = be.complete(reqs)
            s = time.perf_counter() - t
            out.append({"cap": cap, "requests": n, "req_s": round(n / s, 2), "ideal_req_s": round(cap / latency, 2),
                        "efficiency": round(n / s / (cap / latency), 3), "ok": sum(c.ok for c in res)})
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"part": "concurrency", "latency_s": latency, "results": out, "load": _load()}


def bench_faults(requests: int, fault_rate: float, cap: int) -> dict:
    from simulacra.testing.llm import FakeOpenAIServer
    from simulacra.text.backends.openai_http import OpenAIBackend
    from simulacra.text.types import ChatRequest

    with FakeOpenAIServer(latency=0.02, fault_rate=fault_rate, retry_after=0.05, seed=1) as srv:
        be = OpenAIBackend(srv.url, concurrency=cap, max_retries=10, backoff_base=0.05, backoff_max=1.0, seed=0)
        t = time.perf_counter()
        res = be.complete([ChatRequest.user(f"f{i}", seed=i) for i in range(requests)])
        s = time.perf_counter() - t
        statuses = dict(srv.statuses)
    answered = sum(c.ok and c.text == f"echo: f{i}" for i, c in enumerate(res))
    return {"part": "faults", "requests": requests, "fault_rate": fault_rate, "answered_correctly": answered,
            "lost": requests - answered, "server_statuses": statuses, "client_retries": be.retries,
            "rate_limited": be.rate_limited, "seconds": round(s, 2), "load": _load()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["schema", "overhead", "concurrency", "faults", "all"])
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--baseline", type=int, default=20)
    ap.add_argument("--per-call", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prompts", type=int, default=12)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--requests", type=int, default=128)
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--waves", type=int, default=4)
    ap.add_argument("--caps", default="1,2,4,8,16,32")
    ap.add_argument("--fault-rate", type=float, default=0.3)
    args = ap.parse_args()
    parts = ["concurrency", "faults", "overhead", "schema"] if args.part == "all" else [args.part]
    for part in parts:
        if part == "schema":
            out = bench_schema(args.rows, args.baseline, args.per_call, args.threads)
        elif part == "overhead":
            out = bench_overhead(args.prompts, args.max_tokens, args.threads, args.repeats)
        elif part == "concurrency":
            out = bench_concurrency(args.waves, args.latency, [int(c) for c in args.caps.split(",")])
        else:
            out = bench_faults(args.requests * 3, args.fault_rate, 16)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
