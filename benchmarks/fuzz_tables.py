"""Fuzz targets for tables (collected by ``benchmarks/fuzz.py``): the CSV/Parquet/JSONL readers on random
bytes, damaged files and random frames; metadata detection; evaluation on random small tables.

    python benchmarks/fuzz.py --budget 300 --target table_csv --target table_evaluate

The cases live in :mod:`simulacra.testing.fuzz_tables` (the CI test runs the same ones with a small budget).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from simulacra.testing.fuzz_tables import table_fuzz_case


def _target(name: str, seed: int, workdir: Path) -> tuple[str, dict[str, Any]]:
    return table_fuzz_case(name, seed, workdir)


TARGETS = {
    "table_bytes": partial(_target, "read_bytes"),  # random bytes, truncated/flipped/padded files, empty, header only
    "table_csv": partial(_target, "read_csv"),  # random frames as CSV/TSV in several delimiters and encodings
    "table_parquet": partial(_target, "read_parquet"),  # random dtypes: nested, binary, far-future, durations
    "table_jsonl": partial(_target, "read_jsonl"),  # random JSON lines, some nested
    "table_evaluate": partial(_target, "detect_evaluate"),  # detection + fidelity/validity on 1-12 row tables
    "table_evaluate_all": partial(_target, "evaluate_all"),  # every metric, with holdout/target/sensitive/secret
}
