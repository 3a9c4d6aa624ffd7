"""Fit time of the sequence model on the sequence benchmark's training entities, and a fingerprint of its sample.

Prints, per table, the fit's CPU time (all threads; steadier than wall time on a shared machine), the CPU
time spent in the comparison trees of ``BoostedMean.fit`` (``_gain_over_tree``) and a hash of the sampled
table, so that a change meant to keep outputs identical can be checked before and after.

Usage::

    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_sequence_fit.py sp500,flights_panel
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sequence import load, split  # noqa: E402

import simulacra.tabular._boosted as boosted  # noqa: E402
from simulacra.tabular.sequence import SequenceSynthesizer  # noqa: E402


def main() -> None:
    spent = [0.0, 0]
    compare = boosted._gain_over_tree

    def timed(*args: Any, **kwargs: Any) -> float:
        start = time.process_time()
        try:
            return compare(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start
            spent[1] += 1

    boosted._gain_over_tree = timed  # type: ignore[assignment]
    for table in (sys.argv[1] if len(sys.argv) > 1 else "sp500,flights_panel").split(","):
        df, entity, order = load(table)
        train, _ = split(df, entity)
        spent[:] = [0.0, 0]
        cpu, wall = time.process_time(), time.perf_counter()
        synth = SequenceSynthesizer(entity=entity, order=order, random_state=0).fit(train)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        out = synth.sample(train[entity].nunique(), random_state=1)
        digest = hashlib.sha256(pd.util.hash_pandas_object(out, index=True).to_numpy().tobytes()).hexdigest()[:16]
        print(f"{table}: fit {cpu:.1f} CPU-s ({wall:.1f} s wall), comparison trees {spent[0]:.1f} CPU-s "
              f"in {int(spent[1])} calls, sample {digest}", flush=True)


if __name__ == "__main__":
    main()
