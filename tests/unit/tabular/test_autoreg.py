"""The default synthesizer: shapes, seeds, dependence, conditions, privacy floors, persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import ConstraintError, InputError, NotFittedError
from simulacra.tabular import _autoreg_columns as autoreg_columns
from simulacra.tabular._leaftrees import LeafTree
from simulacra.tabular.autoreg import CATEGORY_DEPTH, AutoregressiveSynthesizer
from simulacra.tabular.persistence import load as load_model
from simulacra.tabular.registry import default_synthesizer_name


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.normal(50, 10, n)
    group = np.where(x + rng.normal(0, 5, n) > 50, "high", "low")
    city = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    amount = np.where(rng.random(n) < 0.6, 0.0, np.round(rng.lognormal(5, 1, n), 2))
    score = x * 2 + rng.normal(0, 3, n)
    score[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({"x": x, "group": group, "city": city, "amount": amount, "score": score,
                         "flag": rng.random(n) < 0.3})


@pytest.fixture(scope="module")
def fitted(table: pd.DataFrame) -> AutoregressiveSynthesizer:
    return AutoregressiveSynthesizer(random_state=0).fit(table)


def test_is_the_default_model() -> None:
    assert default_synthesizer_name() == "autoreg"


def test_sample_shape_dtypes_and_marginals(fitted: AutoregressiveSynthesizer, table: pd.DataFrame) -> None:
    rows = fitted.sample(5000, random_state=1)
    assert list(rows.columns) == list(table.columns) and len(rows) == 5000
    assert rows["flag"].dtype == bool
    assert set(rows["group"]) <= {"high", "low"}
    assert abs(rows["x"].mean() - table["x"].mean()) < 1.0
    assert abs((rows["amount"] == 0).mean() - 0.6) < 0.04  # the point mass is kept
    assert abs(rows["score"].isna().mean() - 0.1) < 0.03  # missing values too


def test_dependence_is_learned(fitted: AutoregressiveSynthesizer) -> None:
    rows = fitted.sample(5000, random_state=2)
    assert rows["x"].corr(rows["score"]) > 0.9
    high = rows.loc[rows["group"] == "high", "x"].mean()
    low = rows.loc[rows["group"] == "low", "x"].mean()
    assert high - low > 8


def test_same_seed_same_rows(table: pd.DataFrame, fitted: AutoregressiveSynthesizer) -> None:
    pd.testing.assert_frame_equal(fitted.sample(300, random_state=5), fitted.sample(300, random_state=5))
    other = AutoregressiveSynthesizer(random_state=0).fit(table)
    pd.testing.assert_frame_equal(fitted.sample(300, random_state=5), other.sample(300, random_state=5))


def test_no_training_row_is_copied(fitted: AutoregressiveSynthesizer, table: pd.DataFrame) -> None:
    rows = fitted.sample(3000, random_state=3)
    real = set(map(tuple, table[["x", "score"]].round(6).to_numpy()))
    copies = sum(t in real for t in map(tuple, rows[["x", "score"]].round(6).to_numpy()))
    assert copies == 0
    assert not any(isinstance(v, pd.DataFrame) for v in vars(fitted).values())


def test_rare_levels_and_extremes_are_protected() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"v": rng.normal(size=2000), "c": ["common"] * 1998 + ["rare1", "rare2"]})
    df.loc[0, "v"] = 1000.0  # an outlier
    rows = AutoregressiveSynthesizer(random_state=0, min_category_count=5).fit(df).sample(5000, random_state=0)
    assert not rows["c"].isin(["rare1", "rare2"]).any()
    assert rows["v"].max() < 10


def test_conditions_give_exactly_n_matching_rows(fitted: AutoregressiveSynthesizer) -> None:
    rows = fitted.sample(1000, random_state=4, conditions={"group": "high"})
    assert len(rows) == 1000 and (rows["group"] == "high").all()
    assert rows["x"].mean() > 52  # the rest follows the condition
    rows = fitted.sample(500, random_state=4, conditions={"city": "d", "flag": True})
    assert len(rows) == 500 and (rows["city"] == "d").all() and rows["flag"].all()
    rows = fitted.sample(200, random_state=4, conditions={"amount": 0.0})
    assert (rows["amount"] == 0).all()
    rows = fitted.sample(200, random_state=4, conditions={"score": None})
    assert rows["score"].isna().all()


def test_impossible_conditions_raise(fitted: AutoregressiveSynthesizer) -> None:
    with pytest.raises(ConstraintError, match="never learned"):
        fitted.sample(10, conditions={"city": "zzz"})
    with pytest.raises(ConstraintError, match="range"):
        fitted.sample(10, conditions={"x": 1e9})
    with pytest.raises(ConstraintError, match="no missing"):
        fitted.sample(10, conditions={"x": None})


def test_save_and_load_give_the_same_rows(fitted: AutoregressiveSynthesizer, tmp_path) -> None:
    path = fitted.save(tmp_path / "m.zip")
    loaded = load_model(path)
    pd.testing.assert_frame_equal(fitted.sample(400, random_state=9), loaded.sample(400, random_state=9))
    cond = {"group": "low"}
    pd.testing.assert_frame_equal(
        fitted.sample(100, random_state=9, conditions=cond), loaded.sample(100, random_state=9, conditions=cond)
    )


def test_works_without_lightgbm(table: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(autoreg_columns, "lightgbm_available", lambda: False)
    model = AutoregressiveSynthesizer(random_state=0).fit(table)
    assert all(type(m["value"]).__name__ == "LeafTree" for m in model.models_.values() if "value" in m)
    assert len(model.sample(100)) == 100


def test_forest_honest_and_order_options(table: pd.DataFrame) -> None:
    model = AutoregressiveSynthesizer(random_state=0, order="predictability").fit(table)
    assert sorted(model.chain_) == sorted(table.columns) and model.chain_[-1] in ("x", "score")
    for params in ({"n_trees": 3}, {"honest": True}, {"boost_numbers": False}):
        rows = AutoregressiveSynthesizer(random_state=0, **params).fit(table).sample(2000, random_state=0)
        assert rows["x"].corr(rows["score"]) > 0.85


def test_errors(table: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError):
        AutoregressiveSynthesizer().sample(3)
    with pytest.raises(InputError, match="min_samples_leaf"):
        AutoregressiveSynthesizer(min_samples_leaf=0).fit(table)
    with pytest.raises(InputError, match="max_depth"):
        AutoregressiveSynthesizer(max_depth=0).fit(table)
    with pytest.raises(InputError, match="category_depth"):
        AutoregressiveSynthesizer(category_depth=2.5).fit(table)
    with pytest.raises(InputError, match="order"):
        AutoregressiveSynthesizer(order=["nope"]).fit(table)
    with pytest.raises(InputError, match="order"):
        AutoregressiveSynthesizer(order="random").fit(table)


def test_describe(fitted: AutoregressiveSynthesizer) -> None:
    info = fitted.describe()
    assert info["model"] == "autoreg" and info["chain"][0] == "x"
    assert info["columns"]["amount"]["cells"] >= 2


@pytest.fixture(scope="module")
def priced() -> pd.DataFrame:
    """A price placed first that the columns after it explain together (kc_house's layout)."""
    rng = np.random.default_rng(3)
    n = 4000
    size = rng.lognormal(7.5, 0.4, n)
    quality = rng.integers(1, 11, n)
    lat = rng.uniform(47.2, 47.8, n)
    age = rng.integers(0, 100, n)
    log_price = 5 + 0.9 * np.log(size) + 0.12 * quality + 2.0 * (lat - 47.5) - 0.002 * age + rng.normal(0, 0.15, n)
    return pd.DataFrame({"price": np.round(np.exp(log_price), -2), "size": np.round(size), "quality": quality,
                         "lat": lat, "age": age})


@pytest.fixture(scope="module")
def priced_model(priced: pd.DataFrame) -> AutoregressiveSynthesizer:
    return AutoregressiveSynthesizer(random_state=0).fit(priced)


def test_a_target_placed_first_is_redrawn_given_the_row(
    priced_model: AutoregressiveSynthesizer, priced: pd.DataFrame
) -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import r2_score

    assert priced_model.refine_ == ["price"] and priced_model.describe()["refined"] == ["price"]
    assert "spread" in priced_model.refined_["price"]  # residual mode on the normal scale
    train, test = priced.iloc[:3000], priced.iloc[3000:]
    X = ["size", "quality", "lat", "age"]

    def r2(frame: pd.DataFrame) -> float:
        model = HistGradientBoostingRegressor(random_state=0).fit(frame[X], np.log(frame["price"]))
        return r2_score(np.log(test["price"]), model.predict(test[X]))

    plain = AutoregressiveSynthesizer(random_state=0, refine=None).fit(train)
    refined = AutoregressiveSynthesizer(random_state=0).fit(train)
    real = r2(train)
    assert r2(refined.sample(3000, random_state=1)) > max(r2(plain.sample(3000, random_state=1)), 0.9 * real)


def test_tail_cells_keep_a_skewed_column_wide(priced_model: AutoregressiveSynthesizer, priced: pd.DataFrame) -> None:
    cells = priced_model.cells_["price"]
    assert cells.n_cells > priced_model.n_bins  # the thin upper tail got cells of its own
    rows = priced_model.sample(4000, random_state=2)
    top = priced["price"].quantile(0.99)
    assert 0.004 < (rows["price"] > top).mean() < 0.02


def test_conditions_and_persistence_in_residual_mode(priced_model: AutoregressiveSynthesizer, tmp_path) -> None:
    assert any("spread" in m for m in priced_model.models_.values())
    rows = priced_model.sample(300, random_state=3, conditions={"quality": 10})
    assert len(rows) == 300 and (rows["quality"] == 10).all()
    value = float(priced_model.cells_["size"].values_[500])
    rows = priced_model.sample(200, random_state=3, conditions={"size": value})
    assert (rows["size"] == value).all()
    loaded = load_model(priced_model.save(tmp_path / "p.zip"))
    pd.testing.assert_frame_equal(priced_model.sample(300, random_state=4), loaded.sample(300, random_state=4))
    assert loaded.refine_ == ["price"]


def test_refine_options(table: pd.DataFrame) -> None:
    model = AutoregressiveSynthesizer(random_state=0, refine=["x"]).fit(table)
    assert model.refine_ == ["x"] and len(model.sample(50)) == 50
    rows = model.sample(200, random_state=0, conditions={"x": float(model.cells_["x"].values_[400])})
    assert rows["x"].nunique() == 1  # a conditioned column is never redrawn
    assert AutoregressiveSynthesizer(random_state=0, refine=None).fit(table).refine_ == []
    with pytest.raises(InputError, match="refine"):
        AutoregressiveSynthesizer(refine=["nope"]).fit(table)
    with pytest.raises(InputError, match="refine"):
        AutoregressiveSynthesizer(refine="always").fit(table)


def test_a_few_class_first_column_keeps_its_marginal() -> None:
    """The first column has no features: its boosted model must give the class frequencies."""
    rng = np.random.default_rng(4)
    n = 2000
    label = rng.choice(["yes", "no"], n, p=[0.3, 0.7])
    df = pd.DataFrame({"label": label, "x": np.where(label == "yes", 2.0, 0.0) + rng.normal(size=n),
                       "g": rng.choice(["a", "b", "c"], n)})
    model = AutoregressiveSynthesizer(random_state=0, refine=None).fit(df)
    rows = model.sample(4000, random_state=0)
    assert abs((rows["label"] == "yes").mean() - 0.3) < 0.03
    assert abs(rows["g"].value_counts(normalize=True) - 1 / 3).max() < 0.04


def test_a_few_class_first_column_survives_save_and_load(tmp_path) -> None:
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"flag": rng.random(600) < 0.2, "x": rng.normal(size=600)})
    model = AutoregressiveSynthesizer(random_state=0).fit(df)
    loaded = load_model(model.save(tmp_path / "f.zip"))
    rows = loaded.sample(3000, random_state=1)
    assert abs(rows["flag"].mean() - df["flag"].mean()) < 0.03
    pd.testing.assert_frame_equal(rows, model.sample(3000, random_state=1))


