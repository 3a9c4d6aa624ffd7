"""Sequence children inside a database: a shop's customers with their orders as histories over time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulacra as sim
from simulacra.errors import InputError, MetadataError, ValidationError
from simulacra.metadata.multi import MultiTableMetadata
from simulacra.tabular.relational import RelationalSynthesizer


def _shop(seed: int = 0, n: int = 300) -> dict[str, pd.DataFrame]:
    """Customers, and each one's orders: a history whose totals drift slowly (autocorrelated), whose
    channel never changes within a customer (a static attribute) and whose gaps depend on the segment."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(["gold", "basic"], n, p=[0.4, 0.6])
    customers = pd.DataFrame({"customer_id": np.arange(1, n + 1), "segment": segment, "age": rng.integers(18, 80, n)})
    rows = []
    for cid, seg in zip(customers["customer_id"], segment):
        k = int(rng.integers(3, 16)) if seg == "gold" else int(rng.integers(1, 8))
        gaps = rng.exponential(5.0 if seg == "gold" else 20.0, k).round() + 1
        day = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum(gaps), unit="D")
        level = (200.0 if seg == "gold" else 40.0) * np.exp(np.cumsum(rng.normal(0, 0.1, k)))
        channel = rng.choice(["web", "store"])
        rows += [(cid, d, round(float(v), 2), channel) for d, v in zip(day, level)]
    orders = pd.DataFrame(rows, columns=["customer_id", "date", "total", "channel"])
    orders.insert(0, "order_id", np.arange(len(orders)))
    return {"customers": customers, "orders": orders}


def _lag1(df: pd.DataFrame, entity: str, col: str) -> float:
    x = np.log(df[col].to_numpy(dtype=float))
    prev = np.log(df.groupby(entity)[col].shift(1).to_numpy(dtype=float))
    ok = np.isfinite(prev) & np.isfinite(x)
    return float(np.corrcoef(x[ok], prev[ok])[0, 1])


def test_metadata_declares_detects_validates_and_round_trips(tmp_path: Path) -> None:
    tables = _shop()
    meta = MultiTableMetadata.detect(tables, sequences={"orders": "customer_id"})
    orders = meta.tables["orders"]
    assert orders.sequence == ("customer_id",) and orders.order == "date" and orders.statics == ["channel"]
    meta.validate(tables)
    meta.save(tmp_path / "m.json")
    again = MultiTableMetadata.load(tmp_path / "m.json")
    assert again.to_dict() == meta.to_dict() and again.tables["orders"].statics == ["channel"]
    assert MultiTableMetadata.detect(tables).tables["orders"].sequence is None  # declared, never assumed

    bad = {**tables, "orders": tables["orders"].copy()}
    bad["orders"].loc[1, "date"] = bad["orders"].loc[0, "date"]  # a tie inside customer 1's history
    bad["orders"].loc[bad["orders"]["customer_id"] == 2, "channel"] = ["web", "store", *["web"] * 20][
        : int((bad["orders"]["customer_id"] == 2).sum())]
    with pytest.raises(ValidationError) as err:
        meta.validate(bad)
    text = str(err.value)
    assert "has ties" in text and "'channel'" in text and "changes within" in text
    # dates mixed with numbers (as a CSV reads them: all text) were reported as ties between the numbers
    mixed = {**tables, "orders": tables["orders"].assign(date=tables["orders"]["date"].astype(str))}
    mixed["orders"].loc[mixed["orders"].index[::4], "date"] = "17"
    with pytest.raises(ValidationError) as err:
        meta.validate(mixed)
    problems = err.value.problems
    assert any("Order column 'date' mixes dates" in p and "and numbers (e.g. '17')" in p and "sequence 'orders'" in p
               for p in problems)
    assert not any("has ties" in p for p in problems)
    with pytest.raises(MetadataError, match="no foreign key age"):
        MultiTableMetadata.detect(tables).set_sequence("orders", "age")
    broken = MultiTableMetadata.from_dict({**meta.to_dict()})
    broken.tables["orders"].order = None
    assert any("no order column" in p for p in broken.problems())


