"""Foundation benchmark (issue 2): our Gaussian copula against SDV's, side by side in one run.

On the Adult table (80/20 split, as many rows sampled as trained on):
  * fit + sample time, each tool timed as whole processes from the CSV file in to the Parquet file out
    (our CLI: `simulacra fit` then `simulacra sample`; SDV: a script doing the same);
  * SDMetrics QualityReport of both synthetic tables against the training split;
  * in-memory sampling throughput of our copula for Adult's schema (1 million rows, best of 3).

Run:  .venv/bin/python benchmarks/bench_foundation.py [--datasets ../shared/datasets]
Needs the SDV environment at benchmarks/.envs/sdv (torch==2.13.0, sdv, sdmetrics).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SDV_PY = HERE / ".envs" / "sdv" / "bin" / "python"
OUR_CLI = Path(sys.executable).parent / "simulacra"


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = HERE / "_work" / "foundation"
    work.mkdir(parents=True, exist_ok=True)
    adult = pd.read_csv(Path(args.datasets) / "tabular" / "adult" / "adult.csv")
    mask = np.random.default_rng(0).random(len(adult)) < 0.8
    train = adult[mask]
    train_csv = work / "adult_train.csv"
    train.to_csv(train_csv, index=False)
    n = len(train)

    ours, peer = [], []
    for _ in range(args.repeats):
        t_fit = timed([str(OUR_CLI), "fit", str(train_csv), "--model", "copula", "--seed", "0", "-o", str(work / "adult.model")])
        t_sample = timed([str(OUR_CLI), "sample", str(work / "adult.model"), "-n", str(n), "--seed", "7", "-o", str(work / "ours.parquet")])
        ours.append(t_fit + t_sample)
        peer.append(timed([str(SDV_PY), str(HERE / "peers" / "sdv_copula.py"), str(train_csv), str(n), str(work / "sdv.parquet")]))

    scores = json.loads(
        subprocess.run(
            [str(SDV_PY), str(HERE / "peers" / "sdmetrics_quality.py"), str(train_csv), str(work / "ours.parquet"), str(work / "sdv.parquet")],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
    )

    from simulacra import load as load_model

    model = load_model(work / "adult.model")
    model.sample(100_000, random_state=0)  # warm-up
    best = min(_time_sample(model, 1_000_000, seed) for seed in range(3))
    result = {
        "rows_trained": n,
        "ours_seconds": round(float(np.median(ours)), 2),
        "sdv_seconds": round(float(np.median(peer)), 2),
        "time_ratio": round(float(np.median(ours) / np.median(peer)), 3),
        "ours_quality": round(scores[str(work / "ours.parquet")], 4),
        "sdv_quality": round(scores[str(work / "sdv.parquet")], 4),
        "sample_rows_per_second": int(1_000_000 / best),
        "load_average": os.getloadavg()[0],
        "cores": os.cpu_count(),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "foundation.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _time_sample(model: object, n: int, seed: int) -> float:
    start = time.perf_counter()
    model.sample(n, random_state=seed)  # type: ignore[attr-defined]
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
