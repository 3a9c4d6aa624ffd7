"""Fuzz targets of model files for ``benchmarks/fuzz.py`` (collected from ``TARGETS``); also a script.

    python benchmarks/fuzz.py --budget 120 --target model --target lgb-text
    python benchmarks/fuzz.py --budget 120 --target model-sample
    python benchmarks/fuzz_models.py --cases 3000            # the LightGBM texts only, with counts
    python benchmarks/fuzz_models.py --cases 3000 --raw      # the same, straight into lgb.Booster

``model``: each case damages a real model file (copula or autoreg) at random: truncation, flipped bytes, a
renamed or missing member, a member edited or cut short (its checksum recomputed or not), or any JSON value
replaced; loading it must give a model or a clear ``SimulacraError``. The cases are in
:mod:`simulacra.testing.model_fuzz` (the CI test runs a Hypothesis budget of the same damages).

``model-sample``: the same damages, then 20 rows sampled from each model that loads: a damage that loads
but breaks sampling shows up here (see ``benchmarks/RESULTS.md``).

``lgb-text``: each case damages one LightGBM model text of a real autoreg model
(:func:`~simulacra.testing.model_fuzz.mutate_model_text`: byte flips, cuts, numbers replaced or nudged,
lines deleted, duplicated or swapped, array items deleted or repeated) and loads it the way a model file
is loaded (``simulacra.tabular._lgb_text.load_booster``), then predicts on a few rows. LightGBM's parser
can kill the process or loop for ever, so every load runs in a CHILD process
(:mod:`simulacra.testing.lgb_fuzz`): a dead child is a ``BUG: crash``, one silent for 20 s (``--hang-seconds``) a ``BUG: hang``.
``--raw`` gives the text to ``lgb.Booster`` unchecked, to measure what the check prevents.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from simulacra.testing import lgb_fuzz
from simulacra.testing.lgb_fuzz import close_loaders, lgb_text_case
from simulacra.testing.model_fuzz import CASES

TARGETS = {**CASES, "lgb-text": lgb_text_case}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fuzz the LightGBM model texts of a real autoreg model.")
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--raw", action="store_true", help="give the texts to lgb.Booster unchecked")
    ap.add_argument("--hang-seconds", type=float, default=lgb_fuzz.HANG_SECONDS,
                    help="a child silent this long is a hang (a clean load takes well under a second)")
    args = ap.parse_args(argv)
    lgb_fuzz.HANG_SECONDS = args.hang_seconds
    counts: Counter[str] = Counter()
    bugs: Counter[str] = Counter()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seed, args.seed + args.cases):
            outcome, details = lgb_text_case(seed, Path(tmp), raw=args.raw)
            counts[outcome] += 1
            if outcome.startswith("BUG"):
                bugs[f"{outcome} after {details['damage']}"] += 1
                if sum(bugs.values()) <= 5:
                    print(f"  seed {seed}: {outcome} after {details['damage']} ({details['message']})")
    close_loaders()
    mode = "unchecked lgb.Booster" if args.raw else "load_booster"
    print(f"{args.cases} damaged LightGBM texts via {mode} in {time.perf_counter() - start:.0f} s: "
          + ", ".join(f"{k}: {v}" for k, v in counts.most_common()))
    for what, n in bugs.most_common():
        print(f"  {n:5d}  {what}")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
