"""Checks of the entity-level DCR share of the sequence report (issue 15), on the sequence benchmark's splits.

Every check runs on the benchmark's headline entity split (split seed 0) unless ``--split-seeds`` names
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

``groups TABLE [SEEDS]``: the default model fitted and sampled as the benchmark does (fit seed, sampling
seed + 1), its share recomputed on the entity vector without each group of its columns and on each
group alone (``length``, ``mean``, ``std``, ``first``, ``last``, ``vol`` of the dynamic columns, the
levels together, ``statics``), each beside the null check on the same columns; then, over every
(split, seed) run, the mean model share, the mean null share and the model's excess over the null
± its standard error. The full vector's share is the report's own.

``simulate``: no data; what a correctly specified smooth model scores when it is estimated from few
entities (a normal fitted to n draws of a standard normal, n/4 held out), by n and dimension.

``reference TABLE``: model-free references on each split, 20 draws each: the training entity vectors
resampled (copies: a quarter of them are reference entities, at distance 0) and drawn from a normal
distribution fitted to the training vectors (a smooth model of the vectors themselves), beside the null.

Usage::

    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/sequence_dcr_checks.py null weather_panel
    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/sequence_dcr_checks.py entity flights_panel '{}' 0,1,2
    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/sequence_dcr_checks.py null flights_panel --split-seeds 0,1,2,3
    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/sequence_dcr_checks.py groups sp500 0,1 --split-seeds 0,1,2,3,4,5,6,7
    PYTHONPATH=src OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/sequence_dcr_checks.py reference sp500 --split-seeds 0,1,2,3,4,5,6,7
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
from bench_sequence import load, run_ours, seeds_arg, split  # noqa: E402

import simulacra.evaluate.sequence as report  # noqa: E402
import simulacra.tabular.autoreg as autoreg  # noqa: E402
import simulacra.tabular.sequence as sequence  # noqa: E402


def vectors(train: pd.DataFrame, hold: pd.DataFrame, entity: str, order: str,
            synth: pd.DataFrame | None = None) -> tuple[list[np.ndarray], list[str]]:
    """The entity vectors of the training, held-out (and synthetic) entities, scaled as the measure
    scales them (``evaluate.sequence._entity_matrices``), and the names of their columns."""
    tr, ho = report._prepare(train, entity, order, "real"), report._prepare(hold, entity, order, "holdout")
    numeric = [c for c in tr.columns if c not in (entity, order) and report._numeric(tr[c])]
    statics = report._statics(tr, entity, order)
    persistent = {c: report._persistent(tr, entity, c) for c in numeric}
    frames = [tr, ho] if synth is None else [tr, ho, report._prepare(synth, entity, order, "synthetic")]
    mats, cols = report._entity_matrices(frames, entity, numeric, statics, persistent)
    return mats, [str(c) for c in cols]


def null_shares(a: np.ndarray, b: np.ndarray, draws: int = 5) -> list[float]:
    """Training entities ``a`` left out of a reference of ``len(b)`` other training entities, against
    the held-out entities ``b``, for ``draws`` random references."""
    shares = []
    for seed in range(draws):
        perm = np.random.default_rng(seed).permutation(len(a))
        shares.append(report._dcr_share(a[perm[:len(b)]], a[perm[len(b):]], b))
    return shares


def null(table: str, split_seed: int = 0) -> list[float]:
    """The null check's share on one entity split, five draws of left-out training entities."""
    df, entity, order = load(table)
    train, hold = split(df, entity, split_seed)
    (a, b), _ = vectors(train, hold, entity, order)
    shares = null_shares(a, b)
    print(f"{table}, split {split_seed}: null entity-level DCR share {_summary(shares)} (5 draws)", flush=True)
    return shares


def column_groups(cols: list[str], dynamic: list[str]) -> dict[str, list[str]]:
    """The entity vector's columns by what they summarise: ``length``, each statistic of the dynamic
    columns (``mean``, ``std``, ``first``, ``last``, ``vol``), the levels together, ``statics``."""
    groups: dict[str, list[str]] = {}
    for c in cols:
        base, _, stat = c.rpartition("_")
        key = "length" if c == "__length" else stat if base in dynamic and stat in STATS else "statics"
        groups.setdefault(key, []).append(c)
    levels = [c for k in ("mean", "first", "last") for c in groups.get(k, [])]
    if levels:
        groups["levels (mean, first, last)"] = levels
    return groups


