"""Quick comparison of DPSynthesizer variants (issue 17): TSTR/TRTR only, over fit seeds.

The same split (80/20, seed 0), sampling seed and judge as ``bench_dp.py`` (HistGradientBoosting, ROC AUC
on the holdout), without the SDMetrics quality report, so a sweep of variants takes minutes. A variant
is a value of ``max_parents`` and of module constants of ``simulacra.tabular.dp.network`` (``SCORE``,
``NOISE_PENALTY``, ``CELL_NOISE``, ``SHRINK``, ``AUTO_GROUPS``).

Usage::

    nice -n 10 env PYTHONPATH=src .venv/bin/python benchmarks/dp_variants.py --tables adult,credit_default \\
        --eps 1,3,10 --seeds 0,1,2 --max-parents 2 --set SCORE=l1 --set NOISE_PENALTY=0.5
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _datasets as D  # noqa: E402
import _metrics as M  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tables", default="adult,credit_default,bank_marketing")
    ap.add_argument("--eps", default="1,3,10")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--max-parents", default="auto")
    ap.add_argument("--quality", action="store_true", help="Also score SDMetrics quality and pair trends (slower).")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="Set a constant of simulacra.tabular.dp.network for this run.")
    args = ap.parse_args()
    import simulacra as sim
    from simulacra.tabular.dp import network

    for item in args.set:
        name, value = item.split("=", 1)
        if not hasattr(network, name):
            raise SystemExit(f"simulacra.tabular.dp.network has no constant {name}")
        setattr(network, name, value if isinstance(getattr(network, name), str) else float(value))
    k = args.max_parents if args.max_parents == "auto" else int(args.max_parents)
    for table in args.tables.split(","):
        df, types, spec = D.load(table)
        train, holdout = M.split(df, seed=0)
        meta = D.metadata(train, types)
        ids = [c for c, t in types.items() if t == "id"]
        for eps in (float(e) for e in args.eps.split(",")):
            ratios: list[float] = []
            quality: list[float] = []
            pairs: list[float] = []
            for seed in (int(s) for s in args.seeds.split(",")):
                cpu = time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = sim.DPSynthesizer(epsilon=eps, delta=1e-6, metadata=meta, random_state=seed,
                                              max_parents=k).fit(train)
                cpu = time.process_time() - cpu
                synth = model.sample(len(train), random_state=1)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    u = M.utility(train, holdout, synth, spec["target"], spec["task"], drop=ids)
                ratios.append(u["ratio"])
                parents = model.describe().get("parents", {}).get(spec["target"])
                if args.quality:
                    q = M.quality(train, synth, types)
                    pairs.append(q["pairs"])
                    quality.append(q["quality"])
                print(f"  {table} ε={eps:g} seed={seed} TSTR/TRTR={u['ratio']:.3f} parents={model.parents_} "
                      f"fit CPU {cpu:.1f} s; label's parents: {parents}", flush=True)
            extra = f"; quality {np.mean(quality):.3f}, pair trends {np.mean(pairs):.3f}" if quality else ""
            print(f"{table} ε={eps:g} TSTR/TRTR mean {np.mean(ratios):.3f} (min {np.min(ratios):.3f}, max {np.max(ratios):.3f})"
                  f"{extra}", flush=True)


if __name__ == "__main__":
    main()
