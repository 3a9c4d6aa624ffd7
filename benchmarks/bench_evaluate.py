"""Evaluation benchmarks, side by side with SDMetrics in one run.

1. Quality score on a 100,000-row pair (Adult resampled; synthetic from simulacra's Gaussian copula):
   simulacra vs SDMetrics' QualityReport, time and score.
2. Full evaluation (every metric family, JSON and HTML report) of a 1,000,000-row x 20-column pair
   with a 1,000,000-row holdout.

Run:  .venv/bin/python benchmarks/bench_evaluate.py [--rows-quality 100000] [--rows-full 1000000]
Writes benchmarks/results/evaluate.json and prints a Markdown table for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import simulacra as sim

ROOT = Path(__file__).resolve().parents[1]
DATA = next((p for p in (ROOT / "../shared/datasets", Path("/work/shared/datasets")) if p.is_dir()), None)


def quality_pair(rows: int) -> tuple[pd.DataFrame, pd.DataFrame, sim.Metadata]:
    if DATA is None:
        raise SystemExit("../shared/datasets is needed for the quality benchmark")
    adult = sim.read_table(DATA / "tabular/adult/adult.csv")
    real = adult.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    syn = sim.GaussianCopulaSynthesizer().fit(adult).sample(rows, random_state=1)
    return real, syn, sim.Metadata.detect(adult)


def wide_table(n: int, seed: int, drift: float = 0.0) -> pd.DataFrame:
    """20 columns: 10 numerical (correlated), 7 categorical, 1 boolean, 1 datetime, 1 binary target."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 4))
    cols: dict[str, np.ndarray] = {}
    for i in range(10):
        base = z[:, i % 4] * (1 + 0.1 * i) + 0.5 * z[:, (i + 1) % 4] + rng.normal(0, 0.5, n) + drift * (i % 3)
        cols[f"num{i}"] = np.round(np.exp(base / 3) * 100, 2) if i % 2 else np.round(base * 10 + 50, 1)
    for j in range(7):
        k = [3, 5, 8, 12, 20, 40, 100][j]
        idx = np.clip((z[:, j % 4] * k / 4 + k / 2 + rng.normal(0, 1, n)).astype(int), 0, k - 1)
        cols[f"cat{j}"] = np.array([f"c{j}_{v}" for v in range(k)], dtype=object)[idx]
    cols["flag"] = z[:, 0] + rng.normal(0, 1, n) > 0.5
    cols["date"] = pd.Timestamp("2015-01-01").value + (np.abs(z[:, 1]) * 400 * 86400e9).astype("int64")
    cols["target"] = np.where(z[:, 0] + z[:, 2] + rng.normal(0, 1, n) > 0.8 + drift, "yes", "no")
    frame = pd.DataFrame(cols)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def bench_quality(rows: int) -> dict:
    from sdmetrics.reports.single_table import QualityReport

    real, syn, meta = quality_pair(rows)
    spec = {"columns": {c: {"sdtype": col.type} for c, col in meta.columns.items()}}
    t = time.perf_counter()
    ours = sim.evaluate(real, syn, metadata=meta, metrics=["quality"])
    t_ours = time.perf_counter() - t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        rep = QualityReport()
        rep.generate(real, syn, spec, verbose=False)
        t_sdm = time.perf_counter() - t
    return {"rows": rows, "columns": real.shape[1], "simulacra_seconds": round(t_ours, 2),
            "sdmetrics_seconds": round(t_sdm, 2), "speedup": round(t_sdm / t_ours, 1),
            "simulacra_quality": round(ours.quality, 4), "sdmetrics_quality": round(rep.get_score(), 4)}


def bench_full(rows: int, out: Path) -> dict:
    real, syn, hold = wide_table(rows, 0), wide_table(rows, 1, drift=0.1), wide_table(rows, 2)
    t = time.perf_counter()
    rep = sim.evaluate(real, syn, holdout=hold, target="target", sensitive=["cat0"], secret="cat1")
    t_eval = time.perf_counter() - t
    t = time.perf_counter()
    rep.to_json(out / "evaluate_full.json")
    rep.to_html(out / "evaluate_full.html")
    t_report = time.perf_counter() - t
    return {"rows": rows, "columns": real.shape[1], "holdout_rows": len(hold),
            "evaluate_seconds": round(t_eval, 1), "report_seconds": round(t_report, 1),
            "total_seconds": round(t_eval + t_report, 1), "per_metric_seconds": rep.info["seconds"],
            "quality": round(rep.quality, 4), "tstr_ratio": round(rep.tstr_ratio, 4), "dcr_share": round(rep.dcr_share, 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows-quality", type=int, default=100_000)
    parser.add_argument("--rows-full", type=int, default=1_000_000)
    parser.add_argument("--skip-full", action="store_true")
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    result = {"load_average_before": os.getloadavg(), "cores": os.cpu_count()}
    result["quality"] = bench_quality(args.rows_quality)
    print(json.dumps(result["quality"], indent=1), flush=True)
    if not args.skip_full:
        result["full"] = bench_full(args.rows_full, out)
        print(json.dumps(result["full"], indent=1), flush=True)
    result["load_average_after"] = os.getloadavg()
    (out / "evaluate.json").write_text(json.dumps(result, indent=2) + "\n")
    q = result["quality"]
    print("\n| measure | simulacra | SDMetrics |\n|---|---|---|")
    print(f"| quality score, {q['rows']:,} rows x {q['columns']} cols | {q['simulacra_quality']} | {q['sdmetrics_quality']} |")
    print(f"| quality time | {q['simulacra_seconds']} s | {q['sdmetrics_seconds']} s ({q['speedup']}x) |")
    if "full" in result:
        f = result["full"]
        print(f"| full evaluation + report, {f['rows']:,} x {f['columns']} | {f['total_seconds']} s | — |")


if __name__ == "__main__":
    main()