def test_histories_keep_order_statics_lengths_and_autocorrelation(tmp_path: Path) -> None:
    tables = _shop()
    meta = MultiTableMetadata.detect(tables, sequences={"orders": "customer_id"})
    synth = RelationalSynthesizer(metadata=meta, random_state=0).fit(tables)
    assert synth.describe()["tables"]["orders"]["sequence_order"] == "date"
    fake = synth.sample(random_state=1)
    orders, customers = fake["orders"], fake["customers"]
    assert orders["customer_id"].isin(customers["customer_id"]).all()
    assert not orders.duplicated(["customer_id", "date"]).any()
    by = orders.groupby("customer_id", sort=False)
    assert by["date"].apply(lambda s: s.is_monotonic_increasing).all()  # in the table's row order too
    assert (by["channel"].nunique() == 1).all()  # a static attribute is constant in every history
    gold = customers.set_index("customer_id")["segment"].eq("gold")
    sizes = by.size()
    assert sizes[gold.reindex(sizes.index).to_numpy()].mean() > 2 * sizes[~gold.reindex(sizes.index).to_numpy()].mean()
    real_lag, fake_lag = _lag1(tables["orders"], "customer_id", "total"), _lag1(orders, "customer_id", "total")
    plain = RelationalSynthesizer(random_state=0).fit(tables).sample(random_state=1)["orders"]
    plain_lag = _lag1(plain.sort_values(["customer_id", "date"]), "customer_id", "total")
    assert abs(fake_lag - real_lag) < 0.1 and fake_lag > plain_lag + 0.05
    report = sim.evaluate_tables(tables, fake, metadata=meta)  # the history figures of the report
    seq = report.sequences["orders"]
    assert seq["real"]["repeated_pairs"] == seq["synthetic"]["repeated_pairs"] == 0
    assert seq["synthetic"]["statics_constant"] == {"channel": 1.0} and seq["gaps_ks"] > 0.8
    assert abs(seq["synthetic"]["lag1"]["total"] - seq["real"]["lag1"]["total"]) < 0.1
    assert "histories of orders" in str(report.summary()) and report.to_dict()["sequences"]["orders"]["order"] == "date"
    assert "Histories of sequence children" in report.to_html(tmp_path / "report.html").read_text()
    loose = sim.evaluate_tables(tables, {**fake, "orders": plain}, metadata=meta).sequences["orders"]
    assert loose["synthetic"]["statics_constant"]["channel"] < 0.9 and loose["synthetic"]["repeated_pairs"] > 0
    synth.save(tmp_path / "shop.model")
    again = sim.load(tmp_path / "shop.model")
    pd.testing.assert_frame_equal(again.sample(random_state=4)["orders"], synth.sample(random_state=4)["orders"])


def test_a_sequence_child_with_orphans_is_refused() -> None:
    tables = _shop(n=60)
    tables["orders"].loc[:4, "customer_id"] = 9_999
    meta = MultiTableMetadata.detect(tables, sequences={"orders": "customer_id"})
    with pytest.raises(InputError, match="5 row\\(s\\) whose customer_id is missing or absent"):
        RelationalSynthesizer(metadata=meta, random_state=0).fit(tables)


def test_max_rows_fits_on_whole_histories() -> None:
    tables = _shop(n=120)
    meta = MultiTableMetadata.detect(tables, sequences={"orders": "customer_id"})
    synth = RelationalSynthesizer(metadata=meta, random_state=0, max_rows=200).fit(tables)
    assert synth.models_["orders"].n_training_rows_ <= 200 < len(tables["orders"])
    assert synth.models_["orders"].n_entities_ >= 20  # whole histories of randomly chosen customers
    fake = synth.sample(random_state=0)
    counts = fake["orders"]["customer_id"].value_counts()
    assert counts.sum() == len(fake["orders"]) and (fake["orders"].groupby("customer_id")["channel"].nunique() == 1).all()