@pytest.mark.parametrize("order", [None, "hubs", "predictability"])
def test_fit_never_stores_the_training_rows(table: pd.DataFrame, order) -> None:
    """Not even briefly: no attribute is ever set to a frame, a column or the rows' values."""

    class Watched(AutoregressiveSynthesizer):
        def __setattr__(self, key, value):
            held = value.values() if isinstance(value, dict) else [value]
            assert not any(isinstance(v, (pd.DataFrame, pd.Series)) for v in held), f"fit parked rows on .{key}"
            super().__setattr__(key, value)

    Watched.name = "autoreg"  # the same model; only attribute writes are watched
    model = Watched(random_state=0, order=order, refine=["score"]).fit(table.iloc[:600])
    kept = [k for k, v in vars(model).items() if isinstance(v, (pd.DataFrame, pd.Series))]
    assert not kept and not hasattr(model, "_data")



def _tree_depths(model: AutoregressiveSynthesizer, columns: list[str]) -> list[int]:
    """Depth of every decision tree of these columns' models (value, missing and residual trees)."""
    parts = [p for c in columns for p in model.models_[c].values()]
    return [int(t.max_depth) for p in parts if isinstance(p, LeafTree) for t in p.trees]


def test_category_trees_are_depth_limited_by_default() -> None:
    """Issue 17: a category is drawn given at most ``CATEGORY_DEPTH`` conditions; numeric trees stay deep."""
    rng = np.random.default_rng(3)
    n = 12_000
    bits = rng.random((n, 8)) < 0.5
    frame = pd.DataFrame({f"b{i}": np.where(bits[:, i], "y", "n") for i in range(8)})
    frame["x"] = bits.sum(1) + rng.normal(0, 0.3, n) + 3.0 * (bits[:, 0] ^ bits[:, 1] ^ bits[:, 2])
    frame["last"] = np.where((bits.sum(1) + (frame["x"] > 5)) % 3 == 0, "a", np.where(bits[:, 7], "b", "c"))
    cats = [c for c in frame.columns if c != "x"]
    # grown as given ("fixed"); the default "holdout" then prunes each tree further (below)
    limited = AutoregressiveSynthesizer(random_state=0, boosted_classes=0, complexity="fixed").fit(frame)
    unlimited = AutoregressiveSynthesizer(random_state=0, boosted_classes=0, category_depth=None,
                                          complexity="fixed").fit(frame)
    assert limited.category_depth == CATEGORY_DEPTH == 6 and limited.max_depth is None
    assert max(_tree_depths(limited, cats)) == CATEGORY_DEPTH
    assert max(_tree_depths(unlimited, cats)) > CATEGORY_DEPTH
    assert max(_tree_depths(limited, ["x"])) > CATEGORY_DEPTH  # numeric columns keep their deep trees
    both = AutoregressiveSynthesizer(random_state=0, boosted_classes=0, max_depth=4, complexity="fixed").fit(frame)
    assert max(_tree_depths(both, list(frame.columns))) == 4  # the stricter limit wins
    assert limited.describe()["privacy"]["category_depth"] == CATEGORY_DEPTH
    default = AutoregressiveSynthesizer(random_state=0, boosted_classes=0).fit(frame)
    assert 0 < max(_tree_depths(default, cats)) <= CATEGORY_DEPTH  # the limit bounds the held-out choice too


