"""Benchmark of the documents half of issue 18: does SFT of the embedded SmolLM2-135M on the corpus made from
the project's own ``docs/`` raise its score on 40 questions about those docs written by hand
(``benchmarks/data/docs_heldout.jsonl``)? Prints one JSON line; writes the uplift report (JSON, HTML, Markdown)
and ``bench.json`` to ``--out``.

    # on this 2-core CPU: QA rows only, LoRA, 3 epochs, one seed (about 8 CPU-minutes an epoch)
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_docsqa.py --tasks qa --grid lora:1e-3:3 \\
        --seeds 0 --threads 1 --out /tmp/bench-docsqa
    # the instructions too, several settings and seeds (a GPU: --device cuda)
    python benchmarks/bench_docsqa.py --tasks qa,instruct --grid lora:1e-3:3,full:1e-4:3 --seeds 0,1,2
    # open book: the corpus's rows carry their passages, every model answers with the top-2 retrieved passages
    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_docsqa.py --open-book --rows 300 \
        --grid lora:1e-3:1 --seeds 0 --threads 1 --out /tmp/bench-docsqa-ob

Steps: the corpus (``simulacra corpus docs/ --tasks ...``, decontaminated against the held-out questions, whose
word-n-gram overlap with the kept rows is reported for n = 5, 6 and 8); the base scored; for each setting of
``--grid`` (``lora|full:learning rate:epochs``) and seed, SFT then its score (``bench.json`` is rewritten after
every step); one uplift report over every model (:func:`simulacra.augment.llm_qa.run_qa_uplift`: answer match,
exact match, token F1, and judged correctness with a calibrated ``--judge``; with ``--open-book``, the corpus is
``simulacra corpus --open-book`` and every model answers with the ``--top-k`` passages retrieved from ``--docs``,
the retrieval recall reported); with ``--recall K`` (default 40)
each model also answers a seeded K of its own training questions, which says whether it learned what it was
shown at all.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from bench_train import combine, parse_grid

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "benchmarks" / "data" / "docs_heldout.jsonl"


def build_corpus(docs: Path, tasks: list[str], rows: int, seed: int, out: Path,
                 book: tuple[int, int] | None = None) -> dict[str, Any]:
    """The documents corpus, decontaminated (8-grams) against the held-out questions, and its overlap with them;
    ``book`` (passage words, distractors): the open-book corpus."""
    from simulacra.text.corpus.decontam import decontaminate, eval_texts, ngrams, words
    from simulacra.text.corpus.docs import build_docs, coverage
    from simulacra.text.corpus.docs_output import write_docs_corpus
    from simulacra.text.corpus.passages import open_book

    res, chunks = build_docs(docs, rows, tasks=tasks, seed=seed)
    if book is not None:
        open_book(res, chunks, passage_words=book[0], distractors=book[1], seed=seed)
    held = eval_texts(HELDOUT)
    res.records, report = decontaminate(res, res.records, held, ("question", "instruction"), n=8, source=str(HELDOUT))
    write_docs_corpus(res, out, command=f"benchmarks/bench_docsqa.py --tasks {','.join(tasks)}",
                      extra={"coverage": coverage(res.records, chunks), "decontamination": report})
    overlap = {}
    for n in (5, 6, 8):
        grams = set().union(*(ngrams(words(t), n) for t in held))
        overlap[f"{n}-gram"] = sum(bool(ngrams(words(str(r.get("question") or r.get("instruction") or "")), n) & grams)
                                   for r in res.records)
    kinds: dict[str, int] = {}
    for r in res.records:
        kinds[str(r.get("task"))] = kinds.get(str(r.get("task")), 0) + 1
    return {"rows": len(res.records), "rejected": len(res.filtered), "chunks": len(chunks), "tasks": kinds,
            "kept_apart_by_decontamination": report["rows_contaminated"],
            "rows_sharing_an_ngram_with_heldout": overlap}


class Bench:
    """What ran, how long, and the uplift JSON of every scored model."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.start = args, time.perf_counter()
        self.out, self.work = args.out, args.work or args.out
        for d in (self.out, self.work / "scores"):
            d.mkdir(parents=True, exist_ok=True)
        self.scored: list[Path] = []
        self.rename: dict[str, str] = {}
        self.record: dict[str, Any] = {"load_before": os.getloadavg(), "cores": os.cpu_count(),
                                       "args": {k: str(v) for k, v in vars(args).items()}, "sft": [], "skipped": []}

    def save(self) -> None:
        self.record["elapsed_s"] = round(time.perf_counter() - self.start, 1)
        if self.scored:
            data = combine(self.scored, None, self.rename).to_dict()
            self.record["summary"], self.record["verdicts"] = data["summary"], data["verdict_sentences"]
        (self.out / "bench.json").write_text(json.dumps(self.record, indent=2, default=str))

    def score(self, model: str, label: str) -> None:
        """The model on the held-out questions (the experiment) and, with ``--recall K``, on K of its own
        training questions (did it learn what it was shown at all?)."""
        from simulacra.augment.llm_qa import run_qa_uplift

        a = self.args
        book = {"context": a.docs, "top_k": a.top_k, "passage_words": a.passage_words} if a.open_book else {}
        result = run_qa_uplift(HELDOUT, [model], base=a.base, max_tokens=a.max_tokens, n_threads=a.threads,
                               batch_size=a.eval_batch, device=a.device, judge=a.judge, **book)
        path = self.work / "scores" / f"{label}.json"
        result.save_json(path)
        self.scored.append(path)
        run = result.runs.iloc[0]
        print(f"{label}: answer match {run['answer_match']:.1%}, token F1 {run['token_f1']:.1%} in {run['seconds']:.0f} s",
              flush=True)
        self.record.setdefault("eval_seconds", {})[label] = float(run["seconds"])
        if a.recall:
            seen = run_qa_uplift(self.recall_file(), [model], base=a.base, max_tokens=a.max_tokens, n_threads=a.threads,
                                 batch_size=a.eval_batch, device=a.device, **book).runs.iloc[0]
            self.record.setdefault("training_recall", {})[label] = {m: float(seen[m]) for m in ("answer_match", "token_f1")}
            print(f"{label}: {seen['answer_match']:.1%} of {a.recall} training questions answered right", flush=True)
        self.save()

    def recall_file(self) -> Path:
        """A seeded sample of ``--recall`` QA rows of the corpus, as held-out rows."""
        import random

        path = self.work / "training-sample.jsonl"
        if not path.exists():
            rows = [json.loads(line) for line in (self.work / "corpus" / "rows.jsonl").read_text().splitlines()]
            rows = [r for r in rows if r.get("task") == "qa"]
            pick = random.Random(0).sample(rows, min(self.args.recall, len(rows)))
            path.write_text("".join(json.dumps({"question": r["question"], "answer": r["answer"]}) + "\n" for r in pick))
        return path