def test_a_fixed_parent_and_scale() -> None:
    """Regression: a fixed parent's key was passed to the sequence model as static context (an identifier)."""
    tables = _shop(n=100)
    meta = MultiTableMetadata.detect(tables, sequences={"orders": "customer_id"})
    synth = RelationalSynthesizer(metadata=meta, random_state=0, fixed=["customers"]).fit(tables)
    fake = synth.sample(scale=2, random_state=0)
    pd.testing.assert_frame_equal(fake["customers"], tables["customers"])
    per = fake["orders"].groupby("customer_id")
    assert len(fake["orders"]) == 2 * len(tables["orders"])  # a fixed parent's histories grow with scale
    assert per["date"].apply(lambda s: s.is_monotonic_increasing and s.is_unique).all()
    assert synth.sample(scale=0, random_state=0)["orders"].empty


def test_sequence_children_take_the_sequence_options(tmp_path: Path) -> None:
    """``sequence_params`` reaches every sequence child's model (entity volatility levels for the orders);
    an option that the relational model sets itself is refused."""
    rng = np.random.default_rng(0)
    customers = pd.DataFrame({"customer_id": np.arange(1, 61), "segment": rng.choice(["gold", "basic"], 60)})
    rows = []
    for cid in customers["customer_id"]:  # a balance that moves by steps of an own size: calm or wild customers
        level = 100 * np.exp(np.cumsum(rng.normal(0, rng.choice([0.01, 0.05]), 30)))
        day = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.cumsum(rng.integers(1, 9, 30)), unit="D")
        rows += [(cid, d, round(float(v), 2)) for d, v in zip(day, level)]
    orders = pd.DataFrame(rows, columns=["customer_id", "date", "total"])
    orders.insert(0, "order_id", np.arange(len(orders)))
    tables = {"customers": customers, "orders": orders}
    meta = MultiTableMetadata.detect(tables, sequences={"orders": "customer_id"})
    synth = RelationalSynthesizer(metadata=meta, random_state=0, sequence_params={"entity_volatility": True}).fit(tables)
    orders = synth.models_["orders"]
    assert orders.entity_volatility is True and orders.entity_sizes_
    assert not RelationalSynthesizer(metadata=meta, random_state=0).fit(tables).models_["orders"].entity_sizes_
    fake = synth.sample(random_state=1)
    assert fake["orders"]["customer_id"].isin(fake["customers"]["customer_id"]).all()
    again = sim.load(synth.save(tmp_path / "shop.model"))
    assert again.models_["orders"].entity_sizes_ and again.get_params()["sequence_params"] == {"entity_volatility": True}
    pd.testing.assert_frame_equal(again.sample(random_state=4)["orders"], synth.sample(random_state=4)["orders"])
    with pytest.raises(InputError, match="sequence_params: order cannot be set"):
        RelationalSynthesizer(metadata=meta, sequence_params={"order": "date"}).fit(tables)
    for bad in (["entity_volatility"], "entity_volatility"):  # names without values: a dict is needed
        with pytest.raises(InputError, match="sequence_params must be a dict"):
            RelationalSynthesizer(metadata=meta, sequence_params=bad).fit(tables)
    flat = MultiTableMetadata.detect(tables)  # no sequence child: the options cannot act, and the user is told
    with pytest.warns(UserWarning, match="sequence_params .entity_volatility. had no effect"):
        RelationalSynthesizer(metadata=flat, random_state=0, sequence_params={"entity_volatility": True}).fit(tables)


def test_a_sequence_child_of_too_few_parents_is_warned_by_name() -> None:
    """Three stations' histories (weather by its three airports): too few entities for the privacy floor."""
    tables = _shop(n=3)
    meta = MultiTableMetadata.detect(tables, sequences={"orders": "customer_id"})
    with pytest.warns(UserWarning, match=r"Table 'orders' \(histories of each parent row\): Only 3 entities"):
        RelationalSynthesizer(metadata=meta, random_state=0, fixed=["customers"]).fit(tables)
