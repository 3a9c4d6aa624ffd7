"""Benchmark of ``simulacra train`` and ``simulacra uplift llm`` (issue 18): does SFT (LoRA) of the embedded
SmolLM2-135M on synthetic calls of the demo API raise its exact-match accuracy on the hand-written held-out
requests, and does DPO on the tuned model's own verified answers add to it? Prints one JSON line and writes the
uplift report (JSON, HTML, Markdown) and ``bench.json`` to ``--out``.

    # the whole experiment on a CUDA GPU: a grid of settings x 3 seeds, then DPO from the best setting
    python benchmarks/bench_train.py --device cuda --rows 1000 --seeds 0,1,2 --grid lora:1e-3:3,lora:3e-4:3 \\
        --batch-size 16 --dpo 300 --out /tmp/bench-train
    # on CPU (hours for the issue's set-up on a small machine; --max-steps and --eval-limit cut it down)
    nice -n 10 .venv/bin/python benchmarks/bench_train.py --rows 1000 --seeds 0,1,2 --max-steps 60 --eval-limit 40
    .venv/bin/python benchmarks/bench_train.py --combine u-seed0.json u-seed1.json --out /tmp/bench-train

Steps: the corpus (``build_calls``: templates only, decontaminated against the held-out requests); for each
setting of ``--grid`` (``lora|full:learning rate:epochs``) SFT per seed, each seed scored on the held-out set as
soon as it is trained (``bench.json`` is rewritten after every step, so a run cut short keeps what it finished);
with ``--dpo N``, pairs from each seed's own sampled answers to the first N corpus requests of the setting with
the best mean exact match, labelled by the verifiers, and DPO on them; then one uplift report over every model.
Every model, the base included, runs in the same backend (transformers) with greedy decoding. Big files
(corpus, models) go to ``--work``; ``--deadline`` seconds after the start, the remaining training is skipped
(and said so) so that the report is still written.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def build_corpus(rows: int, seed: int, out: Path) -> dict[str, Any]:
    from simulacra.text.calls import DEMO_API, load_api
    from simulacra.text.calls.corpus import build_calls
    from simulacra.text.calls.demo_api import heldout_path
    from simulacra.text.calls.output import write_calls_corpus
    from simulacra.text.corpus.decontam import eval_texts

    with load_api(DEMO_API) as api:
        res = build_calls(api, rows, seed=seed, model_share=0.0, eval_requests=eval_texts(heldout_path()))
        write_calls_corpus(res, api, out, command=f"benchmarks/bench_train.py --rows {rows}")
    return {"rows": len(res.records), "rejected": len(res.filtered)}


def _runs_of(data: dict[str, Any]) -> list[tuple[dict[str, Any], str, int]]:
    """``(run, model, repeat)`` of an uplift JSON: a model given as ``.../seed-N`` is repeat N of ``...``."""
    out = []
    for run in data["runs"]:
        method, repeat, name = run["method"], run["repeat"], Path(run["method"]).name
        if name.startswith("seed-") and name[5:].isdigit():
            method, repeat = str(Path(method).parent), int(name[5:])
        out.append((run, method, repeat))
    return out


def combine(paths: list[Path], out: Path | None, rename: dict[str, str] | None = None) -> Any:
    """One uplift report from several ``uplift llm --json`` files of the same held-out set (e.g. seeds scored in
    separate processes): a model given as ``.../seed-N`` becomes repeat N of ``...``, a model scored twice (the
    base, greedy and deterministic) is kept once, and ``rename`` gives models shorter names. Written to ``out``
    (``uplift.json``, ``.html``, ``.md``) when given; returns the result."""
    import pandas as pd

    from simulacra.augment.llm import LlmUpliftResult

    rename = rename or {}
    runs, answers, seen, info, task = [], [], set(), {}, {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        info = info or data["info"]
        if not task and data.get("task") == "qa":  # the QA uplift's metrics (benchmarks/bench_docsqa.py)
            from simulacra.augment.llm_qa import QA_LABELS, QA_METRICS

            task = {"task": "qa", "headline": data["headline_metric"], "metrics": list(QA_METRICS), "labels": dict(QA_LABELS)}
        for run, method, repeat in _runs_of(data):
            method = rename.get(method, method)
            if (method, repeat) in seen:
                continue
            seen.add((method, repeat))
            runs.append({**run, "method": method, "repeat": repeat, "ratio": float("nan")})
            answers += [{**a, "model": method, "repeat": repeat} for a in data["answers"]
                        if a["model"] == run["method"] and a["repeat"] == run["repeat"]]
    models = list(dict.fromkeys(r["method"] for r in runs))
    result = LlmUpliftResult(pd.DataFrame(runs), answers, {**info, "models": ", ".join(models),
                                                           "combined_from": f"{len(paths)} uplift runs"}, **task)
    if out is not None:
        result.save_json(out / "uplift.json")
        result.save_html(out / "uplift.html")
        (out / "uplift.md").write_text(result.to_text() + "\n")
    return result


def parse_grid(text: str) -> list[dict[str, Any]]:
    """``lora:1e-3:3,full:5e-5:2`` -> the settings to try (LoRA or full fine-tuning, learning rate, epochs)."""
    out = []
    for part in text.split(","):
        kind, lr, epochs = part.strip().split(":")
        if kind not in ("lora", "full"):
            raise SystemExit(f"--grid: '{kind}' is not lora or full")
        out.append({"name": f"sft-{kind}-lr{lr}-ep{epochs}", "lora": kind == "lora", "lr": float(lr),
                    "epochs": float(epochs)})
    return out


class Bench:
    """The experiment's state: what ran, how long, and the uplift JSON of every scored model."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.start = args, time.perf_counter()
        self.out, self.work = args.out, args.work or args.out
        self.out.mkdir(parents=True, exist_ok=True)
        self.work.mkdir(parents=True, exist_ok=True)
        self.scored: list[Path] = []
        self.rename: dict[str, str] = {}
        self.record: dict[str, Any] = {"load_before": os.getloadavg(), "cores": os.cpu_count(),
                                       "args": {k: str(v) for k, v in vars(args).items()}, "sft": [], "dpo": [],
                                       "skipped": []}

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def late(self, what: str) -> bool:
        if self.args.deadline and self.elapsed() > self.args.deadline:
            self.record["skipped"].append(f"{what} (deadline of {self.args.deadline} s passed)")
            print(f"skipped: {what}", flush=True)
            return True
        return False

    def save(self) -> None:
        self.record["elapsed_s"] = round(self.elapsed(), 1)
        if self.scored:
            result = combine(self.scored, None, self.rename)
            data = result.to_dict()
            self.record["summary"] = data["summary"]
            self.record["verdicts"] = data["verdict_sentences"]
        (self.out / "bench.json").write_text(json.dumps(self.record, indent=2, default=str))

    def score(self, api: Any, eval_path: Path, model: str, label: str) -> None:
        """Score one model (``base`` or a folder) on the held-out set and keep its uplift JSON."""
        from simulacra.augment.llm import run_llm_uplift

        result = run_llm_uplift(api, eval_path, [model], base=self.args.base, n_threads=self.args.threads,
                                batch_size=self.args.eval_batch, device=self.args.device)
        path = self.work / "scores" / f"{label}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        result.save_json(path)
        self.scored.append(path)
        run = result.runs.iloc[0]
        print(f"{label}: exact match {run['exact_match']:.1%} in {run['seconds']:.0f} s", flush=True)
        self.record.setdefault("eval_seconds", {})[label] = float(run["seconds"])
        self.save()


