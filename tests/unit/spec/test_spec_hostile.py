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


# -- NaN and infinity in parameters ------------------------------------------------------------------
def _one(column):
    return Spec.from_dict({"tables": {"t": {"rows": 50, "columns": {"a": column}}}})


NAN, INF = float("nan"), float("inf")
PAIR = {"x": {"kind": "normal"}, "y": {"kind": "gamma", "shape": 2}}


@pytest.mark.parametrize(
    "column",
    [
        {"kind": "correlated", "columns": PAIR, "correlation": {"x, y": NAN}},
        {"kind": "correlated", "columns": PAIR, "correlation": [[1, NAN], [NAN, 1]]},
        {"kind": "fixed_sum", "columns": ["x", "y"], "total": 100, "concentration": NAN},
        {"kind": "fixed_sum", "columns": ["x", "y"], "total": 100, "concentration": [1, NAN]},
        {"kind": "fixed_sum", "columns": {"x": {"concentration": NAN}, "y": None}, "total": 100},
        {"kind": "fixed_sum", "columns": {"x": {"max": INF}, "y": None}, "total": 100},
        {"kind": "fixed_sum", "columns": ["x", "y"], "total": NAN},
        {"kind": "normal", "mean": NAN}, {"kind": "normal", "std": INF}, {"kind": "uniform", "max": INF},
        {"kind": "truncated_normal", "min": NAN}, {"kind": "lognormal", "sigma": NAN}, {"kind": "gamma", "shape": INF},
        {"kind": "beta", "a": NAN, "b": 1}, {"kind": "triangular", "min": 0, "mode": NAN, "max": 1},
        {"kind": "poisson", "lam": NAN}, {"kind": "binomial", "n": 3, "p": NAN}, {"kind": "zipf", "a": NAN},
        {"kind": "negative_binomial", "n": NAN, "p": 0.5}, {"kind": "geometric", "p": NAN},
        {"kind": "exponential", "rate": INF}, {"kind": "categorical", "values": {"a": NAN, "b": 1}},
        {"kind": "categorical", "values": ["a", "b"], "weights": [NAN, 1]}, {"kind": "bernoulli", "p": NAN},
        {"kind": "mixture", "components": [{"kind": "normal", "weight": NAN}]},
        {"kind": "mixture", "components": [{"kind": "normal", "std": NAN}]},
        {"kind": "formula", "expr": "1", "clip": [NAN, 1]}, {"kind": "normal", "clip": [0, INF]},
        {"kind": "date", "start": "2020-01-01", "end": "2021-01-01", "growth": NAN},
        {"kind": "empirical", "values": [1, 2], "weights": [NAN, 1]},
        {"kind": "normal", "null_rate": NAN},
    ],
)
def test_nan_and_infinite_parameters_are_refused(column):
    with pytest.raises(SpecError, match="finite|non-negative numbers|must lie|valid"):
        _one(column)


def test_nan_in_table_and_series_parameters_is_refused():
    with pytest.raises(SpecError, match="finite"):
        Spec.from_dict({"tables": {"t": {"rows": 3, "columns": {"a": 1}}, "u": {"ratio": NAN, "columns": {"b": 1}}}})
    with pytest.raises(SpecError, match="finite"):
        Spec.from_dict({"tables": {"g": {"kind": "graph", "model": "erdos_renyi", "nodes": 5, "p": NAN}}})
    with pytest.raises(SpecError, match="finite"):
        Spec.from_dict({"tables": {"s": {"kind": "timeseries", "entities": 2, "length": 3, "columns": {
            "v": {"kind": "random_walk", "seasonality": {"period": NAN}}}}}})


def test_a_missing_fixed_sum_total_gives_missing_parts():
    frame = Spec.from_dict({"tables": {"t": {"rows": 2000, "columns": {
        "tot": {"kind": "normal", "mean": 100, "std": 1, "null_rate": 0.3},
        "parts": {"kind": "fixed_sum", "columns": ["x", "y"], "total": "tot"}}}}}).generate()["t"]
    missing = frame["tot"].isna()
    assert 400 < missing.sum() < 800
    assert frame.loc[missing, ["x", "y"]].isna().all().all()
    assert ((frame.x + frame.y - frame.tot.round(2)).abs()[~missing] < 1e-6).all()


# -- sizes and seeds -----------------------------------------------------------------------------------
def test_negative_row_counts_are_refused(one_table):
    spec = one_table({"x": {"kind": "normal"}})
    for call in (lambda: spec.generate(-5), lambda: spec.generate_table("t", -1), lambda: spec.sample(-3),
                 lambda: spec.units("t", -2), lambda: spec.simulate("x", -10)):
        with pytest.raises(SpecError, match="zero or more"):
            call()


def test_default_seed_is_the_specs_own_everywhere():
    spec = Spec.from_dict({"seed": 42, "tables": {"t": {"rows": 20, "columns": {"x": {"kind": "normal"}}}}})
    table = spec.generate()["t"]
    for other in (spec.generate_table("t"), spec.sample(), spec.generate_range("t", 0, 20),
                  spec.generate(random_state=42)["t"]):
        assert table.equals(other)
    assert not table.equals(spec.generate_table("t", random_state=0))
    plain = Spec.from_dict({"tables": {"t": {"rows": 20, "columns": {"x": {"kind": "normal"}}}}})
    assert plain.generate()["t"].equals(plain.generate_table("t", random_state=0))


