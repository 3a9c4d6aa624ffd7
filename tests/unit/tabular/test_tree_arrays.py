"""Damaged decision-tree arrays in a model file are a ModelFileError, never a hang or a dead process.

Unchecked, each damage in ``DAMAGES`` made loading and sampling the model loop for ever (a child pointing
back), die in scikit-learn's compiled ``apply`` (a child or a split feature past the end, SIGSEGV) or raise
an IndexError from deep inside numpy. The loads run in a child process with a time limit (:func:`~simulacra.testing.model_fuzz.outcomes_in_child`), so that a
regression fails this test instead of killing or stalling the test run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulacra.errors import ModelFileError
from simulacra.tabular._tree_arrays import check_lightgbm_children, check_tree_arrays
from simulacra.tabular.trees import LeafTree
from simulacra.testing.model_fuzz import members, outcomes_in_child, real_archive, rezip

Edit = Callable[[np.ndarray], None]


def _first_split(a: np.ndarray) -> int:
    return int(np.flatnonzero(a >= 0)[0])


def _point(value: int) -> Edit:
    def edit(a: np.ndarray) -> None:
        a[_first_split(a)] = value

    return edit


def _set_root(value: int) -> Edit:
    def edit(a: np.ndarray) -> None:
        a[0] = value

    return edit


def _all(value: int) -> Edit:
    def edit(a: np.ndarray) -> None:
        a[:] = value

    return edit


#: (model, array field, damage) -> the edit of the first tree with a split
DAMAGES: dict[tuple[str, str, str], Edit] = {
    ("autoreg", "left_child", "a child pointing back (a cycle)"): _point(0),
    ("autoreg", "left_child", "a child past the last node"): _point(10**6),
    ("autoreg", "feature", "a split on a feature past n_features"): _set_root(10**6),
    ("autoreg", "leaf_of_node", "leaves pointing past the histograms"): _all(10**6),
    ("trees", "left", "a child pointing back (a cycle)"): _point(0),
    ("trees", "left", "a child past the last node"): _point(10**6),
    ("trees", "feature", "a split on a feature past the columns"): _set_root(10**6),
}



def _find(obj: Any, field: str, arrays: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """The first tree state whose ``field`` array has a split."""
    if isinstance(obj, dict):
        ref = obj.get(field)
        if isinstance(ref, dict) and "__array__" in ref and arrays[ref["__array__"]].size > 3:
            return obj
        children = list(obj.values())
    elif isinstance(obj, list):
        children = obj
    else:
        return None
    return next((f for f in (_find(c, field, arrays) for c in children) if f is not None), None)


#: autoreg's default (``complexity="holdout"``) keeps no split on the 211 rows of the example table: its
#: trees are grown as given here, so that there are split arrays to damage
PARAMS: dict[str, dict[str, Any]] = {"autoreg": {"complexity": "fixed"}}


def _damaged(model: str, field: str, edit: Edit) -> bytes:
    parts = members(real_archive(model, **PARAMS.get(model, {})))
    state = json.loads(parts["state.json"])
    with np.load(io.BytesIO(parts["arrays.npz"]), allow_pickle=False) as npz:
        arrays = dict(npz)
    tree = _find(state, field, arrays)
    assert tree is not None, (model, field)
    key = tree[field]["__array__"]
    arrays[key] = arrays[key].copy()
    edit(arrays[key])
    out = io.BytesIO()
    np.savez(out, **arrays)  # type: ignore[arg-type]
    return rezip({**parts, "arrays.npz": out.getvalue()}, resum=True)


def test_each_damage_is_a_clear_error_in_a_child_process(tmp_path: Path) -> None:
    paths = {}
    for (model, field, what), edit in DAMAGES.items():
        path = tmp_path / f"{len(paths)}.model"
        path.write_bytes(_damaged(model, field, edit))
        paths[f"{model}: {what}"] = str(path)
    done = outcomes_in_child(paths, "import simulacra\nsimulacra.load(case).sample(300, random_state=0)", tmp_path)
    for name, outcome in done.items():
        assert outcome.startswith("clear: The model file is corrupt"), (name, outcome)
    assert len(done) == len(DAMAGES)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.lists(st.integers(-2, n + 1), min_size=n, max_size=n), st.lists(st.integers(-2, n + 1), min_size=n, max_size=n),
    st.lists(st.integers(-1, 3), min_size=n, max_size=n))))
def test_arrays_that_pass_the_check_always_route_every_row_to_a_leaf(arrays: tuple[list[int], ...]) -> None:
    left, right, feature = (np.array(a) for a in arrays)
    try:
        leaf = check_tree_arrays(left, right, feature, n_features=3, what="a tree")
    except ModelFileError:
        return
    tree = LeafTree(left, right, feature, np.zeros(left.size), np.zeros(int(leaf.sum())))
    X = np.random.default_rng(0).random((50, 3))
    assert set(tree.apply(X).tolist()) <= set(range(int(leaf.sum())))  # it returns: no cycle, no index past


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.integers(2, 10).flatmap(lambda leaves: st.tuples(
    st.just(leaves),
    st.lists(st.integers(-leaves - 1, leaves), min_size=leaves - 1, max_size=leaves - 1),
    st.lists(st.integers(-leaves - 1, leaves), min_size=leaves - 1, max_size=leaves - 1))))
def test_lightgbm_children_that_pass_the_shared_check_reach_each_leaf_once(case: tuple[Any, ...]) -> None:
    """LightGBM's layout (leaf ``j`` written ``~j``) goes through the same check as scikit-learn's."""
    leaves, left, right = case
    try:
        check_lightgbm_children(left, right, leaves, what="a tree")
    except ModelFileError:
        return
    reached, stack, steps = [], [0], 0
    while stack:  # walk from the root: a cycle or an index past the end would show here
        node = stack.pop()
        steps += 1
        assert steps <= 2 * leaves
        for child in (left[node], right[node]):
            assert -leaves <= child < leaves - 1
            if child < 0:
                reached.append(~child)
            else:
                stack.append(child)
    assert sorted(reached) == list(range(leaves))


def test_lightgbm_children_refusals_use_the_one_message() -> None:
    with pytest.raises(ModelFileError, match=r"^The model file is corrupt: a tree has a child that is not after"):
        check_lightgbm_children([0, -1], [-2, -3], 3, what="a tree")  # node 0 is its own child: a cycle
    with pytest.raises(ModelFileError, match="a tree has a child index past its 5 nodes"):
        check_lightgbm_children([1, -1], [-2, -9], 3, what="a tree")
    with pytest.raises(ModelFileError, match="a tree has 1 left and 2 right children for 3 leaves"):
        check_lightgbm_children([1], [-2, -3], 3, what="a tree")