STATS = ("mean", "std", "first", "last", "vol")


def groups(table: str, seeds: list[int], split_seed: int = 0) -> dict[str, list[tuple[float, float]]]:
    """The default model's share and the null check's, each on the full entity vector, without each
    group of its columns and on each group alone: ``{variant: [(model, null) per seed]}``."""
    df, e, o = load(table)
    train, hold = split(df, e, split_seed)
    statics = report._statics(report._prepare(train, e, o, "real"), e, o)
    dynamic = [c for c in train.columns if c not in (e, o, *statics)]
    out: dict[str, list[tuple[float, float]]] = {}
    for seed in seeds:
        synth, _ = run_ours(train, e, o, train[e].nunique(), seed)
        (a, b, fake), cols = vectors(train, hold, e, o, synth)
        ref_a, ref_b = report._references(a, b)
        variants = {"full vector": cols}
        for name, members in column_groups(cols, dynamic).items():
            variants[f"without {name}"] = [c for c in cols if c not in members]
            variants[f"{name} alone"] = members
        for name, keep in variants.items():
            idx = [cols.index(c) for c in keep]
            if idx:
                out.setdefault(name, []).append((report._dcr_share(ref_a[:, idx], fake[:, idx], ref_b[:, idx]),
                                                 float(np.mean(null_shares(a[:, idx], b[:, idx])))))
        print(f"{table}, split {split_seed}, seed {seed}: full vector {out['full vector'][-1][0]:.3f} "
              f"(null {out['full vector'][-1][1]:.3f})", flush=True)
    return out


def reference(table: str, split_seed: int = 0, draws: int = 20) -> dict[str, list[float]]:
    """Model-free references on one split: the training entity vectors resampled (copies), and drawn
    from a normal distribution fitted to them (a smooth model of the vectors themselves)."""
    df, e, o = load(table)
    train, hold = split(df, e, split_seed)
    (a, b), _ = vectors(train, hold, e, o)
    ref_a, ref_b = report._references(a, b)
    rng = np.random.default_rng(split_seed)
    mean, cov = a.mean(axis=0), np.cov(a, rowvar=False)
    out = {"copies": [report._dcr_share(ref_a, a[rng.integers(0, len(a), len(a))], ref_b) for _ in range(draws)],
           "normal": [report._dcr_share(ref_a, rng.multivariate_normal(mean, cov, len(a), method="eigh"), ref_b)
                      for _ in range(draws)],
           "null": null_shares(a, b)}
    print(f"{table}, split {split_seed}: " + "; ".join(f"{k} {np.mean(v):.3f}" for k, v in out.items()), flush=True)
    return out