def test_a_small_table_keeps_its_dependence():
    """Regression: with 100 rows, honest splits grew each tree on half the rows (about 50), fewer than two
    leaves of the default floor of 30, so no tree split at all and every column was drawn independently
    (synthetic correlation -0.04 for a real 0.97)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    frame = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(scale=0.5, size=100)})
    synth = AutoregressiveSynthesizer(random_state=0).fit(frame).sample(4000, random_state=1)
    assert synth["x"].corr(synth["y"]) > 0.5


def test_a_few_class_column_keeps_its_booster_only_where_it_beats_a_tree(monkeypatch: pytest.MonkeyPatch):
    """Regression (issue 17): a few-class column was boosted whatever the data. A booster fitted to a
    column the others do not explain learns its training rows' noise (on german_credit, boosting off
    lowered the cross-fitted DCR share by 0.007 at equal quality), so it is kept only where its held-out
    log-likelihood beats the column's tree by ``CLASS_BOOST_GAIN`` standard errors."""
    from simulacra.tabular._boosted import BoostedConditional

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                          "label": np.where(rng.random(2000) < 1 / (1 + np.exp(-2 * x.sum(1))), "yes", "no"),
                          "noise": rng.choice(["p", "q", "r"], 2000)})
    model = AutoregressiveSynthesizer(random_state=0, refine=None).fit(frame)
    assert isinstance(model.models_["label"]["value"], BoostedConditional)  # explained: boosted
    assert isinstance(model.models_["noise"]["value"], LeafTree)  # noise: a tree
    rows = model.sample(3000, random_state=1)
    assert abs(rows["noise"].value_counts(normalize=True) - 1 / 3).max() < 0.04
    monkeypatch.setattr(autoreg_columns, "CLASS_BOOST_GAIN", None)  # the gate off: boosted whatever the data
    ungated = AutoregressiveSynthesizer(random_state=0, refine=None).fit(frame)
    assert isinstance(ungated.models_["noise"]["value"], BoostedConditional)


def test_boosters_fit_on_tables_too_small_for_a_held_out_share() -> None:
    """The boosters stop early on ~15 % of the rows; on a dozen rows that draw can hold out none, and
    LightGBM refused the empty set ("num_data > 0"), which crashed, e.g., a sequence model's 12-entity
    table. One drawn row is held out then, and both sides always have rows."""
    from simulacra.tabular._boosted import BoostedConditional, BoostedMean, _held_out

    for n in (2, 3, 5, 12):
        for seed in range(50):
            valid = _held_out(np.random.default_rng(seed), n)
            assert valid.any() and not valid.all()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2))
    y = np.array([0, 1, 2, 0, 1, 2])
    for seed in range(20):  # seeds whose 15 % draw holds out no row are among these
        cond = BoostedConditional.fit(X, y, n_cells=3, min_samples_leaf=1, rng=np.random.default_rng(seed))
        assert cond.predict(X).shape == (6, 3)
        BoostedMean.fit(X, y.astype(float), min_samples_leaf=1, rng=np.random.default_rng(seed))