def test_seed_keyword_still_works_with_a_deprecation_warning():
    spec = Spec.from_dict({"tables": {"t": {"rows": 20, "columns": {"x": {"kind": "normal"}}}}})
    with pytest.warns(DeprecationWarning, match="random_state"):
        old = spec.generate_table("t", seed=7)
    assert old.equals(spec.generate_table("t", random_state=7))
    with pytest.raises(TypeError, match="both"), pytest.warns(DeprecationWarning):
        spec.generate(random_state=1, seed=2)


# -- files a spec reads --------------------------------------------------------------------------------
def _empirical_spec(folder, file):
    path = folder / "spec.yaml"
    path.write_text(f"tables:\n  t:\n    rows: 10\n    columns:\n      v: {{kind: empirical, file: '{file}', column: v}}\n")
    return path


def test_empirical_files_must_stay_in_the_specs_folder(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("v\nhunter2\n")
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "ok.csv").write_text("v\na\nb\n")
    spec = Spec.from_yaml(_empirical_spec(folder, "ok.csv"))
    assert set(spec.generate()["t"]["v"]) <= {"a", "b"}
    for file in ("../secret.csv", str(secret)):
        with pytest.raises(SpecError, match="outside the spec's folder.*allow_external_files"):
            Spec.from_yaml(_empirical_spec(folder, file))
    (folder / "link.csv").symlink_to(secret)
    with pytest.raises(SpecError, match="outside the spec's folder"):
        Spec.from_yaml(_empirical_spec(folder, "link.csv"))
    allowed = Spec.from_yaml(_empirical_spec(folder, "../secret.csv"), allow_external_files=True)
    assert set(allowed.generate()["t"]["v"]) == {"hunter2"}


def test_empirical_paths_of_a_spec_given_as_text_are_relative_to_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "ok.csv").write_text("v\n1\n2\n")
    monkeypatch.chdir(tmp_path)
    text = "tables:\n  t:\n    rows: 5\n    columns:\n      v: {kind: empirical, file: ok.csv, column: v}\n"
    assert set(Spec.from_yaml(text).generate()["t"]["v"]) <= {1, 2}
    with pytest.raises(SpecError, match="outside"):
        Spec.from_yaml(text.replace("ok.csv", "/etc/passwd"))


def test_integer_formulas_keep_missing_values_missing_and_refuse_overflow():
    frame = Spec.from_dict({"tables": {"t": {"rows": 3000, "columns": {
        "x": {"kind": "normal", "mean": 10, "std": 3, "null_rate": 0.2},
        "k": {"kind": "formula", "expr": "x * 2", "dtype": "int"},
        "j": "= int(x)"}}}}).generate()["t"]
    missing = frame["x"].isna()
    assert 400 < missing.sum() < 800
    assert frame["k"].isna().equals(missing) and frame["j"].isna().equals(missing)
    assert (frame.loc[~missing, "k"] == (frame.loc[~missing, "x"] * 2) // 1).all()
    assert frame["k"].min() > -1e6  # no -9.2e18 where x was missing
    with pytest.raises(SpecError, match="beyond"):
        Spec.from_dict({"tables": {"t": {"rows": 3, "columns": {
            "k": {"kind": "formula", "expr": "1e300", "dtype": "int"}}}}}).generate()


# -- fake columns ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["binary", "zip", "tar"])
def test_fake_methods_that_make_huge_values_are_refused_at_once(method):
    pytest.importorskip("faker")
    start = time.perf_counter()
    with pytest.raises(SpecError, match="characters \\(the limit is 1,000\\)"):
        _one({"kind": "fake", "method": method, "pool_size": 100_000})
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("method", ["person.__class__", "_data", "person._Person__x", "person.__init__.__globals__"])
def test_mimesis_private_attributes_are_not_reachable(method):
    pytest.importorskip("mimesis")
    with pytest.raises(SpecError, match="Mimesis has no"):
        _one({"kind": "fake", "provider": "mimesis", "method": method})


# -- a huge row count is planned lazily ----------------------------------------------------------------
class _Stop(Exception):
    pass


def test_generate_to_plans_chunks_lazily(tmp_path, monkeypatch):
    """``generate -n 10**14`` must not build its list of chunks first: here 10**6 one-row chunks, which an
    eager plan would hold in memory (about 100 MB) before making the first one; it is stopped there."""
    calls: list[int] = []

    def stop(self, table, start, stop, **kwargs):
        calls.append(start)
        raise _Stop

    spec = _one({"kind": "normal"})
    monkeypatch.setattr(Spec, "generate_range", stop)
    tracemalloc.start()
    try:
        with pytest.raises(_Stop):
            spec.generate_to(tmp_path / "out.parquet", n_rows=10**6, chunk_rows=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert calls and len(calls) <= 8 and peak < 20 * 2**20
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary left behind
