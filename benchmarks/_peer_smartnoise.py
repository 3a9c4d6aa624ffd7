"""Fit smartnoise-synth's MST or AIM and sample; run inside its own environment (/work/peer-envs/smartnoise).

Usage: python _peer_smartnoise.py MODEL TRAIN.parquet TYPES.json N_ROWS OUT.parquet TIMING.json EPSILON DELTA
MODEL is mst or aim. smartnoise-synth defaults, with 10 % of ε on its preprocessor (bounds of
continuous columns), as in issue 17; whole-number columns with at most 16 distinct values are declared
categorical (see ``_is_code``). Records wall and CPU seconds (user + system, all threads) of fit + sample.
Prints nothing on success.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import pandas as pd


def main(argv: list[str]) -> None:
    model, train_path, types_path, n, out_path, timing_path, eps, delta = argv[:8]
    from snsynth import Synthesizer

    train = pd.read_parquet(train_path)
    types = json.loads(Path(types_path).read_text())
    cont = [c for c, t in types.items() if t == "numerical"]
    cats = [c for c, t in types.items() if t in ("categorical", "boolean")]
    coded = [c for c in cont if _is_code(train[c])]  # status codes and labels stored as small integers
    cont, cats = [c for c in cont if c not in coded], cats + coded
    train = train[cont + cats]
    for c in cats:
        train[c] = train[c].astype(str)
    epsilon = float(eps)
    start, cpu0 = time.perf_counter(), _cpu()
    synth = Synthesizer.create(model, epsilon=epsilon, delta=float(delta))
    synth.fit(train, categorical_columns=cats, continuous_columns=cont, preprocessor_eps=0.1 * epsilon,
              nullable=bool(train.isna().any().any()))
    out = synth.sample(int(n))
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu0
    pd.DataFrame(out, columns=train.columns).to_parquet(out_path)
    Path(timing_path).write_text(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "load_after": os.getloadavg()[0],
                                              "cores": os.cpu_count()}))


def _is_code(values: pd.Series) -> bool:
    """A whole-number column with at most 16 distinct values (credit_default's PAY_0..6, SEX, the 0/1
    label; Adult's education-num): declared categorical, as a user of smartnoise would, rather than
    binned as continuous (our model gives such columns one cell per value too)."""
    v = values.dropna()
    return bool(len(v)) and bool((v == v.round()).all()) and v.nunique() <= 16


def _cpu() -> float:
    """CPU seconds (user + system) of this process, all its threads, and its finished children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main(sys.argv[1:])
