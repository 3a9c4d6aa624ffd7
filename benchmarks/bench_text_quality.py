"""Quality figures of simulacra.text with the embedded model (issue 14). Each part prints JSON; ``--show`` prints rows to read.

    .venv/bin/python benchmarks/bench_text_quality.py grounded --n 50 --show      # grounded QA from docs/*.md
    .venv/bin/python benchmarks/bench_text_quality.py instruct --n 50 --show      # Self-Instruct, completion vs chat form
    .venv/bin/python benchmarks/bench_text_quality.py label --n 20 --form completion --show   # labelled texts, completion vs chat
    .venv/bin/python benchmarks/bench_text_quality.py json --n 20                 # JSON validity under a grammar
    .venv/bin/python benchmarks/bench_text_quality.py calibrate --fresh           # judge accuracy, both modes

``--ubatch1`` loads the embedded model with ``n_ubatch=1`` in-process: the shared venv's llama-cpp-python 0.3.36
build segfaults on batched prompt decoding on this machine (see RESULTS.md); prompts then run one token at a time.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ["Write a haiku about autumn rain.", "Sort the numbers 7, 2, 9 from smallest to largest.",
         "Explain why the sky is blue in two sentences.", "Give three tips for a job interview.",
         "Translate 'good morning' into Spanish.", "Summarize the plot of Cinderella in one sentence.",
         "Classify the tweet 'I love this phone' as positive or negative.", "Suggest a name for a coffee shop.",
         "List four animals that live in the ocean.", "Write a short thank-you note to a teacher.",
         "Convert 5 kilometres to metres.", "Give an antonym of 'generous'."]
PERSON = {"type": "object", "properties": {
    "name": {"type": "string", "minLength": 2, "maxLength": 40}, "age": {"type": "integer", "minimum": 18, "maximum": 80},
    "city": {"type": "string", "maxLength": 40}, "bio": {"type": "string", "minLength": 10, "maxLength": 200}},
    "required": ["name", "age", "city", "bio"]}


def _engine(model: str, ubatch1: bool) -> Any:
    from simulacra.text.engine import Engine

    if model == "fake":
        return Engine("fake")
    path = model
    if not model.endswith(".gguf"):
        from simulacra.text.backends.models import resolve_model

        path = str(resolve_model(model))
    if ubatch1:
        import llama_cpp

        import simulacra.text.backends.llamacpp as lc

        key_fn = lc.load_llama

        def load(p: Path, n_ctx: int, n_threads: int, n_threads_batch: int, n_batch: int = 512, embedding: bool = False) -> Any:
            key = (str(p), n_ctx, n_threads, n_threads_batch, n_batch, embedding)
            if key not in lc._MODELS:
                lc._MODELS[key] = llama_cpp.Llama(model_path=str(p), n_ctx=n_ctx, n_threads=n_threads, n_ubatch=1,
                                                  n_threads_batch=n_threads_batch, n_batch=n_batch, verbose=False)
            return lc._MODELS[key]

        lc.load_llama = load  # type: ignore[assignment]
        del key_fn
        return Engine(path, isolate=False)
    return Engine(path)


def bench_grounded(args: argparse.Namespace) -> dict[str, Any]:
    from simulacra.text.tasks.qa import generate_qa

    docs = [open(f, encoding="utf-8").read() for f in sorted(glob.glob(str(ROOT / "docs" / "*.md")))]
    eng = _engine(args.model, args.ubatch1) if args.phrasing == "model" else _engine("fake", False)
    t = time.perf_counter()
    res = generate_qa(documents=docs, n=args.n, phrasing=args.phrasing, seed=args.seed, engine=eng)
    rows = res.records
    out = {"part": "grounded", "phrasing": args.phrasing, "model": eng.model_id if args.phrasing == "model" else None,
           "asked": args.n, "kept": len(rows), "attempted": res.config["attempted"],
           "yield": round(len(rows) / res.config["attempted"], 3),
           "answer_in_passage": sum(r["answer"] in r["passage"] for r in rows), "seconds": round(time.perf_counter() - t, 1),
           "stages": [s.as_dict() for s in res.stages]}
    if args.show:
        for i, r in enumerate(rows, 1):
            print(f"{i:2d}. Q: {r['question']}\n    A: {r['answer']}   [{r['source'].rsplit('/', 1)[-1]}]")
    return out


def bench_instruct(args: argparse.Namespace) -> dict[str, Any]:
    from simulacra.text.tasks.instruct import self_instruct

    eng = _engine(args.model, args.ubatch1)
    t = time.perf_counter()
    res = self_instruct(SEEDS, args.n, outputs=False, prompt_form=args.form, calls_per_round=8, seed=args.seed, engine=eng)
    calls = res.stages[0]
    out = {"part": "instruct", "form": res.config["prompt_form"], "model": eng.model_id, "asked": args.n,
           "kept": len(res.records), "model_calls": calls.inputs, "proposed": res.stages[1].inputs,
           "yield": round(len(res.records) / max(1, res.stages[1].inputs), 3), "filtered": res.stages[1].filtered,
           "seconds": round(time.perf_counter() - t, 1)}
    if args.show:
        for i, r in enumerate(res.records, 1):
            print(f"{i:2d}. {r['instruction']}")
    return out


def bench_label(args: argparse.Namespace) -> dict[str, Any]:
    from simulacra.text.tasks.label import generate_labelled

    eng = _engine(args.model, args.ubatch1)
    t = time.perf_counter()
    form = "chat" if args.form == "auto" else args.form
    half = args.n // 2
    res = generate_labelled(["positive", "negative"], {"positive": half, "negative": args.n - half}, domain="product reviews",
                            prompt_form=form, seed=args.seed, engine=eng)
    out = {"part": "label", "form": form, "model": eng.model_id, "asked": args.n, "kept": len(res.records),
           "model_calls": res.stages[0].inputs, "stages": [s.as_dict() for s in res.stages],
           "seconds": round(time.perf_counter() - t, 1)}
    if args.show:
        for i, r in enumerate(res.records, 1):
            print(f"{i:2d}. [{r['label']}] {r['text']}")
    return out


def bench_json(args: argparse.Namespace) -> dict[str, Any]:
    from simulacra.text.tasks.rows import generate_rows

    eng = _engine(args.model, args.ubatch1)
    t = time.perf_counter()
    res = generate_rows(PERSON, args.n, rows_per_call=1, seed=args.seed, engine=eng)
    valid = len(res.valid)
    return {"part": "json", "model": eng.model_id, "rows": args.n, "valid": valid, "validity": round(valid / args.n, 3),
            "first_try": res.stages[0].as_dict(), "seconds": round(time.perf_counter() - t, 1)}


def bench_calibrate(args: argparse.Namespace) -> dict[str, Any]:
    from simulacra.text.tasks.calibration import calibrate

    eng = _engine(args.model, args.ubatch1)
    out: dict[str, Any] = {"part": "calibrate", "model": eng.model_id}
    for mode in args.modes.split(","):
        t = time.perf_counter()
        cal = calibrate(eng, mode, use_cache=not args.fresh)
        out[mode] = {"accuracy": cal.accuracy, "ci": [cal.low, cal.high], "n": cal.n, "threshold": cal.threshold,
                     "passed": cal.passed, "position_bias": cal.position_bias, "seconds": round(time.perf_counter() - t, 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["grounded", "instruct", "label", "json", "calibrate"])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--phrasing", default="template", choices=["template", "model"])
    ap.add_argument("--form", default="auto", choices=["auto", "completion", "chat"])
    ap.add_argument("--modes", default="pairwise,score")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--ubatch1", action="store_true")
    ap.add_argument("--fresh", action="store_true", help="calibrate again instead of reading the cached calibration")
    args = ap.parse_args()
    fn = {"grounded": bench_grounded, "instruct": bench_instruct, "label": bench_label, "json": bench_json, "calibrate": bench_calibrate}[args.part]
    out = fn(args)
    out["load"] = os.getloadavg()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
