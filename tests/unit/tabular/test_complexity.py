"""Each tree's depth and leaf floor chosen by held-out likelihood (``complexity="holdout"``, issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier

from simulacra.errors import InputError, ModelFileError
from simulacra.tabular._complexity import SCORE_CELLS, _Shape, fit_selected
from simulacra.tabular._leaftrees import LeafTree
from simulacra.tabular.autoreg import AutoregressiveSynthesizer
from simulacra.tabular.persistence import load as load_model


def _features(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 4)).astype(np.float32)


def test_noise_gets_no_split_and_structure_keeps_its_depth() -> None:
    X = _features(6000, 0)
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 3, size=len(X))
    chosen = fit_selected(X, noise, n_cells=3, min_samples_leaf=30, smoothing=1.0, rng=rng).complexity
    assert chosen == {"max_depth": 0, "floor": 1}  # nothing to learn: the marginal wins on unseen rows
    # a class that needs four levels of splits: the count of four features above their thresholds
    structure = (X > 0.5).sum(axis=1)
    tree = fit_selected(X, structure, n_cells=5, min_samples_leaf=30, smoothing=1.0, rng=rng)
    assert tree.complexity is not None
    assert tree.complexity["max_depth"] is None or tree.complexity["max_depth"] >= 4
    assert tree.cumulative.shape[0] >= 16
    # and the fitted conditional reproduces the function on unseen rows
    X_new = _features(2000, 2)
    assert np.mean(tree.sample(X_new, rng) == (X_new > 0.5).sum(axis=1)) > 0.9


def test_a_few_informative_levels_are_kept_and_the_noise_below_them_is_cut() -> None:
    """A rank that depends on one feature by two steps: two splits carry over, the deeper ones do not."""
    X = _features(8000, 3)
    rng = np.random.default_rng(4)
    u = np.clip(0.25 * (X[:, 0] > 0.5) + 0.25 * (X[:, 1] > 0.5) + 0.5 * rng.random(len(X)), 0, 1 - 1e-9)
    cells = (u * 64).astype(np.int64)
    grown = LeafTree.fit(X, cells, n_cells=64, min_samples_leaf=30, smoothing=1.0, rng=rng, regress_on=u, honest=True)
    chosen = fit_selected(X, cells, n_cells=64, min_samples_leaf=30, smoothing=1.0, rng=rng, regress_on=u)
    assert chosen.complexity is not None and chosen.complexity != {"max_depth": None, "floor": 1}
    assert 4 <= chosen.cumulative.shape[0] < grown.cumulative.shape[0] / 2
    assert SCORE_CELLS < 64 // 2  # these cells were scored coarser, as sixteenths of the rank


def test_a_damaged_choice_in_a_model_file_is_refused() -> None:
    X = _features(400, 8)
    rng = np.random.default_rng(9)
    tree = fit_selected(X, (X[:, 0] > 0.5).astype(np.int64), n_cells=2, min_samples_leaf=20, smoothing=1.0, rng=rng)
    state = tree.get_state()
    assert LeafTree.from_state(state).complexity == tree.complexity is not None
    with pytest.raises(ModelFileError, match="chosen depth and floor"):
        LeafTree.from_state({**state, "complexity": {"max_depth": "deep"}})


def test_pruning_to_a_depth_is_the_tree_grown_to_that_depth() -> None:
    X = _features(3000, 5)
    y = (X[:, 0] + X[:, 1] * X[:, 2] + np.random.default_rng(6).normal(0, 0.2, len(X)) > 0.9).astype(np.int64)
    deep = DecisionTreeClassifier(min_samples_leaf=20, random_state=0).fit(X, y).tree_
    shallow = DecisionTreeClassifier(min_samples_leaf=20, max_depth=3, random_state=0).fit(X, y).tree_
    shape = _Shape(deep, X, y, 2)
    pruned = shape.pruned(shape.stops(3, 0))
    assert pruned.node_count == shallow.node_count and pruned.max_depth == 3
    np.testing.assert_array_equal(pruned.apply(X), shallow.apply(X))
    # a larger floor stops where a child would hold fewer rows
    floored = shape.pruned(shape.stops(None, 200))
    sizes = np.bincount(floored.apply(X))
    assert sizes[sizes > 0].min() >= 200 or floored.node_count == 1


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 3000
    a = rng.choice(list("abcd"), n)
    x = (a == "a") * 3.0 + rng.normal(0, 1, n)
    return pd.DataFrame({"a": a, "x": x, "noise": rng.choice(list("pqrst"), n), "b": rng.random(n) < 0.4})


def test_the_choice_is_shown_and_saved(mixed: pd.DataFrame, tmp_path) -> None:
    model = AutoregressiveSynthesizer(random_state=0, complexity="holdout", boosted_classes=0).fit(mixed)
    columns = model.describe()["columns"]
    assert model.describe()["privacy"]["complexity"] == "holdout"
    assert "complexity" not in columns["a"]  # the first column has nothing to split on
    assert columns["noise"]["complexity"]["max_depth"] <= 1 and columns["noise"]["leaves"] <= 2
    assert set(columns["x"]["complexity"]) == {"max_depth", "floor"}
    loaded = load_model(model.save(tmp_path / "m.zip"))
    assert loaded.describe()["columns"]["x"]["complexity"] == columns["x"]["complexity"]
    pd.testing.assert_frame_equal(model.sample(300, random_state=3), loaded.sample(300, random_state=3))
    assert AutoregressiveSynthesizer().complexity == "holdout"  # the default since issue 17's sixth pass
    fixed = AutoregressiveSynthesizer(random_state=0, boosted_classes=0, complexity="fixed").fit(mixed)
    assert fixed.describe()["privacy"]["complexity"] == "fixed" and "complexity" not in fixed.describe()["columns"]["x"]
    assert fixed.describe()["columns"]["noise"]["leaves"] > 4  # the fixed floor splits the noise column


def test_the_dependence_survives_and_bad_values_are_refused(mixed: pd.DataFrame) -> None:
    rows = AutoregressiveSynthesizer(random_state=0, complexity="holdout").fit(mixed).sample(3000, random_state=1)
    gap = rows.loc[rows["a"] == "a", "x"].mean() - rows.loc[rows["a"] != "a", "x"].mean()
    assert 2.5 < gap < 3.5
    with pytest.raises(InputError, match="complexity must be 'fixed' or 'holdout'"):
        AutoregressiveSynthesizer(complexity="cv").fit(mixed)
