"""Fit time of the DP Bayesian network on wide synthetic tables (issue 17 review: candidate parent sets).

A table of ``--rows`` rows and ``--columns`` columns driven by a few hidden factors (numbers, and
categories cut from numbers), with a binary label that depends on four of them. Reports the fit CPU
seconds and TSTR/TRTR on the label (the same judge as ``bench_dp.py``), per width.

Usage::

    nice -n 10 env PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dp_wide.py \\
        --columns 20,40,60 --rows 20000 --eps 10 --max-parents 3 [--set MAX_SETS=100000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _metrics as M  # noqa: E402


def wide_table(n: int, d: int, seed: int = 0) -> pd.DataFrame:
    """``d - 1`` columns loading on 4 hidden factors (every third a 5-level category), and a label."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 4))
    out: dict[str, object] = {}
    for j in range(d - 1):
        loading = np.zeros(4)
        loading[j % 4] = 1.0
        loading[(j + 1) % 4] = 0.5 * (j % 3 == 0)
        value = factors @ loading + rng.normal(0, 0.6, n)
        out[f"c{j:02d}"] = (np.digitize(value, [-1.0, -0.3, 0.3, 1.0]).astype(str) if j % 3 == 2
                            else value.round(3))
    logit = factors[:, 0] - factors[:, 1] + 0.8 * factors[:, 2] * (factors[:, 3] > 0)
    out["label"] = np.where(rng.random(n) < 1 / (1 + np.exp(-2 * logit)), "yes", "no")
    return pd.DataFrame(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--columns", default="20,40,60")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--eps", type=float, default=10.0)
    ap.add_argument("--max-parents", default="3")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="Set a constant of simulacra.tabular.dp.network for this run.")
    args = ap.parse_args()
    import simulacra as sim
    from simulacra.tabular.dp import network

    for item in args.set:
        name, value = item.split("=", 1)
        setattr(network, name, type(getattr(network, name))(value))
    k = args.max_parents if args.max_parents == "auto" else int(args.max_parents)
    for d in (int(c) for c in args.columns.split(",")):
        df = wide_table(int(args.rows * 1.25), d)
        train, holdout = M.split(df, seed=0)
        cpu = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = sim.DPSynthesizer(epsilon=args.eps, delta=1e-9, random_state=args.seed, max_parents=k).fit(train)
        cpu = time.process_time() - cpu
        synth = model.sample(len(train), random_state=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u = M.utility(train, holdout, synth, "label", "classification", drop=[])
        parents = model.describe().get("parents", {}).get("label")
        print(f"{d} columns, {len(train):,} rows, ε={args.eps:g}, k={model.parents_}: fit CPU {cpu:.1f} s, "
              f"TSTR/TRTR {u['ratio']:.3f}; label's parents {parents}", flush=True)


if __name__ == "__main__":
    main()
