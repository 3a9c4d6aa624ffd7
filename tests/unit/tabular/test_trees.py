"""The sequential decision-tree synthesizer: dependence, smoothing, privacy floor, persistence."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd

import simulacra as sim
from simulacra.tabular.trees import DecisionTreeSynthesizer, LeafTree
from simulacra.testing.synthesizers import check_synthesizer


def _table(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    kind = rng.choice(["a", "b", "c"], n)
    x = np.where(kind == "a", rng.normal(0, 1, n), np.where(kind == "b", rng.normal(10, 1, n), rng.normal(20, 1, n)))
    flag = (x > 5) ^ (rng.random(n) < 0.05)
    return pd.DataFrame({"kind": kind, "x": np.round(x, 3), "flag": flag})


def test_passes_the_battery() -> None:
    assert check_synthesizer(DecisionTreeSynthesizer) == []


def test_registered_by_name_below_the_copula() -> None:
    assert sim.get_synthesizer_class("trees") is DecisionTreeSynthesizer
    assert DecisionTreeSynthesizer.default_rank < sim.get_synthesizer_class("copula").default_rank


def test_keeps_conditional_structure() -> None:
    out = DecisionTreeSynthesizer(random_state=0).fit(_table()).sample(5000, random_state=0)
    means = out.groupby("kind")["x"].mean()
    assert abs(means["a"]) < 1 and abs(means["b"] - 10) < 1 and abs(means["c"] - 20) < 1
    assert ((out["x"] > 5) == out["flag"]).mean() > 0.9


def test_numbers_are_smoothed_not_copied() -> None:
    df = _table()
    out = DecisionTreeSynthesizer(random_state=0).fit(df).sample(3000, random_state=0)
    copied = np.isin(out["x"], df["x"]).mean()
    assert copied < 0.5  # values with 3 decimals; a leaf donor would copy all of them


def test_extreme_values_are_not_reproduced() -> None:
    df = _table()
    df.loc[0, "x"] = 1000.0
    out = DecisionTreeSynthesizer(random_state=0).fit(df).sample(5000, random_state=0)
    assert out["x"].max() < 1000.0
    opted_out = DecisionTreeSynthesizer(random_state=0, min_category_count=1).fit(df)
    assert opted_out.transformer_.encoders["x"].stats_["maximum"] == 1000.0


def test_trees_are_saved_as_arrays(tmp_path) -> None:
    synth = DecisionTreeSynthesizer(random_state=0).fit(_table(500))
    path = synth.save(tmp_path / "trees.simulacra")
    with zipfile.ZipFile(path) as zf:
        state = json.loads(zf.read("state.json"))["state"]
    assert set(state["trees"]["x"]["value"]) == {"left", "right", "feature", "threshold", "payload"}
    assert sim.load(path).sample(80, random_state=2).equals(synth.sample(80, random_state=2))


def test_leaf_tree_matches_sklearn_apply() -> None:
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 3)).astype(np.float32)
    y = x[:, 0] * 2 + x[:, 1] ** 2
    model = DecisionTreeRegressor(min_samples_leaf=5, random_state=0).fit(x, y)
    tree = LeafTree.from_sklearn(model, np.arange(model.tree_.node_count, dtype=float)[:, None])
    leaves = tree.apply(x.astype(np.float64))
    assert np.array_equal(tree.payload[leaves, 0], model.apply(x).astype(float))
