"""Checks of the entity-level DCR share of the sequence report (issue 15), on the sequence benchmark's splits.

Both checks run on the benchmark's headline entity split (split seed 0) unless ``--split-seeds`` names
others (``--split-seeds 0,1,2,3``: each check on each of those 80/20 entity splits, then the mean ± sd
over the splits), the splits of ``bench_sequence.py --split-seeds``.

``null TABLE``: the share when the "synthetic" entities are real training entities left out of the
training reference (five draws): what a model that samples the real process itself would score, so
0.5 if the measure is unbiased on that table.

``entity TABLE VARIANT_JSON [SEEDS]``: the share over (static attributes + number of events) of the
sequence model's entity table alone (no step models fitted), with the entity model's settings changed
as VARIANT_JSON says (``{}``: the defaults; ``{"honest": "full", "min_samples_leaf": 60}``...);
``"length_from": "holdout"`` replaces the drawn lengths by draws from the held-out entities' lengths, and
``"statics_from": "training"`` replaces the model by a bootstrap of the training entities' static
attributes (what copying real static profiles at their real frequencies scores).

Usage::

    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/sequence_dcr_checks.py null weather_panel
    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/sequence_dcr_checks.py entity flights_panel '{}' 0,1,2
    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/sequence_dcr_checks.py null flights_panel --split-seeds 0,1,2,3
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sequence import load, seeds_arg, split  # noqa: E402

import simulacra.evaluate.sequence as report  # noqa: E402
import simulacra.tabular.autoreg as autoreg  # noqa: E402
import simulacra.tabular.sequence as sequence  # noqa: E402


def null(table: str, split_seed: int = 0) -> list[float]:
    """The null check's share on one entity split, five draws of left-out training entities."""
    from sklearn.neighbors import NearestNeighbors

    df, entity, order = load(table)
    train, hold = split(df, entity, split_seed)
    tr, ho = report._prepare(train, entity, order, "real"), report._prepare(hold, entity, order, "holdout")
    numeric = [c for c in tr.columns if c not in (entity, order) and report._numeric(tr[c])]
    statics = report._statics(tr, entity, order)
    persistent = {c: report._persistent(tr, entity, c) for c in numeric}
    logged = {c for c in numeric if (tr[c].dropna().astype(float) > 0).all()}
    vecs = [report._entity_vectors(d, entity, numeric, statics, persistent, logged) for d in (tr, ho)]
    cols = sorted(set().union(*[v.columns for v in vecs]))
    a, b = (v.reindex(columns=cols).fillna(0.0).to_numpy(dtype=float) for v in vecs)
    both = np.vstack([a, b])
    q75, q25 = np.nanpercentile(both, [75, 25], axis=0)
    scale = np.where(q75 - q25 > 0, q75 - q25, np.where(both.std(axis=0) > 0, both.std(axis=0), 1.0))
    a, b = a / scale, b / scale
    shares = []
    for seed in range(5):
        perm = np.random.default_rng(seed).permutation(len(a))
        ref, fake = a[perm[:len(b)]], a[perm[len(b):]]
        d_train = NearestNeighbors(n_neighbors=1).fit(ref).kneighbors(fake)[0][:, 0]
        d_hold = NearestNeighbors(n_neighbors=1).fit(b).kneighbors(fake)[0][:, 0]
        shares.append(((d_train < d_hold).sum() + 0.5 * (d_train == d_hold).sum()) / len(fake))
    print(f"{table}, split {split_seed}: null entity-level DCR share {_summary(shares)} (5 draws)", flush=True)
    return shares


def _summary(shares: list[float]) -> str:
    sd = np.std(shares, ddof=1) if len(shares) > 1 else 0.0
    return f"{' '.join(f'{s:.3f}' for s in shares)}, mean {np.mean(shares):.3f} ± {sd:.3f}"


