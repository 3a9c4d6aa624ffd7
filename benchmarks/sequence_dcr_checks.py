"""Checks of the entity-level DCR share of the sequence report (issue 15), on the sequence benchmark's split.

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
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sequence import load, split  # noqa: E402

import simulacra.evaluate.sequence as report  # noqa: E402
import simulacra.tabular.autoreg as autoreg  # noqa: E402
import simulacra.tabular.sequence as sequence  # noqa: E402


def null(table: str) -> None:
    from sklearn.neighbors import NearestNeighbors

    df, entity, order = load(table)
    train, hold = split(df, entity)
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
    print(f"{table}: null entity-level DCR share {np.mean(shares):.3f} ± {np.std(shares, ddof=1):.3f} (5 draws)")


def entity(table: str, variant: dict[str, Any], seeds: list[int]) -> None:
    length_from = variant.pop("length_from", None)
    bootstrap = variant.pop("statics_from", None) == "training"
    base = autoreg.AutoregressiveSynthesizer

    class Variant(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, **variant})

    sequence.SequenceSynthesizer._transitions = lambda self, *a, **k: (np.zeros((1, 1)), np.zeros((1, 1)))  # type: ignore[method-assign]
    sequence.SequenceSynthesizer._fit_steps = lambda self, *a, **k: None  # type: ignore[method-assign]
    autoreg.AutoregressiveSynthesizer = Variant  # type: ignore[misc]
    df, e, o = load(table)
    train, hold = split(df, e)
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
        tables = [d.assign(**{o: d.groupby(e).cumcount()})[cols] for d in (train, synth, hold)]
        shares.append(report._entity_privacy(*tables, e, numeric, statics, {c: False for c in numeric})["entity_dcr_share"])
    what = "bootstrap of the training profiles" if bootstrap else f"entity model {json.dumps(variant)}"
    print(f"{table} {what}{', lengths from the held-out entities' if length_from else ''}: "
          f"(statics + length) DCR share {' '.join(f'{s:.3f}' for s in shares)}, "
          f"mean {np.mean(shares):.3f} ± {np.std(shares, ddof=1) if len(shares) > 1 else 0:.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "null":
        null(sys.argv[2])
    else:
        entity(sys.argv[2], json.loads(sys.argv[3]), [int(s) for s in (sys.argv[4] if len(sys.argv) > 4 else "0,1,2").split(",")])