def simulate(n_train: int, dims: int, reps: int, seed: int = 0) -> dict[str, list[float]]:
    """The share of a correctly specified smooth model, by number of training entities: a normal
    distribution fitted to ``n_train`` draws of a ``dims``-dimensional standard normal samples as many,
    against ``n_train // 4`` held-out draws, references of that size as the measure takes them;
    ``true``: draws of the population itself (the null)."""
    rng = np.random.default_rng(seed)
    other = np.random.default_rng([seed, 1])  # the variants' own draws: the fitted and true figures stay as recorded
    out: dict[str, list[float]] = {"fitted": [], "predictive": [], "wider": [], "true": []}
    for _ in range(reps):
        a, b = rng.normal(size=(n_train, dims)), rng.normal(size=(n_train // 4, dims))
        ref_a, ref_b = report._references(a, b)
        mean, cov = a.mean(axis=0), np.cov(a, rowvar=False)
        fitted = rng.multivariate_normal(mean, cov, n_train, method="eigh")
        out["fitted"].append(report._dcr_share(ref_a, fitted, ref_b))
        # the Bayesian posterior predictive of a new entity (flat prior): a multivariate t with n - d degrees
        # of freedom, its scale widened by the uncertainty of the mean and the covariance
        dof = n_train - dims
        scale = cov * (n_train + 1) * (n_train - 1) / (n_train * dof)
        chi = other.chisquare(dof, size=(n_train, 1))
        predictive = mean + other.multivariate_normal(np.zeros(dims), scale, n_train, method="eigh") * np.sqrt(dof / chi)
        out["predictive"].append(report._dcr_share(ref_a, predictive, ref_b))
        wider = other.multivariate_normal(mean, 1.3 * cov, n_train, method="eigh")  # 30 % more variance than fitted
        out["wider"].append(report._dcr_share(ref_a, wider, ref_b))
        out["true"].append(report._dcr_share(ref_a, rng.normal(size=(n_train, dims)), ref_b))
    return out


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
                           lambda self, *a, **k: (np.zeros((1, 1)),) * 3), \
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


def main(argv: list[str] | None = None) -> dict[Any, Any]:
    """Run one check on each split named; its results by split seed (and their spread over splits printed)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="check", required=True)
    null_ap = sub.add_parser("null", help="the share of real training entities left out of the reference")
    entity_ap = sub.add_parser("entity", help="the share of the entity table alone, (statics + length)")
    groups_ap = sub.add_parser("groups", help="the default model's share without, and with only, each column group")
    reference_ap = sub.add_parser("reference", help="training vectors resampled / drawn from a fitted normal")
    simulate_ap = sub.add_parser("simulate", help="a normal fitted to n standard-normal entities, by n and dimension")
    simulate_ap.add_argument("--entities", type=seeds_arg, default=[40, 160, 640], help="training entities, e.g. 40,160")
    simulate_ap.add_argument("--dims", type=seeds_arg, default=[2, 4, 6], help="dimensions of the entity vector")
    simulate_ap.add_argument("--reps", type=int, default=200)
    for one in (null_ap, entity_ap, groups_ap, reference_ap):  # simulate draws its own entities
        one.add_argument("table")
        one.add_argument("--split-seeds", type=seeds_arg, default=[0],
                         help="comma-separated seeds of the 80/20 entity split (0: the headline split)")
    entity_ap.add_argument("variant", type=json.loads, help="entity model settings as JSON ('{}': defaults)")
    for one in (entity_ap, groups_ap):
        one.add_argument("seeds", type=seeds_arg, nargs="?", default=[0, 1, 2], help="model seeds, e.g. 0,1,2")
    args = ap.parse_args(argv)
    if args.check == "simulate":
        sims = {}
        for n in args.entities:
            for d in args.dims:
                sims[(n, d)] = r = simulate(n, d, args.reps)
                print(f"{n} training entities, {d} dimensions: fitted normal {_mean_se(r['fitted'])}, "
                      f"posterior predictive {_mean_se(r['predictive'])}, fitted normal with 1.3 x its variance "
                      f"{_mean_se(r['wider'])}, population itself {_mean_se(r['true'])} ({args.reps} draws)", flush=True)
        return sims
    by_split: dict[int, Any] = {}
    for split_seed in args.split_seeds:
        if args.check == "null":
            by_split[split_seed] = null(args.table, split_seed)
        elif args.check == "entity":
            by_split[split_seed] = entity(args.table, args.variant, args.seeds, split_seed)
        elif args.check == "groups":
            by_split[split_seed] = groups(args.table, args.seeds, split_seed)
        else:
            by_split[split_seed] = reference(args.table, split_seed)
    if args.check == "groups":
        _print_groups(args.table, by_split)
    elif args.check == "reference":
        for kind in ("copies", "normal", "null"):
            means = [float(np.mean(v[kind])) for v in by_split.values()]
            print(f"{args.table} reference, {kind}: mean of each split {_summary(means)}")
    elif len(by_split) > 1:
        means = [float(np.mean(v)) for v in by_split.values()]
        print(f"{args.table} {args.check}: mean of each split {_summary(means)} over {len(means)} splits")
    return by_split


def _mean_se(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) / np.sqrt(len(values)):.3f}"


def _print_groups(table: str, by_split: dict[int, Any]) -> None:
    """Each variant's model and null shares over every (split, seed) run, and the excess ± its standard error."""
    runs: dict[str, list[tuple[float, float]]] = {}
    for result in by_split.values():
        for name, pairs in result.items():
            runs.setdefault(name, []).extend(pairs)
    print(f"{table}: {len(runs['full vector'])} runs (splits {', '.join(map(str, by_split))})")
    print(f"{'entity vector':34s} model  null   excess over the null")
    for name, pairs in runs.items():
        v = np.asarray(pairs)
        d = v[:, 0] - v[:, 1]
        se = np.std(d, ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
        print(f"{name:34s} {v[:, 0].mean():.3f}  {v[:, 1].mean():.3f}  {d.mean():+.3f} ± {se:.3f}")


if __name__ == "__main__":
    main()
