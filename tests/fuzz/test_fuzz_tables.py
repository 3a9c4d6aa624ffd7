"""Fuzz (a small fixed budget for CI): the table readers, metadata detection and evaluation on random
bytes, damaged files and random frames (see simulacra.testing.fuzz_tables). Invariant: a correct result
or a clear SimulacraError, never another exception. The longer run is ``benchmarks/fuzz.py``."""

from __future__ import annotations

import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulacra.testing.fuzz_tables import CLEAR_ERROR, OK, table_fuzz_case

#: Cases per target: about 20 seconds for all of them on one core.
BUDGET = {"read_bytes": 80, "read_csv": 40, "read_parquet": 40, "read_jsonl": 40, "detect_evaluate": 30,
          "evaluate_all": 12}


@pytest.mark.parametrize("target", sorted(BUDGET))
def test_tables_fuzz(target: str) -> None:
    @settings(max_examples=BUDGET[target], deadline=None, derandomize=True)
    @given(seed=st.integers(min_value=0, max_value=2**31 - 1))
    def run(seed: int) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            outcome, details = table_fuzz_case(target, seed, tmp)
        assert outcome in (OK, CLEAR_ERROR), details

    run()


#: Seeds on which the longer run found a bug, kept as regression cases.
FOUND = [
    ("read_bytes", 6509),  # a flipped byte in a Parquet string: pyarrow's ArrowException (and an abort at exit)
    ("read_bytes", 101727),  # a flipped byte in the pandas metadata of a Parquet file: KeyError
    ("read_bytes", 103867),
    ("read_csv", 891),  # a one-column CSV whose header holds a comma was read as two columns
]


@pytest.mark.parametrize(("target", "seed"), FOUND)
def test_tables_fuzz_findings_stay_fixed(target: str, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outcome, details = table_fuzz_case(target, seed, tmp)
    assert outcome in (OK, CLEAR_ERROR), details
