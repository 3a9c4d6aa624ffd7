"""Quality and speed of the classic synthesizers (copula, gmm, trees) on Adult.

Usage: .venv/bin/python benchmarks/bench_classic.py [--models gmm trees copula] [--rows N]
80/20 split (seed 0); each model is fitted on the 80% and samples as many rows; SDMetrics
QualityReport of the samples against the training rows; fit and sample wall times.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

import simulacra as sim

DATA = Path(__file__).resolve().parents[1] / "../shared/datasets/tabular/adult/adult.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["copula", "gmm", "trees"])
    parser.add_argument("--rows", type=int, default=0)
    args = parser.parse_args()
    from sdmetrics.reports.single_table import QualityReport

    df = pd.read_csv(DATA)
    if args.rows:
        df = df.head(args.rows)
    train = df.sample(frac=0.8, random_state=0).reset_index(drop=True)
    meta = sim.Metadata.detect(train)
    sdm = {"columns": {c: {"sdtype": "numerical" if meta.columns[c].type == "numerical" else "categorical"}
                       for c in train.columns}}
    print(f"load: {os.getloadavg()[0]:.2f}; rows: {len(train)}")
    for name in args.models:
        cls = sim.get_synthesizer_class(name)
        t0 = time.perf_counter()
        model = cls(random_state=0).fit(train)
        t1 = time.perf_counter()
        rows = model.sample(len(train), random_state=1)
        t2 = time.perf_counter()
        report = QualityReport()
        report.generate(train, rows, sdm, verbose=False)
        props = report.get_properties().set_index("Property")["Score"]
        print(
            f"{name:8s} quality={report.get_score():.4f} shapes={props.iloc[0]:.4f} pairs={props.iloc[1]:.4f} "
            f"fit={t1 - t0:.1f}s sample={t2 - t1:.2f}s ({len(rows) / (t2 - t1):,.0f} rows/s)"
        )


if __name__ == "__main__":
    main()
