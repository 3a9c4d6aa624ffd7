"""Multi-table metadata: keys, foreign keys, orphans, validation, JSON round trip."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import MetadataError, ValidationError
from simulacra.metadata.multi import MultiTableMetadata, Relationship, TableMeta


def _shop() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    customers = pd.DataFrame({"name": [f"c{i}" for i in range(30)], "customer_id": np.arange(100, 130),
                              "age": rng.integers(18, 80, 30)})
    products = pd.DataFrame({"sku": [f"SKU-{i:03d}" for i in range(12)], "price": rng.uniform(1, 50, 12)})
    orders = pd.DataFrame({"order_id": np.arange(80), "customer_id": rng.choice(np.arange(100, 131), 80),
                           "placed": pd.date_range("2024-01-01", periods=80, freq="D")})
    lines = pd.DataFrame({"order_id": rng.choice(80, 200), "item": rng.choice(products["sku"], 200),
                          "qty": rng.integers(1, 5, 200)})
    return {"customers": customers, "products": products, "orders": orders, "lines": lines}


def test_detect_keys_foreign_keys_and_orphans() -> None:
    tables = _shop()
    meta = MultiTableMetadata.detect(tables)
    assert meta.tables["customers"].primary_key == ("customer_id",)  # the id name wins over the first column
    assert meta.tables["products"].primary_key == ("sku",)
    assert meta.tables["orders"].primary_key == ("order_id",)
    assert meta.tables["lines"].primary_key is None
    rels = {(r.child, r.child_key): r for r in meta.relationships}
    assert set(rels) == {("orders", ("customer_id",)), ("lines", ("order_id",)), ("lines", ("item",))}
    by_name = rels[("orders", ("customer_id",))]
    expected = float((~tables["orders"]["customer_id"].isin(tables["customers"]["customer_id"])).mean())
    assert by_name.orphan_rate == pytest.approx(expected) and expected > 0  # customer 130 does not exist
    assert rels[("lines", ("item",))].parent == "products"  # found by value containment, not by name
    assert meta.tables["orders"].order == "placed"
    assert meta.order().index("customers") < meta.order().index("orders") < meta.order().index("lines")


def test_composite_key_and_missing_foreign_keys() -> None:
    hours = pd.date_range("2024-01-01", periods=24, freq="h")
    weather = pd.DataFrame({"site": np.repeat(["A", "B"], 24), "time": np.tile(hours, 2), "temp": np.arange(48.0)})
    trips = pd.DataFrame({"site": ["A", "B", "A", "B", "A"], "time": hours[[0, 1, 2, 3, 5]],
                          "plane": ["P1", None, "P2", "P9", "P1"]})
    planes = pd.DataFrame({"plane": ["P1", "P2", "P3"], "seats": [100, 150, 200]})
    meta = MultiTableMetadata.detect({"weather": weather, "trips": trips, "planes": planes})
    assert meta.tables["weather"].primary_key == ("site", "time")
    rels = {r.child_key: r for r in meta.relationships}
    assert rels[("site", "time")].parent == "weather"
    plane = rels[("plane",)]
    assert plane.missing_rate == pytest.approx(0.2) and plane.orphan_rate == pytest.approx(0.25)


def test_validate_lists_every_problem_at_once() -> None:
    tables = _shop()
    tables["customers"] = pd.concat([tables["customers"], tables["customers"].iloc[[0]]], ignore_index=True)
    tables["orders"] = tables["orders"].assign(customer_id=tables["orders"]["customer_id"].astype(str))
    meta = MultiTableMetadata(
        tables={"customers": TableMeta(("customer_id",), {"customer_id": "integer", "age": "integer"}),
                "orders": TableMeta(("order_id",), {"order_id": "integer", "customer_id": "string"}),
                "lines": TableMeta(None, {"order_id": "integer"})},
        relationships=[Relationship("customers", ("customer_id",), "orders", ("customer_id",)),
                       Relationship("suppliers", ("id",), "orders", ("supplier",)),
                       Relationship("orders", ("order_id",), "lines", ("order_nr",)),
                       Relationship("lines", ("order_id",), "customers", ("age",))],
    )
    with pytest.raises(ValidationError) as info:
        meta.validate({k: v for k, v in tables.items() if k != "products"})
    text = str(info.value)
    assert "'suppliers' does not exist" in text
    assert "has no column(s) order_nr" in text
    assert "cycle" in text
    assert "holds string values but 'customers.customer_id' holds integer" in text
    assert "is not unique: 1 repeated" in text
    assert "is not the primary key of 'lines'" in text
    assert len(info.value.problems) >= 6


def test_validate_reports_each_problem_once_and_no_false_cycle() -> None:
    """A foreign key to a table that does not exist was also reported as 'a cycle among: orders', and a
    key type that differs in the metadata and in the data was listed twice in two wordings."""
    tables = _shop()
    tables["orders"] = tables["orders"].assign(customer_id=tables["orders"]["customer_id"].astype(str))
    meta = MultiTableMetadata(
        tables={"customers": TableMeta(("customer_id",), {"customer_id": "integer", "age": "integer"}),
                "orders": TableMeta(("order_id",), {"order_id": "integer", "customer_id": "string"})},
        relationships=[Relationship("customers", ("customer_id",), "orders", ("customer_id",)),
                       Relationship("suppliers", ("id",), "orders", ("supplier",))],
    )
    with pytest.raises(ValidationError) as info:
        meta.validate({k: tables[k] for k in ("customers", "orders")})
    problems = info.value.problems
    assert not any("cycle" in p for p in problems)
    assert sum("holds string values but 'customers.customer_id' holds integer" in p for p in problems) == 1
    assert len(problems) == 3  # the type, the missing table, the missing column


def test_detect_leaves_out_a_relationship_that_closes_a_cycle() -> None:
    a = pd.DataFrame({"a_id": [1, 2, 3], "b_id": [1, 1, 2]})
    b = pd.DataFrame({"b_id": [1, 2, 3], "a_id": [1, 2, 2]})
    meta = MultiTableMetadata.detect({"a": a, "b": b})
    assert len(meta.relationships) == 1
    meta.validate({"a": a, "b": b})


def test_json_round_trip_and_editing(tmp_path: Path) -> None:
    meta = MultiTableMetadata.detect(_shop())
    path = tmp_path / "shop.meta.json"
    meta.save(path)
    again = MultiTableMetadata.load(path)
    assert again == meta
    again.remove_relationship("lines", "item")
    assert ("lines", ("item",)) not in {(r.child, r.child_key) for r in again.relationships}
    again.add_relationship("products", "sku", "lines", ["item"])
    assert again.relationships[-1] == Relationship("products", ("sku",), "lines", ("item",))
    assert sim.MultiTableMetadata is MultiTableMetadata


def test_bad_files_and_inputs(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(MetadataError, match="not valid JSON"):
        MultiTableMetadata.load(tmp_path / "bad.json")
    with pytest.raises(MetadataError, match="'tables'"):
        MultiTableMetadata.from_dict({"relationships": []})
    with pytest.raises(MetadataError, match="newer"):
        MultiTableMetadata.from_dict({"schema_version": 99, "tables": {}})
    with pytest.raises(MetadataError, match="dict of name"):
        MultiTableMetadata.detect({})


def test_nycflights13_subset(datasets: Path) -> None:
    folder = datasets / "relational" / "nycflights13"
    tables = {n: pd.read_csv(folder / f"{n}.csv") for n in ("airlines", "airports", "planes", "weather")}
    tables["flights"] = pd.read_csv(folder / "flights_2013_01.csv", nrows=5000)
    meta = MultiTableMetadata.detect(tables)
    assert meta.tables["weather"].primary_key == ("origin", "time_hour")
    found = {(r.child, r.child_key, r.parent) for r in meta.relationships}
    assert {("flights", ("tailnum",), "planes"), ("flights", ("carrier",), "airlines"),
            ("flights", ("origin",), "airports"), ("flights", ("dest",), "airports"),
            ("flights", ("origin", "time_hour"), "weather")} <= found
    tail = next(r for r in meta.relationships if r.child_key == ("tailnum",))
    assert 0.05 < tail.orphan_rate < 0.3
    meta.validate(tables)


def test_measured_rates_follow_the_data() -> None:
    tables = _shop()
    meta = MultiTableMetadata.detect(tables)
    tables["orders"].loc[:9, "customer_id"] = np.nan
    rel = next(r for r in meta.measured(tables).relationships if r.child == "orders")
    assert rel.missing_rate == pytest.approx(10 / 80)


def test_a_relation_lost_to_a_repeated_parent_key_is_said_so() -> None:
    # planes with a tailnum twice: no key, so flights.tailnum -> planes.tailnum was dropped without a word
    rng = np.random.default_rng(1)
    tails = [f"N{i:04d}" for i in range(40)]
    planes = pd.DataFrame({"tailnum": tails + tails[:3], "year": rng.integers(1990, 2013, 43),
                           "seats": rng.choice([50, 150, 200], 43)})
    flights = pd.DataFrame({"flight": np.arange(300), "tailnum": rng.choice(tails, 300), "year": 2013})
    with pytest.warns(UserWarning, match=r"No relation to 'planes' was detected from flights\.tailnum: 'planes\.tailnum' "
                                         r"would be its key but has 3 duplicate value\(s\), e.g. 'N0000'\. De-duplicate"):
        meta = MultiTableMetadata.detect({"planes": planes, "flights": flights})
    assert meta.relationships == []
    planes.loc[40, "tailnum"] = None  # missing values are said too; a repeating attribute (year) is not a lost key
    with pytest.warns(UserWarning, match=r"has 2 duplicate value\(s\), e.g. 'N0001', 1 missing value\(s\)") as said:
        MultiTableMetadata.detect({"planes": planes, "flights": flights})
    assert not any("planes.year" in str(w.message) for w in said)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # de-duplicated: the relation is found and nothing is said
        meta = MultiTableMetadata.detect({"planes": planes.dropna().drop_duplicates("tailnum"), "flights": flights})
    assert [(r.parent, r.child) for r in meta.relationships] == [("planes", "flights")]
