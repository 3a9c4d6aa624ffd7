"""Benchmark of ``simulacra train`` and ``simulacra uplift llm`` (issue 18): does SFT (LoRA) of the embedded
SmolLM2-135M on synthetic calls of the demo API raise its exact-match accuracy on the hand-written held-out
requests? Prints one JSON line and writes the uplift report (JSON, HTML, Markdown) to ``--out``.

    nice -n 10 .venv/bin/python benchmarks/bench_train.py --rows 1000 --seeds 0,1,2            # the issue's set-up
    nice -n 10 .venv/bin/python benchmarks/bench_train.py --rows 1000 --seeds 0,1,2 --max-steps 60 --dpo 40
    .venv/bin/python benchmarks/bench_train.py --combine u-seed0.json u-seed1.json --out /tmp/bench-train

Steps: the corpus (``build_calls``: templates only, decontaminated against the held-out requests), SFT per
seed (time and peak memory of each), optionally pairs from each tuned seed's own answers labelled by the
verifiers and DPO on them (``--dpo N``: pairs from the first N corpus requests), then the uplift of every
model on the held-out set (``--eval-limit K`` scores a seeded random K of them only, to save time). The machine's
load average is recorded before and after, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_corpus(rows: int, seed: int, out: Path) -> dict:
    from simulacra.text.calls import DEMO_API, load_api
    from simulacra.text.calls.corpus import build_calls
    from simulacra.text.calls.demo_api import heldout_path
    from simulacra.text.calls.output import write_calls_corpus
    from simulacra.text.corpus.decontam import eval_texts

    with load_api(DEMO_API) as api:
        res = build_calls(api, rows, seed=seed, model_share=0.0, eval_requests=eval_texts(heldout_path()))
        write_calls_corpus(res, api, out, command=f"benchmarks/bench_train.py --rows {rows}")
    return {"rows": len(res.records), "rejected": len(res.filtered)}


def combine(paths: list[Path], out: Path) -> None:
    """One uplift report from several ``uplift llm --json`` files of the same held-out set, e.g. seeds scored in
    separate processes on a busy machine: a model given as ``.../seed-N`` becomes repeat N of ``...``, and a
    model scored twice (the base, greedy and deterministic) is kept once."""
    import pandas as pd

    from simulacra.augment.llm import LlmUpliftResult

    runs, answers, seen, info = [], [], set(), {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        info = info or data["info"]
        for run in data["runs"]:
            method, repeat, name = run["method"], run["repeat"], Path(run["method"]).name
            if name.startswith("seed-") and name[5:].isdigit():
                method, repeat = str(Path(method).parent), int(name[5:])
            if (method, repeat) in seen:
                continue
            seen.add((method, repeat))
            runs.append({**run, "method": method, "repeat": repeat, "ratio": float("nan")})
            answers += [{**a, "model": method, "repeat": repeat} for a in data["answers"]
                        if a["model"] == run["method"] and a["repeat"] == run["repeat"]]
    result = LlmUpliftResult(pd.DataFrame(runs), answers, {**info, "combined_from": ", ".join(map(str, paths))})
    result.save_json(out / "uplift.json")
    result.save_html(out / "uplift.html")
    (out / "uplift.md").write_text(result.to_text() + "\n")
    print(result.to_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000, help="synthetic calls to train on")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-steps", type=int, default=-1, help="cap on optimiser steps per seed (-1: the epochs)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--dpo", type=int, default=0, help="also make pairs from this many corpus requests, then DPO")
    parser.add_argument("--eval-limit", type=int, default=None, help="score a seeded random K of the held-out requests only")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS") or 2))
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-train"))
    parser.add_argument("--combine", type=Path, nargs="+", help="only merge these uplift JSON files into --out")
    args = parser.parse_args()
    if args.combine:
        combine(args.combine, args.out)
        return

    from simulacra.augment.llm import run_llm_uplift
    from simulacra.text.calls import DEMO_API, load_api
    from simulacra.text.calls.demo_api import heldout_path
    from simulacra.train.data import write_jsonl
    from simulacra.train.dpo import DPO_DEFAULTS, train_dpo
    from simulacra.train.loop import TrainSettings
    from simulacra.train.pairs import make_pairs
    from simulacra.train.sft import train_sft

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    record: dict = {"load_before": os.getloadavg(), "cores": os.cpu_count(), "args": {k: str(v) for k, v in vars(args).items()}}
    record["corpus"] = build_corpus(args.rows, 0, out / "corpus")
    settings = TrainSettings(epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
                             learning_rate=args.lr, threads=args.threads, save_steps=10_000)
    infos = train_sft(out / "corpus", base="smollm2-135m", output=out / "tuned", settings=settings, seeds=seeds,
                      resume=True, say=print)
    record["sft"] = [{k: i.get(k) for k in ("steps", "seconds", "cpu_seconds", "load_average", "peak_memory_mb", "final_loss", "rows", "too_long")}
                     for i in infos]
    models = ["base", str(out / "tuned")]
    with load_api(DEMO_API) as api:
        if args.dpo:
            pairs, report = make_pairs(out / "tuned", api, out / "corpus" / "rows.jsonl", n=args.dpo, progress=print)
            write_jsonl(pairs, out / "pairs.jsonl")
            record["pairs"] = report
            dpo_settings = TrainSettings(epochs=1.0, batch_size=args.batch_size, learning_rate=DPO_DEFAULTS.learning_rate,
                                         threads=args.threads, save_steps=10_000)
            dinfos = train_dpo(out / "pairs.jsonl", base=out / "tuned", output=out / "tuned-dpo", api=api,
                               settings=dpo_settings, resume=True, say=print)
            record["dpo"] = [{k: i.get(k) for k in ("steps", "seconds", "cpu_seconds", "peak_memory_mb", "rows")} for i in dinfos]
            models.append(str(out / "tuned-dpo"))
        eval_path = heldout_path()
        if args.eval_limit:  # a seeded random subset, in file order (the file is grouped by function)
            import random

            lines = Path(heldout_path()).read_text().splitlines(keepends=True)
            keep = sorted(random.Random(0).sample(range(len(lines)), min(args.eval_limit, len(lines))))
            eval_path = out / "heldout-subset.jsonl"
            eval_path.write_text("".join(lines[i] for i in keep))
        start = time.perf_counter()
        result = run_llm_uplift(api, eval_path, models, n_threads=args.threads, progress=print)
        record["uplift_seconds"] = round(time.perf_counter() - start, 1)
    result.save_json(out / "uplift.json")
    result.save_html(out / "uplift.html")
    (out / "uplift.md").write_text(result.to_text() + "\n")
    print(result.to_text())
    record["summary"] = result.to_dict()["summary"]
    record["verdicts"] = result.to_dict()["verdict_sentences"]
    record["load_after"] = os.getloadavg()
    print(json.dumps(record))
    (out / "bench.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
