"""The default model's privacy against its quality (issue 17): one JSON line per table, nothing cached.

Fits ``autoreg`` with its defaults (or with ``key=value`` overrides) on the 80/20 split of each benchmark
table, samples as many rows as it trained on, and scores the rows with the judges of
``bench_synthesizers.py`` (``_metrics.py``): SDMetrics quality, TSTR/TRTR, DCR share, exact copies (and
the holdout's own rate), MIA AUC; ``rows_per_s`` is the rate of that one sample.

``--seeds 0,1,2`` fits and samples once per seed (``random_state=seed``, rows drawn with ``seed + 1``;
seed 0 is the single run), the way to see the seed spread of the DCR share; ``--privacy-only`` skips
the quality and utility judges (the slow part) and reports the privacy figures alone.
``--fit-only`` fits and reports the fit's wall and CPU time alone (``fit_cpu_s``: ``time.process_time``,
every thread of the process, so the machine's load hardly enters). ``--thin-rare-combos`` fits on the training rows with rare category combinations thinned (a variant
measured for issue 17 and rejected: see RESULTS.md).

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_defaults.py adult,california_housing
    nice -n 10 .venv/bin/python benchmarks/bench_defaults.py adult min_samples_leaf=30   # a variant
    nice -n 10 .venv/bin/python benchmarks/bench_defaults.py german_credit boosted_classes=0 --seeds 0,1,2 --privacy-only
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _datasets as D  # noqa: E402
import _metrics as M  # noqa: E402


def main() -> None:
    from simulacra.tabular.autoreg import AutoregressiveSynthesizer

    args = sys.argv[1:]
    seeds, privacy_only, fit_only = [0], "--privacy-only" in args, "--fit-only" in args
    if "--seeds" in args:
        at = args.index("--seeds")
        seeds = [int(s) for s in args[at + 1].split(",")]
        del args[at : at + 2]
    thin = "--thin-rare-combos" in args
    args = [a for a in args if a not in ("--privacy-only", "--fit-only", "--thin-rare-combos")]
    tables = args[0].split(",") if args else [*D.TABLES, *D.EXTRA_TABLES]
    params = {}
    for arg in args[1:]:
        key, value = arg.split("=", 1)
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    for table in tables:
        df, types, spec = D.load(table)
        train, holdout = M.split(df)
        for seed in seeds:
            start, cpu = time.perf_counter(), time.process_time()
            fit_rows = thin_rare_combos(train, types, seed) if thin else train
            model = AutoregressiveSynthesizer(metadata=D.metadata(train, types), random_state=seed, **params).fit(fit_rows)
            fit_s, fit_cpu_s = time.perf_counter() - start, time.process_time() - cpu
            if fit_only:
                print(json.dumps({"table": table, **params, "seed": seed, "leaf": model.min_samples_leaf_,
                                  "fit_s": round(fit_s, 1), "fit_cpu_s": round(fit_cpu_s, 2)}), flush=True)
                continue
            start = time.perf_counter()
            synth = model.sample(len(train), random_state=seed + 1)
            rate = len(train) / (time.perf_counter() - start)
            out = {"table": table, **params, **({"thinned_rows": len(train) - len(fit_rows)} if thin else {}), "seed": seed, "leaf": model.min_samples_leaf_, "fit_s": round(fit_s, 1), "fit_cpu_s": round(fit_cpu_s, 1),
                   "rows_per_s": round(rate)}
            if not privacy_only:
                out.update({k: round(v, 4) for k, v in M.quality(train, synth, types).items()})
                drop = [c for c, t in types.items() if t == "id"]
                util = M.utility(train, holdout, synth, spec["target"], spec["task"], drop)
                out.update(trtr=round(util["trtr"], 4), tstr=round(util["tstr"], 4), utility=round(util["ratio"], 4))
            out.update({k: round(v, 4) for k, v in M.privacy(train, holdout, synth, types).items()})
            print(json.dumps(out), flush=True)


def thin_rare_combos(train: pd.DataFrame, types: dict[str, str], seed: int) -> pd.DataFrame:
    """A variant (``--thin-rare-combos``): fit on the training rows with rare category combinations thinned.

    A row whose combination of categorical columns occurs k times (k = 1..4) is kept with probability
    min(1, (k + 1) N_{k+1} / (k N_k)), the Good-Turing estimate of how much of that frequency is real
    rather than luck of the draw (N_k: combinations seen k times).
    """
    cats = [c for c, t in types.items() if t in ("categorical", "boolean")]
    if not cats:
        return train
    key = train[cats].astype(str).agg("\x1f".join, axis=1)
    count = key.map(key.value_counts()).to_numpy()
    rows_k = np.bincount(count, minlength=7)[:7]
    n_k = rows_k / np.maximum(np.arange(7), 1)  # combinations seen k times
    keep = np.ones(len(train))
    for k in range(1, 5):
        if n_k[k] > 0:
            keep[count == k] = min(1.0, (k + 1) * n_k[k + 1] / (k * n_k[k]))
    rng = np.random.default_rng(1000 + seed)
    return train[rng.random(len(train)) < keep]


if __name__ == "__main__":
    main()
