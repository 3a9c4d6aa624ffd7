"""Hostile specs: alias bombs, recursive YAML, runaway formulas, NaN parameters, files outside the spec."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from simulacra.errors import SpecError
from simulacra.spec import Spec
from simulacra.spec.source import MAX_EXPANDED_NODES


def _bomb(levels: int, width: int = 9) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    lines.append(f"tables: {{t: {{rows: 1, columns: {{a: {{kind: categorical, values: *l{levels}}}}}}}}}")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_once():
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(SpecError, match="alias bomb"):
            Spec.from_yaml(_bomb(9))  # 9**10 values once expanded
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2 and peak < 20e6


def test_a_small_alias_fan_out_is_measured_not_walked():
    # 5 levels: ~530,000 values expanded; a line walk over every alias path would visit each of them
    start = time.perf_counter()
    with pytest.raises(SpecError, match=f"more than {MAX_EXPANDED_NODES:,} values"):
        Spec.from_yaml(_bomb(5))
    assert time.perf_counter() - start < 1


def test_ordinary_aliases_still_work():
    spec = Spec.from_yaml(
        "tables:\n  t:\n    rows: 5\n    columns:\n      a: &size {kind: normal, mean: 10, std: 2}\n      b: *size\n"
    )
    assert list(spec.generate()["t"].columns) == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("a: &a [1, *a]\ntables: {t: {rows: 1, columns: {x: 1}}}\n", "contains it"),
     ("[" * 5000 + "]" * 5000, "nested too deeply")],
)
def test_recursive_or_deep_yaml_is_refused(text, message):
    with pytest.raises(SpecError, match=message):
        Spec.from_yaml(text)
