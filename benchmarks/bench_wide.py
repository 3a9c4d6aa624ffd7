"""Sampling throughput of a wide table (1,000 columns): whole samples and the chunked-job path.

A job's worker cuts its chunk at the model's block size (``synth.block_rows``) and asks for one block
at a time; before blocks had one definition, each of those slices of a table wider than 128 columns
drew a full 16,384-row block and kept 2,048 rows of it. This script times both paths.

    nice -n 10 python benchmarks/bench_wide.py --columns 1000 --rows 16384 --repeats 2 --train-rows 1000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import pandas as pd
from simulacra.scale.api import sample_to


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--columns", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=65536)
    parser.add_argument("--train-rows", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--job", action="store_true", help="also time sample_to(folder) with one worker")
    args = parser.parse_args()

    from simulacra.scale.chunks import SynthesizerProducer
    from simulacra.tabular.copula import GaussianCopulaSynthesizer

    rng = np.random.default_rng(0)
    base = rng.normal(size=(args.train_rows, 1))
    data = pd.DataFrame(base + rng.normal(size=(args.train_rows, args.columns)), columns=[f"c{i}" for i in range(args.columns)])
    synth = GaussianCopulaSynthesizer(random_state=0).fit(data)
    producer = SynthesizerProducer.from_synthesizer(synth, 1)
    out: dict[str, object] = {"columns": args.columns, "rows": args.rows, "block_rows": synth.block_rows}
    for label, fn in (("job path (producer, one block at a time)", lambda: producer(0, args.rows)),
                      ("sample(n) in memory", lambda: synth.sample(args.rows, random_state=1))):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            frame = fn()
            times.append(time.perf_counter() - t0)
            assert len(frame) == args.rows
        best = min(times)
        out[label] = {"best_s": round(best, 3), "rows_per_s": round(args.rows / best), "cells_per_s": round(args.rows * args.columns / best)}
    if not args.job:
        print(json.dumps(out, indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        sample_to(synth, f"{tmp}/out/", args.rows, chunk_rows=16384, workers=1, progress=False)
        best = time.perf_counter() - t0
        out["sample_to folder, 1 worker"] = {"s": round(best, 3), "rows_per_s": round(args.rows / best)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
