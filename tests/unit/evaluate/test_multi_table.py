"""The multi-table report: per-table quality, cardinality, integrity, parent–child trends, privacy over
entities, the SDMetrics cross-check, outputs and bad input."""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import InputError
from simulacra.evaluate.multi_table import evaluate_tables
from simulacra.io import read_tables
from simulacra.evaluate.relational import Link, as_links, children_per_parent, integrity

RELS = [
    {"parent": "customers", "parent_key": "cid", "child": "orders", "child_key": "customer"},
    {"parent": "orders", "parent_key": ["shop", "order_no"], "child": "lines", "child_key": ["shop", "order_no"]},
]


def shop(seed: int, n: int = 80, *, shift: float = 0.0, orphans: float = 0.0, missing: float = 0.0) -> dict[str, pd.DataFrame]:
    """customers → orders (zero or more per customer) → lines (composite key shop + order_no)."""
    r = np.random.default_rng(seed)
    age = r.integers(18, 80, n)
    customers = pd.DataFrame({"cid": np.arange(n), "age": age, "segment": np.where(age > 50, "senior", r.choice(["a", "b"], n)),
                              "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(r.integers(0, 900, n), unit="D")})
    k = r.poisson(np.clip(age / 20 + shift, 0, None))
    m = int(k.sum())
    orders = pd.DataFrame({"shop": r.choice(["north", "south"], m), "order_no": np.arange(m),
                           "customer": np.repeat(customers["cid"].to_numpy(), k).astype(float),
                           "total": np.repeat(age, k) * r.gamma(2.0, 1.0, m) + 10 * shift,
                           "express": r.random(m) < np.repeat(age, k) / 100})
    bad = r.random(m) < orphans
    orders.loc[bad, "customer"] = 10_000 + np.arange(bad.sum())
    orders.loc[r.random(m) < missing, "customer"] = np.nan
    j = 1 + r.poisson(orders["express"].to_numpy() * 2)
    lines = pd.DataFrame({"shop": np.repeat(orders["shop"].to_numpy(), j), "order_no": np.repeat(orders["order_no"].to_numpy(), j),
                          "qty": r.integers(1, 5, int(j.sum())),
                          "price": np.repeat(orders["total"].to_numpy(), j) / 3 + r.normal(0, 1, int(j.sum()))})
    return {"customers": customers, "orders": orders, "lines": lines}


@pytest.fixture(scope="module")
def pair():
    return shop(0), shop(1, shift=0.7, orphans=0.05, missing=0.1)


@pytest.fixture(scope="module")
def report(pair):
    return evaluate_tables(*pair, RELS)


def _sdmetrics(real, synthetic, rep):
    sdm = pytest.importorskip("sdmetrics.reports.multi_table")
    one = (lambda k: k[0] if len(k) == 1 else list(k))
    meta = {"tables": {n: {"columns": {c: {"sdtype": t} for c, t in info["columns"].items()}}
                       for n, info in rep.info["tables"].items()},
            "relationships": [{"parent_table_name": r["parent"], "parent_primary_key": one(r["parent_key"]),
                               "child_table_name": r["child"], "child_foreign_key": one(r["child_key"])}
                              for r in rep.info["relationships"]]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sdm.QualityReport()  # the multi-table QualityReport (MultiTableQualityReport)
        theirs.generate(real, synthetic, meta, verbose=False)
    return theirs


def test_overall_score_agrees_with_sdmetrics(pair, report):
    theirs = _sdmetrics(*pair, report)
    assert report.quality == pytest.approx(theirs.get_score(), abs=0.01)
    props = theirs.get_properties().set_index("Property")["Score"]
    names = {"Column Shapes": "column_shapes", "Column Pair Trends": "column_pair_trends",
             "Cardinality": "cardinality", "Intertable Trends": "intertable_trends"}
    for theirs_name, ours in names.items():  # each property as SDMetrics measures it, not only the mean
        assert getattr(report, ours) == pytest.approx(props[theirs_name], abs=1e-6), ours
    assert report.quality < 0.95  # the shifted synthetic tables are not a trivial pass


def test_sdmetrics_agreement_holds_for_identical_and_for_degraded_tables(pair):
    real = pair[0]
    same = evaluate_tables(real, {k: v.copy() for k, v in real.items()}, RELS)
    assert same.quality == 1.0 and same.cardinality == 1.0
    worse = shop(5, shift=3.0)
    worse["customers"]["age"] = worse["customers"]["age"] * 2
    rep = evaluate_tables(real, worse, RELS)
    assert rep.quality == pytest.approx(_sdmetrics(real, worse, rep).get_score(), abs=0.01)
    assert rep.quality < same.quality - 0.1


def test_cardinality_counts_parents_without_children():
    link = Link("p", ("id",), "c", ("pid",))
    parent = pd.DataFrame({"id": [1, 2, 3, 4]})
    child = pd.DataFrame({"pid": [1.0, 1.0, 3.0, np.nan, 9.0]})
    assert children_per_parent(parent, link, child).tolist() == [2, 0, 1, 0]
    from simulacra.evaluate.relational import cardinality

    real = {"p": parent, "c": child}
    ones = {"p": parent, "c": pd.DataFrame({"pid": [1, 2, 3, 4]})}
    res = cardinality(real, ones, link)
    # real counts {2, 0, 1, 0}, synthetic {1, 1, 1, 1}: the CDFs differ most at 0 (0.5 vs 0)
    assert res["score"] == pytest.approx(0.5)
    assert res["summary"]["real"]["zero_share"] == 0.5 and res["summary"]["synthetic"]["zero_share"] == 0.0


def test_integrity_counts_orphans_missing_and_duplicate_keys():
    link = Link("p", ("id",), "c", ("pid",))
    parent = pd.DataFrame({"id": [1, 2, 2, 4]})
    child = pd.DataFrame({"pid": [1.0, 2.0, 7.0, np.nan, 8.0]})
    got = integrity(parent, link, child)
    assert got["missing_rate"] == pytest.approx(0.2)
    assert got["resolved"] == pytest.approx(0.5) and got["orphan_rate"] == pytest.approx(0.5)
    assert got["orphans"] == 2 and got["duplicate_parent_keys"] == 1


def test_report_integrity_figures(pair, report):
    syn = report.relationships[0]["integrity"]["synthetic"]
    real = report.relationships[0]["integrity"]["real"]
    assert real["orphan_rate"] == 0.0 and real["missing_rate"] == 0.0
    assert 0.01 < syn["orphan_rate"] < 0.12 and 0.04 < syn["missing_rate"] < 0.2
    assert report.fk_resolved < 1.0
    assert report.integrity_gap == pytest.approx(max(syn["orphan_rate"], syn["missing_rate"]))
    assert report.verdict["integrity"]["level"] == "poor"
    clean = evaluate_tables(pair[0], shop(2), RELS)
    assert clean.fk_resolved == 1.0 and clean.verdict["integrity"]["level"] == "good"


def test_keys_are_not_scored_and_composite_keys_join(report):
    cols = report.info["tables"]["orders"]["columns"]
    assert cols["customer"] == "id" and cols["shop"] == "id" and cols["order_no"] == "id"
    assert "customer" not in report.tables["orders"].results["column_shapes"].details["columns"]
    lines = report.relationships[1]
    assert lines["intertable_trends"]["joined_rows"]["real"] == report.info["tables"]["lines"]["rows"]["real"]
    pairs = {tuple(p["columns"]) for p in lines["intertable_trends"]["pairs"]}
    assert ("orders.total", "lines.price") in pairs and ("orders.total", "orders.express") not in pairs
    # the price of a line follows its order's total in both tables
    price = next(p for p in lines["intertable_trends"]["pairs"] if p["columns"] == ["orders.total", "lines.price"])
    assert price["real"] > 0.9 and price["counts"]


def test_relationships_in_every_accepted_form(pair):
    objs = [SimpleNamespace(parent=r["parent"], parent_key=tuple(np.atleast_1d(r["parent_key"])), child=r["child"],
                            child_key=tuple(np.atleast_1d(r["child_key"]))) for r in RELS]
    sdv = [{"parent_table_name": "customers", "parent_primary_key": "cid", "child_table_name": "orders",
            "child_foreign_key": "customer"}]
    meta_like = SimpleNamespace(relationships=objs)
    assert as_links(objs) == as_links(RELS) == as_links(meta_like)
    assert as_links(sdv) == as_links(RELS[:1])
    assert as_links(RELS)[1].parent_key == ("shop", "order_no")
    small = {k: v for k, v in pair[0].items() if k != "lines"}
    rep = evaluate_tables(small, small, meta_like.relationships[:1])
    assert rep.cardinality == 1.0


def test_keys_of_different_dtypes_still_resolve():
    link = Link("p", ("id",), "c", ("pid",))
    parent = pd.DataFrame({"id": [1, 2, 3]})
    child = pd.DataFrame({"pid": ["1", "1", "3"]})
    assert integrity(parent, link, child)["resolved"] == 1.0
    assert children_per_parent(parent, link, child).tolist() == [2, 0, 1]


def test_bad_input_gets_clear_errors(pair):
    real, syn = pair
    with pytest.raises(InputError, match="missing from the synthetic tables: lines"):
        evaluate_tables(real, {k: v for k, v in syn.items() if k != "lines"}, RELS)
    bad = [{"parent": "customers", "parent_key": "id", "child": "orders", "child_key": "customer"}]
    with pytest.raises(InputError, match=r"'customers' has no column 'id'"):
        evaluate_tables(real, syn, bad)
    with pytest.raises(InputError, match="no table 'shops'"):
        evaluate_tables(real, syn, [{"parent": "shops", "parent_key": "id", "child": "orders", "child_key": "shop"}])
    with pytest.raises(InputError, match="foreign key has 1 columns and the key it points to 2"):
        evaluate_tables(real, syn, [{"parent": "orders", "parent_key": ["shop", "order_no"], "child": "lines",
                                     "child_key": "order_no"}])
    empty = {**syn, "orders": syn["orders"].iloc[:0]}
    with pytest.raises(InputError, match="the synthetic table 'orders' is empty"):
        evaluate_tables(real, empty, RELS)
    with pytest.raises(InputError, match="dict of table name"):
        evaluate_tables(real["orders"], syn["orders"], RELS)
    with pytest.raises(InputError, match="has no 'child_key'"):
        evaluate_tables(real, syn, [{"parent": "customers", "parent_key": "cid", "child": "orders"}])
    extra = {k: v.assign(extra=1) if k == "customers" else v for k, v in syn.items()}
    with pytest.raises(InputError, match="Table 'customers'.*only in the synthetic table: extra"):
        evaluate_tables(real, extra, RELS)


def test_foreign_keys_that_never_resolve_are_reported_not_hidden(pair):
    real = pair[0]
    syn = {k: v.copy() for k, v in shop(3).items()}
    syn["orders"]["customer"] = syn["orders"]["customer"] + 100_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = evaluate_tables(real, syn, RELS[:1])
    assert rep.fk_resolved == 0.0 and rep.verdict["integrity"]["level"] == "poor"
    inter = rep.relationships[0]["intertable_trends"]
    assert inter["joined_rows"]["synthetic"] == 0 and "unjoined" in inter
    assert any("intertable trends meaningless" in w for w in rep.warnings)
    # scored as SDMetrics scores pairs against an empty join: contingency pairs 0.5, correlations left out
    assert {p["score"] for p in inter["pairs"] if p["counts"] and p["score"] is not None} == {0.5}
    assert rep.quality == pytest.approx(_sdmetrics(real, syn, rep).get_score(), abs=0.01)
    # every synthetic parent has no children: the CDFs differ by the real share of parents with some
    zero = rep.relationships[0]["cardinality"]["summary"]["real"]["zero_share"]
    assert rep.relationships[0]["cardinality"]["summary"]["synthetic"]["zero_share"] == 1.0
    assert rep.cardinality == pytest.approx(zero) and zero < 0.1
    assert rep.quality is not None


def test_entity_privacy_tells_copies_from_fresh_entities():
    train, hold = shop(10, n=150), shop(11, n=150)
    fresh = shop(12, n=150)
    copy = {k: v.copy() for k, v in train.items()}
    opts = sim.evaluate.EvalOptions(n_threads=1)
    good = evaluate_tables(train, fresh, RELS[:1], holdout=hold, options=opts)
    leak = evaluate_tables(train, copy, RELS[:1], holdout=hold, options=opts)
    assert 0.3 < good.entity_privacy["customers"]["dcr_share"] < 0.7
    assert leak.entity_privacy["customers"]["dcr_share"] > 0.9
    assert "orders:count" in leak.entity_privacy["customers"]["columns"]
    assert leak.privacy < good.privacy
    assert leak.tables["orders"].scores["dcr_share"] is not None  # per-table privacy too


def test_json_html_and_summary(tmp_path, report):
    data = json.loads(report.to_json(tmp_path / "r.json").read_text())
    assert data["quality"] == pytest.approx(report.quality)
    assert set(data["tables"]) == {"customers", "orders", "lines"}
    assert data["relationships"][1]["child_key"] == ["shop", "order_no"]
    assert data["tables"]["orders"]["metrics"]["column_shapes"]["details"]["columns"]["total"]["score"] is not None
    html = report.to_html(tmp_path / "r.html").read_text()
    for part in ('id="summary"', 'id="tables"', 'id="relationships"', 'id="integrity"', 'id="privacy"',
                 "orders.customer → customers.cid", "data:image/png;base64,"):
        assert part in html
    text = str(report.summary())
    assert "cardinality" in text and "orders.shop,order_no → orders" not in text and "lines.shop,order_no" in text


def test_folders_of_tables(tmp_path, pair):
    for role, tables in zip(("real", "synthetic"), pair):
        (tmp_path / role).mkdir()
        for name, frame in tables.items():
            frame.to_csv(tmp_path / role / f"{name}.csv", index=False)
    assert set(read_tables(tmp_path / "real")) == {"customers", "orders", "lines"}
    rep = evaluate_tables(tmp_path / "real", tmp_path / "synthetic", RELS)
    assert rep.cardinality == pytest.approx(evaluate_tables(*pair, RELS).cardinality)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(InputError, match="holds no table"):
        read_tables(tmp_path / "nothing")


def test_public_name():
    assert sim.evaluate_tables is evaluate_tables


def test_relationships_from_multi_table_metadata_object_file_or_detection(tmp_path, pair):
    from simulacra.metadata.multi import MultiTableMetadata

    real, syn = pair
    meta = MultiTableMetadata.detect(real)
    detected = {(r.child, r.child_key, r.parent) for r in meta.relationships}
    assert ("lines", ("order_no",), "orders") in detected
    meta.add_relationship("customers", "cid", "orders", "customer")
    meta.save(tmp_path / "shop.meta.json")
    for rep in (evaluate_tables(real, syn, metadata=meta), evaluate_tables(real, syn, meta),
                evaluate_tables(real, syn, metadata=tmp_path / "shop.meta.json")):
        names = {r["name"] for r in rep.relationships}
        assert "orders.customer → customers.cid" in names and len(names) == len(meta.relationships)
        assert rep.info["tables"]["orders"]["columns"]["customer"] == "id"
        assert rep.info["tables"]["orders"]["columns"]["order_no"] == "id"  # a primary key: not scored
    auto = evaluate_tables(real, syn)
    assert {r["name"] for r in auto.relationships} == {f"{c}.{k[0]} → {p}.{k[0]}" for c, k, p in detected}
    # a primary key no relationship names is still a key (not scored), however the metadata comes
    plain = MultiTableMetadata.detect(real)
    assert plain.tables["customers"].primary_key == ("cid",) and "customers" not in {r.parent for r in plain.relationships}
    for rep in (auto, evaluate_tables(real, syn, plain), evaluate_tables(real, syn, metadata=plain)):
        assert rep.info["tables"]["customers"]["columns"]["cid"] == "id"
    as_list = evaluate_tables(real, syn, list(plain.relationships))
    assert as_list.info["tables"]["customers"]["columns"]["cid"] == "numerical"  # nothing says it is a key


def _write(folder, tables):
    folder.mkdir()
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)


def test_cli_evaluates_folders_of_tables(tmp_path, pair, capsys):
    from simulacra.cli.main import main
    from simulacra.metadata.multi import MultiTableMetadata

    real, syn = pair
    _write(tmp_path / "shop", real)
    _write(tmp_path / "synthetic_shop", syn)
    _write(tmp_path / "holdout", shop(9))
    meta = MultiTableMetadata.detect(real).add_relationship("customers", "cid", "orders", "customer")
    meta.save(tmp_path / "shop.meta.json")
    main(["evaluate", str(tmp_path / "shop"), str(tmp_path / "synthetic_shop"), "--holdout", str(tmp_path / "holdout"),
          "--metadata", str(tmp_path / "shop.meta.json"), "--json", str(tmp_path / "r.json")])
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["relationships"]) == len(meta.relationships) and data["cardinality"] is not None
    assert data["entity_privacy"]["customers"]["dcr_share"] is not None
    out = capsys.readouterr().out
    assert "orders.customer →" in out and "customers.cid" in out and "intertable_trends" in out


def test_cli_folder_errors_and_single_table_folders(tmp_path, pair, capsys):
    from simulacra.cli.main import main

    real, syn = pair
    _write(tmp_path / "a", real)
    _write(tmp_path / "b", {k: v for k, v in syn.items() if k != "lines"})
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(tmp_path / "a"), str(tmp_path / "b")])
    assert exc.value.code == 2 and "missing from the synthetic tables: lines" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(tmp_path / "a"), str(tmp_path / "a"), "--target", "age"])
    assert exc.value.code == 2 and "not to folders of tables" in capsys.readouterr().err
    # one table stored as Parquet parts is still one table: the single-table report
    for role, frame in (("p_real", real["orders"]), ("p_syn", syn["orders"])):
        (tmp_path / role).mkdir()
        frame.iloc[: len(frame) // 2].to_parquet(tmp_path / role / "part-0.parquet")
        frame.iloc[len(frame) // 2:].to_parquet(tmp_path / role / "part-1.parquet")
    main(["evaluate", str(tmp_path / "p_real"), str(tmp_path / "p_syn"), "--json", str(tmp_path / "one.json")])
    one = json.loads((tmp_path / "one.json").read_text())
    assert "column_shapes" in one and "relationships" not in one


def test_self_reference_datetime_keys_and_composite_entities():
    from simulacra.evaluate.relational import entity_frame

    rng = np.random.default_rng(0)
    n = 120
    staff = pd.DataFrame({"id": np.arange(n), "boss": np.r_[np.nan, rng.integers(0, 10, n - 1)],
                          "pay": rng.gamma(3, 10, n)})
    staff["pay"] += np.where(staff["boss"] < 5, 30, 0)
    rel = [{"parent": "staff", "parent_key": "id", "child": "staff", "child_key": "boss"}]
    rep = evaluate_tables({"staff": staff}, {"staff": staff.copy()}, rel)
    pairs = rep.relationships[0]["intertable_trends"]["pairs"]
    assert ["staff[parent].pay", "staff.pay"] in [p["columns"] for p in pairs]
    assert rep.cardinality == 1.0 and rep.relationships[0]["integrity"]["real"]["missing_rate"] == pytest.approx(1 / n)
    # a datetime key read as text on one side still resolves
    hours = pd.DataFrame({"at": pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC"), "temp": range(5)})
    events = pd.DataFrame({"at": ["2024-01-01T01:00:00Z", "2024-01-01T01:00:00Z", "2024-01-01T04:00:00Z"]})
    assert children_per_parent(hours, Link("hours", ("at",), "events", ("at",)), events).tolist() == [0, 2, 0, 0, 1]
    # entities of a parent with a composite key: counts and means per (shop, order_no)
    real = shop(0)
    link = Link("orders", ("shop", "order_no"), "lines", ("shop", "order_no"))
    metas = {k: sim.Metadata.detect(v) for k, v in real.items()}
    ent = entity_frame(real, "orders", [link], metas)
    assert len(ent) == len(real["orders"]) and ent["lines:count"].sum() == len(real["lines"])
    first = real["lines"][(real["lines"]["shop"] == real["orders"]["shop"][0]) & (real["lines"]["order_no"] == 0)]
    assert ent["lines:qty:mean"][0] == pytest.approx(first["qty"].mean())


def test_table_metrics_and_a_holdout_of_some_tables(pair):
    real, syn = pair
    opts = sim.evaluate.EvalOptions(detection_rows=200, privacy_rows=100, reference_rows=200, n_threads=1)
    rep = evaluate_tables(real, syn, RELS, holdout={"customers": shop(4)["customers"]},
                          table_metrics=["quality", "detection_auc"], options=opts)
    assert all(t.scores["detection_auc"] is not None for t in rep.tables.values())
    assert rep.tables["customers"].scores["dcr_share"] is not None
    assert rep.tables["orders"].scores.get("dcr_share") is None
    assert rep.entity_privacy == {}  # no holdout children: no entities to compare
    with pytest.raises(InputError, match="holdout table\\(s\\) not among the real tables: shops"):
        evaluate_tables(real, syn, RELS, holdout={"shops": real["orders"]})


def test_spark_parts_are_one_table(tmp_path, pair):
    from simulacra.cli.relational import is_database

    (tmp_path / "spark").mkdir()
    pair[0]["orders"].to_parquet(tmp_path / "spark" / "part-00000-3f2a-c000.snappy.parquet")
    (tmp_path / "spark" / "_SUCCESS").write_text("")
    assert not is_database(tmp_path / "spark")
    _write(tmp_path / "db", pair[0])
    assert is_database(tmp_path / "db")


def _with_regions(tables: dict[str, pd.DataFrame], seed: int, regions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    out = {k: v.copy() for k, v in tables.items()}
    out["customers"]["region"] = np.random.default_rng(seed).integers(0, len(regions), len(out["customers"]))
    out["regions"] = regions
    return out


def test_fixed_tables_are_left_out_of_privacy(tmp_path):
    # a public lookup table kept as it is at fit (--fixed) is the real table: not a leak, and not scored as one
    from simulacra.evaluate.report import privacy_score

    r = np.random.default_rng(5)
    regions = pd.DataFrame({"rid": np.arange(40), "name": [f"r{i}" for i in range(40)], "pop": r.gamma(2, 1e5, 40)})
    rels = RELS[:1] + [{"parent": "regions", "parent_key": "rid", "child": "customers", "child_key": "region"}]
    train, fresh = _with_regions(shop(10, n=150), 10, regions), _with_regions(shop(12, n=150), 12, regions)
    hold = _with_regions(shop(11, n=40), 11, regions)  # a fifth of the rows; the lookup copied whole, as a split does
    opts = sim.evaluate.EvalOptions(n_threads=1)
    told = evaluate_tables(train, fresh, rels, holdout=hold, options=opts, fixed=["regions"])
    assert told.info["fixed"] == {"regions": "kept as it is at fit (fixed)"}
    assert told.tables["regions"].scores.get("dcr_share") is None and "regions" not in told.entity_privacy
    assert told.privacy == min([s["privacy"] for n, s in told.table_scores().items() if n != "regions"] +
                               [privacy_score(e) for e in told.entity_privacy.values()])
    assert any("copied whole (fixed): regions: left out of the privacy" in w for w in told.warnings)
    assert "copied whole (fixed)" in str(told.summary())
    html = told.to_html(tmp_path / "r.html").read_text()
    assert "left out of the privacy measures: <code>regions</code>" in html
    # not told: the same copy is scored (a synthesizer that copies a table leaks it), and the warning says how
    # to name a fixed table; the fixed parent's entities look like training ones by their child counts alone
    untold = evaluate_tables(train, fresh, rels, holdout=hold, options=opts)
    assert untold.info["fixed"] == {} and untold.tables["regions"].scores["dcr_share"] is not None
    assert untold.entity_privacy["regions"]["dcr_share"] > 0.75 and untold.privacy < told.privacy
    assert any("regions: the synthetic rows are exactly the real rows" in w and "--model" in w for w in untold.warnings)
    with pytest.raises(InputError, match="fixed names table\\(s\\) not among the real tables: shops"):
        evaluate_tables(train, fresh, rels, holdout=hold, fixed=["shops"])


def test_cli_evaluate_leaves_out_the_tables_the_model_fixed(tmp_path, capsys):
    from simulacra.cli.main import main

    r = np.random.default_rng(6)
    regions = pd.DataFrame({"rid": np.arange(30), "name": [f"r{i}" for i in range(30)], "pop": r.gamma(2, 1e5, 30)})
    real, hold = (_with_regions({"customers": shop(seed, n=n)["customers"]}, seed, regions) for seed, n in ((20, 120), (21, 60)))
    for tables in (real, hold):  # named so that the relation is detected
        tables["customers"] = tables["customers"].rename(columns={"region": "rid"})
    _write(tmp_path / "db", real)
    _write(tmp_path / "hold", hold)
    main(["fit", str(tmp_path / "db"), "--fixed", "regions", "-o", str(tmp_path / "db.model"), "--seed", "0"])
    main(["sample", str(tmp_path / "db.model"), "-o", str(tmp_path / "syn"), "--seed", "0"])
    base = ["evaluate", str(tmp_path / "db"), str(tmp_path / "syn"), "--holdout", str(tmp_path / "hold")]
    main(base + ["--model", str(tmp_path / "db.model"), "--json", str(tmp_path / "r.json")])
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["info"]["fixed"] == {"regions": "kept as it is at fit (fixed)"}
    assert data["tables"]["regions"].get("dcr_share") is None and "regions" not in data["entity_privacy"]
    assert data["relationships"][0]["parent"] == "regions", (data["relationships"], list(data["entity_privacy"]))
    said = capsys.readouterr()
    assert "left out of the privacy measures" in " ".join((said.out + said.err).split())
    main(base + ["--fixed", "regions", "--json", str(tmp_path / "f.json")])  # the same, named by hand
    assert json.loads((tmp_path / "f.json").read_text())["info"]["fixed"] == data["info"]["fixed"]
    main(base + ["--json", str(tmp_path / "n.json")])  # not named: scored, and the warning says how to name it
    assert json.loads((tmp_path / "n.json").read_text())["tables"]["regions"]["dcr_share"] is not None
    said = capsys.readouterr()
    assert "exactly the real rows" in " ".join((said.out + said.err).split())
    real["customers"].to_csv(tmp_path / "one.csv", index=False)
    main(["fit", str(tmp_path / "one.csv"), "-o", str(tmp_path / "one.model"), "--model", "copula"])
    for extra, says in ((["--model", str(tmp_path / "one.model")], "is not a model of related tables"),):
        with pytest.raises(SystemExit) as exc:
            main(base + extra)
        assert exc.value.code == 2 and says in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(tmp_path / "one.csv"), str(tmp_path / "one.csv"), "--fixed", "regions"])
    assert exc.value.code == 2 and "does not apply to one table" in capsys.readouterr().err
