"""Benchmarks of ``simulacra corpus`` (issue 18). Each part prints a JSON line.

    .venv/bin/python benchmarks/bench_corpus.py calls --rows 1000 --model-share 0     # demo API: yield per stage, rows lost
    .venv/bin/python benchmarks/bench_corpus.py calls --rows 40 --model-share 1 --rounds 1   # the embedded model phrasing every row
    .venv/bin/python benchmarks/bench_corpus.py docs --rows 2000 --sample 50          # docs/ -> corpus; 50 kept QA pairs to read

``calls`` builds the function-calling corpus of the demo API (the embedded SmolLM2-135M rephrases
``--model-share`` of the requests; 0 = templates only), decontaminated against the hand-written held-out
requests, and checks that every planned row is either kept or kept apart with a reason (0 lost).
``docs`` builds grounded QA and instructions from the project's own ``docs/`` and writes a seeded sample of
kept QA pairs with their chunks to ``--sample-out`` for a person to read ("answerable from the chunk?").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_calls(rows: int, model_share: float, seed: int, ngram: int, rounds: int) -> dict:
    from simulacra.text.calls import DEMO_API, load_api
    from simulacra.text.calls.corpus import build_calls, stage_yield
    from simulacra.text.calls.demo_api import heldout_path
    from simulacra.text.calls.output import write_calls_corpus
    from simulacra.text.corpus.decontam import eval_texts
    from simulacra.text.engine import Engine

    engine = None
    if model_share > 0:
        engine = Engine("local", cache=Path(tempfile.gettempdir()) / "bench-corpus-cache.sqlite", n_threads=2)
    start = time.perf_counter()
    with load_api(DEMO_API) as api:
        res = build_calls(api, rows, engine=engine, seed=seed, model_share=model_share, max_rounds=rounds,
                          eval_requests=eval_texts(heldout_path()), ngram=ngram)
        seconds = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as out:
            manifest = write_calls_corpus(res, api, out, command="benchmarks/bench_corpus.py calls")
    if engine is not None:
        engine.close()
    planned = res.config["planned"]
    model_rows = [r for r in res.records + res.filtered if r.get("phrasing") == "model"]
    model_kept = sum(1 for r in res.records if r.get("phrasing") == "model")
    return {
        "part": "calls", "rows_asked": rows, "rows_kept": len(res.records), "rows_rejected": len(res.filtered),
        "rows_planned": planned, "rows_lost": planned - len(res.records) - len(res.filtered),
        "verification": stage_yield(res), "redrawn_before_phrasing": res.config["redrawn_before_phrasing"],
        "decontamination": res.config["decontamination"], "kinds": manifest["kinds"],
        "model_share": model_share, "model_phrased": len(model_rows), "model_phrased_kept": model_kept,
        "judge": res.config["judge_consulted"], "notes": res.notes, "seconds": round(seconds, 1),
        "engine": res.engine_stats or None, "load": os.getloadavg()[0],
    }


def bench_docs(rows: int, seed: int, sample: int, sample_out: Path, docs: Path) -> dict:
    from simulacra.text.corpus.docs import build_docs, coverage

    start = time.perf_counter()
    res, chunks = build_docs(docs, rows, seed=seed)
    seconds = time.perf_counter() - start
    qa = [r for r in res.records if r["task"] == "qa"]
    picked = random.Random(seed).sample(qa, min(sample, len(qa)))
    sample_out.parent.mkdir(parents=True, exist_ok=True)
    with open(sample_out, "w", encoding="utf-8") as fh:
        for i, r in enumerate(picked, 1):
            fh.write(json.dumps({"i": i, "question": r["question"], "answer": r["answer"], "kind": r["answer_kind"],
                                 "chunk": r["chunk"], "heading": r["heading"], "evidence": r.get("evidence"),
                                 "passage": r["passage"]}, ensure_ascii=False) + "\n")
    stages = {s.name: {"in": s.inputs, "out": s.outputs, "removed": s.filtered} for s in res.stages}
    kinds: dict[str, int] = {}
    for r in res.records:
        k = f"{r['task']}:{r.get('answer_kind') or r.get('instruction_kind')}"
        kinds[k] = kinds.get(k, 0) + 1
    return {"part": "docs", "rows_asked": rows, "rows_kept": len(res.records), "rows_rejected": len(res.filtered),
            "qa_rows": len(qa), "kinds": kinds, "stages": stages, "coverage": {k: v for k, v in coverage(res.records, chunks).items()
                                                                               if k != "unused"},
            "sample_written": str(sample_out), "sample": len(picked), "notes": res.notes, "seconds": round(seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["calls", "docs", "all"])
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--model-share", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ngram", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of replacement draws for rejected rows")
    ap.add_argument("--sample", type=int, default=50)
    ap.add_argument("--docs", type=Path, default=ROOT / "docs", help="the documents (default: the project's docs/)")
    ap.add_argument("--sample-out", type=Path, default=ROOT / "benchmarks" / "results" / "corpus_docs_sample.jsonl")
    args = ap.parse_args()
    if args.part in ("calls", "all"):
        print(json.dumps(bench_calls(args.rows or 1000, args.model_share, args.seed, args.ngram, args.rounds)), flush=True)
    if args.part in ("docs", "all"):
        print(json.dumps(bench_docs(args.rows or 2000, args.seed, args.sample, args.sample_out, args.docs)), flush=True)


if __name__ == "__main__":
    main()