def run(args: argparse.Namespace) -> None:
    from simulacra.train.loop import TrainSettings
    from simulacra.train.sft import train_sft

    bench = Bench(args)
    rec, work = bench.record, bench.work
    t = time.perf_counter()
    rec["corpus"] = build_corpus(args.docs, args.tasks.split(","), args.rows, 0, work / "corpus",
                                 (args.passage_words, args.distractors) if args.open_book else None)
    rec["corpus"]["seconds"] = round(time.perf_counter() - t, 1)
    print(json.dumps({"corpus": rec["corpus"]}), flush=True)
    if not args.skip_base:
        bench.score("base", "base")
    for g in parse_grid(args.grid):
        for seed in [int(s) for s in args.seeds.split(",")]:
            if args.deadline and time.perf_counter() - bench.start > args.deadline:
                rec["skipped"].append(f"{g['name']} seed {seed} (deadline of {args.deadline} s passed)")
                continue
            settings = TrainSettings(lora=g["lora"], epochs=g["epochs"], batch_size=args.batch_size,
                                     learning_rate=g["lr"], threads=args.threads, save_steps=25, device=args.device)
            folder = work / g["name"] / f"seed-{seed}"
            info = train_sft(work / "corpus", base=args.base, output=folder, settings=settings, seeds=[seed],
                             resume=True, progress=False, say=print)[0]
            bench.rename[str(work / g["name"])] = g["name"]
            rec["sft"].append({"setting": g["name"], "seed": seed, **{k: info.get(k) for k in (
                "steps", "seconds", "cpu_seconds", "load_average", "peak_memory_mb", "final_loss", "rows", "too_long")}})
            bench.score(str(folder), f"{g['name']}-seed{seed}")
    rec["load_after"] = os.getloadavg()
    bench.save()
    result = combine(bench.scored, args.out, bench.rename)
    print(result.to_text())
    print(json.dumps({k: rec.get(k) for k in ("corpus", "sft", "summary", "skipped", "elapsed_s")}, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="the documents (default: this project's docs/)")
    parser.add_argument("--tasks", default="qa", help="qa, or qa,instruct")
    parser.add_argument("--rows", type=int, default=2000, help="rows asked of the corpus (the docs give fewer)")
    parser.add_argument("--grid", default="lora:1e-3:3", help="settings, e.g. lora:1e-3:3,full:1e-4:3 (kind:lr:epochs)")
    parser.add_argument("--seeds", default="0", help="training seeds")
    parser.add_argument("--open-book", action="store_true", help="open-book corpus and retrieval at evaluation")
    parser.add_argument("--top-k", type=int, default=2, help="open book: passages retrieved per question")
    parser.add_argument("--passage-words", type=int, default=100, help="open book: most words in a passage")
    parser.add_argument("--distractors", type=int, default=1, help="open book: distractor passages per corpus row")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=64, help="longest answer")
    parser.add_argument("--recall", type=int, default=40, help="also score K of the training questions (0: off)")
    parser.add_argument("--judge", default=None, help="a model or server for judged correctness (used if calibrated)")
    parser.add_argument("--eval-batch", type=int, default=8)
    parser.add_argument("--base", default="smollm2-135m")
    parser.add_argument("--skip-base", action="store_true")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when torch sees a GPU)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS") or 1))
    parser.add_argument("--deadline", type=float, default=None, help="seconds after which no more training starts")
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench-docsqa"))
    parser.add_argument("--work", type=Path, default=None, help="corpus and models (default: --out)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