def _eval_file(args: argparse.Namespace, work: Path) -> Path:
    from simulacra.text.calls.demo_api import heldout_path

    if not args.eval_limit:
        return Path(heldout_path())
    import random  # a seeded random subset, in file order (the file is grouped by function)

    lines = Path(heldout_path()).read_text().splitlines(keepends=True)
    keep = sorted(random.Random(0).sample(range(len(lines)), min(args.eval_limit, len(lines))))
    path = work / "heldout-subset.jsonl"
    path.write_text("".join(lines[i] for i in keep))
    return path


def run(args: argparse.Namespace) -> None:
    from simulacra.text.calls import DEMO_API, load_api
    from simulacra.train.data import write_jsonl
    from simulacra.train.dpo import DPO_DEFAULTS, train_dpo
    from simulacra.train.loop import TrainSettings
    from simulacra.train.pairs import make_pairs
    from simulacra.train.sft import train_sft

    bench = Bench(args)
    rec, work = bench.record, bench.work
    seeds = [int(s) for s in args.seeds.split(",")]
    grid = parse_grid(args.grid) if args.grid else [{"name": "tuned", "lora": True, "lr": args.lr, "epochs": args.epochs}]
    t = time.perf_counter()
    rec["corpus"] = build_corpus(args.rows, 0, work / "corpus")
    rec["corpus"]["seconds"] = round(time.perf_counter() - t, 1)
    eval_path = _eval_file(args, work)
    with load_api(DEMO_API) as api:
        if not args.skip_base:
            bench.score(api, eval_path, "base", "base")
        for g in grid:
            for seed in seeds:
                if bench.late(f"{g['name']} seed {seed}"):
                    continue
                settings = TrainSettings(lora=g["lora"], epochs=g["epochs"], max_steps=args.max_steps,
                                         batch_size=args.batch_size, learning_rate=g["lr"], threads=args.threads,
                                         save_steps=10_000, device=args.device)
                folder = work / g["name"] / f"seed-{seed}"
                info = train_sft(work / "corpus", base=args.base, output=folder, settings=settings, seeds=[seed],
                                 resume=True, progress=False, say=print)[0]
                bench.rename[str(work / g["name"])] = g["name"]
                rec["sft"].append({"setting": g["name"], "seed": seed, **{k: info.get(k) for k in (
                    "steps", "seconds", "cpu_seconds", "load_average", "peak_memory_mb", "gpu", "gpu_peak_memory_mb",
                    "final_loss", "rows", "too_long")}})
                bench.score(api, eval_path, str(folder), f"{g['name']}-seed{seed}")
        if args.dpo and not bench.late("DPO"):
            summary = {s["model"]: s["exact_match"] for s in rec.get("summary", []) if s["model"] != "base"}
            best = max(summary, key=lambda m: summary[m]) if summary else None
            if best is None:
                rec["skipped"].append("DPO (no tuned model was scored)")
            else:
                rec["dpo_from"] = best
                tuned = work / best
                t = time.perf_counter()
                pairs, report = make_pairs(tuned, api, work / "corpus" / "rows.jsonl", n=args.dpo, device=args.device,
                                           batch_size=args.eval_batch, progress=print)
                report["seconds"] = round(time.perf_counter() - t, 1)
                write_jsonl(pairs, work / "pairs.jsonl")
                rec["pairs"] = report
                bench.save()
                dpo_settings = TrainSettings(epochs=args.dpo_epochs, batch_size=args.batch_size,
                                             learning_rate=args.dpo_lr or DPO_DEFAULTS.learning_rate,
                                             threads=args.threads, save_steps=10_000, device=args.device)
                dpo_out = work / f"{best}-dpo"
                for info in train_dpo(work / "pairs.jsonl", base=tuned, output=dpo_out, api=api,
                                      settings=dpo_settings, resume=True, say=print):
                    rec["dpo"].append({k: info.get(k) for k in ("steps", "seconds", "cpu_seconds", "peak_memory_mb",
                                                                 "gpu_peak_memory_mb", "rows", "final_loss")})
                bench.rename[str(dpo_out)] = f"{best}-dpo"
                for folder in sorted(dpo_out.glob("seed-*")) or [dpo_out]:
                    bench.score(api, eval_path, str(folder), f"{best}-dpo-{folder.name}")
                # the report lists the DPO model right after the model it started from (its verdict "over" it)
                order = [p for p in bench.scored if "-dpo-" not in p.name]
                order = [p for p in order if not p.name.startswith(best + "-seed")] + \
                    [p for p in order if p.name.startswith(best + "-seed")] + [p for p in bench.scored if "-dpo-" in p.name]
                bench.scored = order
    rec["load_after"] = os.getloadavg()
    bench.save()
    result = combine(bench.scored, args.out, bench.rename)
    print(result.to_text())
    print(json.dumps({k: rec.get(k) for k in ("corpus", "sft", "pairs", "dpo", "summary", "skipped", "elapsed_s")},
                     default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000, help="synthetic calls to train on")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds")
    parser.add_argument("--grid", default="", help="settings to try, e.g. lora:1e-3:3,lora:3e-4:3 (kind:lr:epochs)")
    parser.add_argument("--epochs", type=float, default=1.0, help="without --grid")
    parser.add_argument("--lr", type=float, default=2e-4, help="without --grid")
    parser.add_argument("--max-steps", type=int, default=-1, help="cap on optimiser steps per seed (-1: the epochs)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--dpo", type=int, default=0, help="also make pairs from this many corpus requests, then DPO")
    parser.add_argument("--dpo-lr", type=float, default=None)
    parser.add_argument("--dpo-epochs", type=float, default=1.0)
    parser.add_argument("--eval-limit", type=int, default=None, help="score a seeded random K of the held-out requests only")
    parser.add_argument("--eval-batch", type=int, default=8, help="requests decoded together (a GPU takes 64 or more)")
    parser.add_argument("--base", default="smollm2-135m", help="the base model: a name, a .gguf file or a folder")
    parser.add_argument("--skip-base", action="store_true", help="do not score the base (e.g. scored in an earlier run)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when torch sees a GPU)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS") or 2))
    parser.add_argument("--deadline", type=float, default=None, help="seconds after which no more training starts")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-train"), help="reports")
    parser.add_argument("--work", type=Path, default=None, help="corpus and models (default: --out)")
    parser.add_argument("--combine", type=Path, nargs="+", help="only merge these uplift JSON files into --out")
    args = parser.parse_args()
    if args.combine:
        print(combine(args.combine, args.out).to_text())
        return
    run(args)


if __name__ == "__main__":
    main()
