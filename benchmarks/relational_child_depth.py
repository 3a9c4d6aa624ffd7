"""One arm of ``bench_relational_sequence.py`` at one seed and setting: the sweeps behind RESULTS.md's
"What moved these figures since 5d5d22b" (issue 15; ``category_depth`` of child and root tables).

Prints one JSON line: multi-table and per-table quality, ``carrier`` constant within a plane, gaps and
flights per plane (1 − KS). With ``--holdout F`` the planes are split (a share F held out, with their
flights), the model is fitted on the rest and the line adds each table's DCR share and exact copies and
the entity-level (plane + flights) DCR share against the held-out planes.

Run:  PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/relational_child_depth.py plain --seed 0 \\
          [--model-params '{"category_depth": null}'] [--holdout 0.2]
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
from bench_relational_sequence import _ks, history_figures, load


def main() -> None:
    import simulacra as sim
    from simulacra.metadata.multi import MultiTableMetadata

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arm", choices=["plain", "sequence"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--model-params", type=json.loads, default=None, help="JSON, e.g. '{\"category_depth\": null}'")
    parser.add_argument("--holdout", type=float, default=0.0, help="share of planes held out (0: none)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    tables = load(args.days)
    hold = None
    if args.holdout:
        rng = np.random.default_rng(args.seed)
        tails = rng.choice(tables["planes"]["tailnum"].to_numpy(), int(len(tables["planes"]) * args.holdout), replace=False)
        split = {role: {n: df[df["tailnum"].isin(tails) == (role == "hold")].reset_index(drop=True)
                        for n, df in tables.items()} for role in ("fit", "hold")}
        tables, hold = split["fit"], split["hold"]
    plain = MultiTableMetadata.detect(tables)
    meta = MultiTableMetadata.detect(tables)
    if args.arm == "sequence":
        meta = meta.set_sequence("flights", "tailnum", "sched_dep", tables=tables)
    synth = sim.RelationalSynthesizer(metadata=meta, random_state=args.seed, model_params=args.model_params)
    fake = synth.fit(tables).sample(random_state=args.seed)
    real, figs = (history_figures(t["flights"], t["planes"], ["carrier"]) for t in (tables, fake))
    rep = sim.evaluate_tables(tables, fake, holdout=hold, metadata=plain, random_state=0)
    out = {"arm": args.arm, "seed": args.seed, "model_params": args.model_params, "quality": rep.quality,
           "tables": {n: r.scores.get("quality") for n, r in rep.tables.items()},
           "carrier_constant": figs["statics_constant"]["carrier"], "gaps_ks": _ks(real["gaps_h"], figs["gaps_h"]),
           "per_plane_ks": _ks(real["per_plane"].astype(float), figs["per_plane"].astype(float))}
    if hold is not None:
        out["dcr_share"] = {n: r.scores.get("dcr_share") for n, r in rep.tables.items()}
        out["exact_copies"] = {n: r.scores.get("exact_copies") for n, r in rep.tables.items()}
        out["entity"] = {k: {m: v.get(m) for m in ("dcr_share", "exact_copies")} for k, v in (rep.entity_privacy or {}).items()}
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
