"""Generation: chunk-independent reproducibility, files, multiple tables, series, graphs, constraints."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulacra.spec import Spec
from simulacra.spec.runner import BLOCK_ROWS

MIXED = {"tables": {"t": {"rows": 1000, "columns": {
    "id": {"kind": "uuid"},
    "x": {"kind": "normal"},
    "c": {"kind": "categorical", "values": ["a", "b", "c"]},
    "g": {"kind": "correlated", "correlation": {"p, q": 0.5}, "columns": {"p": {"kind": "gamma", "shape": 2}, "q": {"kind": "normal"}}},
    "f": {"kind": "fixed_sum", "total": 10, "columns": ["u", "v"]},
    "txt": {"kind": "template", "template": "{c}-{x:.1f}"},
    "d": {"kind": "date", "start": "2024-01-01", "end": "2024-03-01"},
    "y": "= x + normal(0, 1)",
}, "constraints": ["y > -1"]}}}


@pytest.fixture(scope="module")
def mixed():
    return Spec.from_dict(MIXED)


@pytest.fixture(scope="module")
def reference(mixed):
    return mixed.generate_range("t", 0, BLOCK_ROWS + 2000, random_state=7)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, BLOCK_ROWS + 1999), max_size=3, unique=True))
def test_same_seed_same_rows_whatever_the_chunking(mixed, reference, cuts):
    bounds = [0, *sorted(cuts), BLOCK_ROWS + 2000]
    parts = [mixed.generate_range("t", a, b, random_state=7) for a, b in zip(bounds, bounds[1:])]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), reference)


def test_seed_changes_rows_and_constraint_holds(mixed, reference):
    other = mixed.generate_range("t", 0, 1000, random_state=8)
    assert not np.allclose(other["x"], reference["x"][:1000])
    assert (reference["y"] > -1).all() and reference["id"].is_unique


def test_generate_to_parquet_equals_generate(mixed, tmp_path):
    path = mixed.generate_to(tmp_path / "t.parquet", 3000, random_state=7, chunk_rows=700)
    back = pd.read_parquet(path)
    expected = mixed.generate_table("t", 3000, random_state=7)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert not list(tmp_path.glob(".*part"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_generate_to_text_formats(mixed, tmp_path, fmt):
    path = mixed.generate_to(tmp_path / f"t.{fmt}", 1500, random_state=1, chunk_rows=600)
    back = pd.read_csv(path) if fmt == "csv" else pd.read_json(path, lines=True)
    assert len(back) == 1500 and list(back.columns) == list(mixed.plans["t"].outputs)


SHOP = """
tables:
  customers:
    rows: 300
    columns:
      cid: {kind: id, digits: 7, format: "C{:07d}"}
      tier: {kind: categorical, values: [a, b]}
  orders:
    parent: customers
    per_parent: {kind: poisson, lam: 3}
    columns:
      oid: {kind: sequence}
      cid: {kind: foreign_key, references: customers.cid}
      other: {kind: foreign_key, references: customers.cid, distribution: zipf}
  metrics:
    kind: timeseries
    entities: customers
    length: 20
    entity_column: cid
    columns:
      y: {kind: arma, ar: [0.8], sigma: 1}
      w: {kind: random_walk, drift: 1, sigma: 0.01}
  net:
    kind: graph
    model: watts_strogatz
    nodes: 200
    k: 4
    p: 0.1
    columns:
      size: "= degree * 2"
    edge_columns:
      w: {kind: uniform}
"""


def test_multi_table_keys_series_and_graph(tmp_path):
    spec = Spec.from_yaml(SHOP)
    out = spec.generate(random_state=3)
    c, o, m = out["customers"], out["orders"], out["metrics"]
    assert o["cid"].isin(c["cid"]).all() and o["other"].isin(c["cid"]).all()
    assert o["oid"].tolist() == list(range(1, len(o) + 1)) and abs(len(o) / 300 - 3) < 0.5
    assert spec.count("orders", random_state=3) == len(o)
    assert len(m) == 300 * 20 and (m.groupby("cid").size() == 20).all() and set(m["cid"]) == set(c["cid"])
    lag1 = m.groupby("cid")["y"].apply(lambda s: s.autocorr(1)).mean()
    assert 0.5 < lag1 < 0.95
    assert np.allclose(m.groupby("cid")["w"].apply(lambda s: s.diff().mean()), 1, atol=0.05)
    nodes, edges = out["net"], out["net_edges"]
    assert len(nodes) == 200 and len(edges) == 400 and edges["source"].isin(nodes["node"]).all()
    degree = pd.concat([edges["source"], edges["target"]]).value_counts().reindex(nodes["node"], fill_value=0)
    assert (nodes["size"].to_numpy() == 2 * degree.to_numpy()).all()
    # child tables are made per block of parents: the same children whatever the parent ranges
    parts = pd.concat([spec.generate_range("orders", a, b, random_state=3) for a, b in [(0, 17), (17, 150), (150, 300)]], ignore_index=True)
    pd.testing.assert_frame_equal(parts, o)
    folder = spec.generate_to(tmp_path / "shop", random_state=3)
    names = sorted(p.name for p in folder.iterdir() if p.name != "_simulacra_tables.json")  # the job's marker
    assert names == ["customers.parquet", "metrics.parquet", "net.parquet", "net_edges.parquet", "orders.parquet"]
    assert len(pd.read_parquet(folder / "orders.parquet")) == len(o)


@settings(max_examples=20, deadline=None)
@given(lo=st.floats(-3, 2), width=st.floats(0.5, 4), seed=st.integers(0, 10_000))
def test_constraints_always_hold(lo, width, seed):
    spec = Spec.from_dict({"tables": {"t": {"rows": 2000, "columns": {
        "a": {"kind": "normal"}, "b": "= a + normal(0, 1)"},
        "constraints": [{"column": "a", "min": lo, "max": lo + width}, "b >= a"]}}})
    frame = spec.generate_table("t", random_state=seed)
    assert frame["a"].between(lo, lo + width).all() and (frame["b"] >= frame["a"]).all() and len(frame) == 2000


def test_simulate_reports_monte_carlo_error():
    spec = Spec.from_dict({"tables": {"q": {"rows": 10, "columns": {
        "service": {"kind": "gamma", "shape": 2, "scale": 1}, "wait": "= exponential(scale=2) + service"}}}})
    summary = spec.simulate("wait", 50_000, random_state=1, above=5)
    assert abs(summary.mean - 4) < 4 * summary.mean_se and summary.mean_se < 0.02
    lo_hi = summary.quantiles[0.5]
    assert lo_hi[1] <= lo_hi[0] <= lo_hi[2]
    assert "> 5" in summary.probability


def test_infer_round_trip():
    from simulacra.spec import infer_spec

    rng = np.random.default_rng(0)
    x = rng.normal(50, 10, 3000)
    real = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, 5, 3000), "k": rng.choice(["u", "v"], 3000, p=[0.3, 0.7])})
    draft = infer_spec(real)
    synth = Spec.from_dict(draft).generate_table("data", 20_000, random_state=0)
    assert abs(synth[["x", "y"]].corr().iloc[0, 1] - real[["x", "y"]].corr().iloc[0, 1]) < 0.03
    assert abs((synth["k"] == "u").mean() - 0.3) < 0.03 and abs(synth["x"].mean() - 50) < 1


def test_json_schema_lists_every_kind():
    from simulacra.spec import KINDS, spec_json_schema

    text = str(spec_json_schema())
    assert all(f"'{k}'" in text for k in KINDS)