def entity(table: str, variant: dict[str, Any], seeds: list[int], split_seed: int = 0) -> list[float]:
    """The (statics + length) share of the entity table alone on one entity split, one value per seed."""
    variant = dict(variant)
    length_from = variant.pop("length_from", None)
    bootstrap = variant.pop("statics_from", None) == "training"
    base = autoreg.AutoregressiveSynthesizer

    class Variant(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, **variant})

    # the entity table alone: no transitions, no step models; the entity model with the variant's settings
    with mock.patch.object(sequence.SequenceSynthesizer, "_transitions",
                           lambda self, *a, **k: (np.zeros((1, 1)), np.zeros((1, 1)))), \
            mock.patch.object(sequence.SequenceSynthesizer, "_fit_steps", lambda self, *a, **k: None), \
            mock.patch.object(autoreg, "AutoregressiveSynthesizer", Variant):
        shares = _entity_shares(table, seeds, split_seed, bootstrap, length_from)
    what = "bootstrap of the training profiles" if bootstrap else f"entity model {json.dumps(variant)}"
    print(f"{table}, split {split_seed}, {what}{', lengths from the held-out entities' if length_from else ''}: "
          f"(statics + length) DCR share {_summary(shares)}", flush=True)
    return shares


def _entity_shares(table: str, seeds: list[int], split_seed: int, bootstrap: bool, length_from: str | None) -> list[float]:
    df, e, o = load(table)
    train, hold = split(df, e, split_seed)
    statics = report._statics(train, e, o)
    numeric = [c for c in statics if report._numeric(train[c])]
    cols = [e, o, *statics]
    shares = []
    for seed in seeds:
        if bootstrap:
            profiles = train.groupby(e, sort=True)[statics].first().reset_index(drop=True)
            drawn = profiles.iloc[np.random.default_rng(seed).integers(0, len(profiles), len(profiles))]
            drawn = drawn.reset_index(drop=True).assign(**{sequence.LENGTH: train.groupby(e).size().to_numpy()})
        else:
            model = sequence.SequenceSynthesizer(entity=e, order=o, random_state=seed).fit(train)
            drawn = model.entity_model_.sample(train[e].nunique(), random_state=seed + 1)
        lengths = pd.to_numeric(drawn[sequence.LENGTH]).to_numpy(dtype=int)
        if length_from == "holdout":
            lengths = np.random.default_rng(seed).choice(hold.groupby(e).size().to_numpy(), len(drawn))
        drawn[e] = [f"S{i}" for i in range(len(drawn))]
        synth = drawn.loc[drawn.index.repeat(np.maximum(lengths, 1)), [e, *statics]].reset_index(drop=True)
        tr, sy, ho = (d.assign(**{o: d.groupby(e).cumcount()})[cols] for d in (train, synth, hold))
        shares.append(report._entity_privacy(tr, sy, ho, e, numeric, statics, {c: False for c in numeric})["entity_dcr_share"])
    return shares


def main(argv: list[str] | None = None) -> dict[int, list[float]]:
    """Run one check on each split named; the shares by split seed (and their spread over splits printed)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="check", required=True)
    null_ap = sub.add_parser("null", help="the share of real training entities left out of the reference")
    entity_ap = sub.add_parser("entity", help="the share of the entity table alone, (statics + length)")
    for one in (null_ap, entity_ap):
        one.add_argument("table")
        one.add_argument("--split-seeds", type=seeds_arg, default=[0],
                         help="comma-separated seeds of the 80/20 entity split (0: the headline split)")
    entity_ap.add_argument("variant", type=json.loads, help="entity model settings as JSON ('{}': defaults)")
    entity_ap.add_argument("seeds", type=seeds_arg, nargs="?", default=[0, 1, 2], help="model seeds, e.g. 0,1,2")
    args = ap.parse_args(argv)
    by_split: dict[int, list[float]] = {}
    for split_seed in args.split_seeds:
        if args.check == "null":
            by_split[split_seed] = null(args.table, split_seed)
        else:
            by_split[split_seed] = entity(args.table, args.variant, args.seeds, split_seed)
    if len(by_split) > 1:
        means = [float(np.mean(v)) for v in by_split.values()]
        print(f"{args.table} {args.check}: mean of each split {_summary(means)} over {len(means)} splits")
    return by_split


if __name__ == "__main__":
    main()
