"""Sequences (issue 15): the sequence model against SDV's PAR and MOSTLY AI's engine, on real histories.

Tables:

* ``sp500`` — daily prices of 50 S&P 500 stocks (entity ``Name``, order ``date``), 61,714 events;
* ``flights_panel`` — January 2013 NYC flights of each plane (entity ``tailnum``, order the scheduled
  departure), with the plane's static attributes joined from the planes table (build year,
  manufacturer, seats, engine, carrier): 22,523 events of 2,609 planes.

Entities are split 80/20 (seed 0); every model is fitted on the training entities and samples as many
entities; :func:`simulacra.evaluate.sequence.evaluate_sequences` scores all of them in this
environment, with the held-out entities for next-step TSTR and entity-level DCR. Peers run in their
own environments (``benchmarks/.envs/sdv``, ``benchmarks/.envs/mostly``) through ``_peer_seq.py``.

Usage::

    .venv/bin/python benchmarks/bench_sequence.py                           # ours, both tables
    .venv/bin/python benchmarks/bench_sequence.py --models ours,par,mostly --tables sp500
"""

from __future__ import annotations

import argparse
import json
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

from simulacra.evaluate.sequence import evaluate_sequences  # noqa: E402
from simulacra.tabular.sequence import SequenceSynthesizer  # noqa: E402

RESULTS = HERE / "results" / "sequence.json"
ENVS = {"par": "sdv", "mostly": "mostly"}


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
    raise SystemExit(f"unknown table {name}")


def split(df: pd.DataFrame, entity: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = np.array(sorted(df[entity].unique()))
    rng = np.random.default_rng(0)
    hold = set(rng.choice(names, size=max(1, len(names) // 5), replace=False))
    mask = df[entity].isin(hold)
    return df[~mask].reset_index(drop=True), df[mask].reset_index(drop=True)


def run_ours(train: pd.DataFrame, entity: str, order: str, n: int) -> tuple[pd.DataFrame, dict]:
    start = time.perf_counter()
    synth = SequenceSynthesizer(entity=entity, order=order, random_state=0).fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    out = synth.sample(n, random_state=1)
    return out, {"fit_seconds": fit_s, "sample_seconds": time.perf_counter() - start, "settings": "defaults"}


def run_peer(model: str, train: pd.DataFrame, entity: str, order: str, n: int, args: argparse.Namespace) -> tuple[pd.DataFrame, dict]:
    python = HERE / ".envs" / ENVS[model] / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python} is missing: create the '{ENVS[model]}' peer environment first")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        train.to_parquet(t / "train.parquet")
        cmd = [str(python), str(HERE / "_peer_seq.py"), model, str(t / "train.parquet"), entity, order, str(n),
               str(t / "out.parquet"), str(t / "timing.json")]
        if model == "par" and args.par_epochs:
            cmd += ["--epochs", str(args.par_epochs)]
        if model == "mostly" and args.mostly_minutes:
            cmd += ["--minutes", str(args.mostly_minutes)]
        subprocess.run(cmd, check=True)
        timing = json.loads((t / "timing.json").read_text())
        out = pd.read_parquet(t / "out.parquet")
    if model == "par":
        timing["settings"] = f"epochs={args.par_epochs}" if args.par_epochs else "defaults (128 epochs)"
    else:
        timing["settings"] = f"max_training_time={args.mostly_minutes} min" if args.mostly_minutes else "defaults"
    return out, timing


def summarise(report: dict, timing: dict) -> dict:
    acf = report["autocorrelation"]
    row = {"timing": timing, "length_ks": report["length_ks_complement"], "gap_ks": report["gap_ks_complement"],
           "static_coherence": report["static_coherence"], "order_increasing": report["order_increasing"],
           "duplicates": report["duplicate_entity_order"], "window_auc": report["window_detection_auc"],
           "next_step": report.get("next_step"), "entity_dcr": (report.get("privacy") or {}).get("entity_dcr_share"),
           "copied_histories": report["copied_histories"], "row_rules": report["row_rules"], "acf": {}}
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
    args = ap.parse_args()
    results: dict = {}
    for table in args.tables.split(","):
        df, entity, order = load(table)
        train, hold = split(df, entity)
        n = train[entity].nunique()
        for model in args.models.split(","):
            print(f"{table} / {model}: {n} training entities, {len(train):,} events", flush=True)
            out, timing = run_ours(train, entity, order, n) if model == "ours" else run_peer(model, train, entity, order, n, args)
            report = evaluate_sequences(train, out, entity=entity, order=order, holdout=hold)
            results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}  # merge on write
            results.setdefault(table, {})[model] = summarise(report, timing)
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=1, default=float))
            print(json.dumps(results[table][model], indent=1, default=float), flush=True)


if __name__ == "__main__":
    main()
