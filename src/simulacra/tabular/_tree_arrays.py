"""A check of saved decision-tree arrays before a tree is rebuilt from them.

The trees of the ``trees`` and ``autoreg`` models are saved as arrays of child indices and split features,
and the LightGBM trees of the boosted conditionals as the same arrays in LightGBM's layout. Routing a row
walks them: a child index pointing back loops for ever, and in scikit-learn's compiled ``apply`` (or
LightGBM's parser) an index or a feature past the end reads outside memory (the process dies). A model
file is untrusted input, so :func:`check_tree_arrays` (scikit-learn's layout) and
:func:`check_lightgbm_children` (LightGBM's) prove the arrays form a tree first, with one check.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.errors import ModelFileError

LEAF = -1  # scikit-learn's marker of "no child"


def whole_numbers(values: Any, what: str) -> np.ndarray:
    """``values`` as int64, refusing anything that is not a 1-d array of whole numbers."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "iuf" or (arr.dtype.kind == "f" and not np.all(np.isfinite(arr))):
        raise ModelFileError.corrupt(f"{what} is not a list of whole numbers")
    out = arr.astype(np.int64)
    if arr.dtype.kind == "f" and not np.array_equal(out, arr):
        raise ModelFileError.corrupt(f"{what} is not a list of whole numbers")
    return out


def check_tree_arrays(left: Any, right: Any, feature: Any, *, n_features: int | None, what: str) -> np.ndarray:
    """Raise :class:`ModelFileError` unless the arrays are one binary tree rooted at node 0.

    Node ``i`` is a leaf when both children are ``-1``; otherwise both are nodes after ``i`` (scikit-learn
    numbers a node before its children) and it splits on a feature in ``0..n_features-1`` (when given).
    Every node but the root has exactly one parent: so every node is reachable and there is no cycle.
    Returns the mask of leaves.

    >>> check_tree_arrays([1, -1, -1], [2, -1, -1], [0, -2, -2], n_features=1, what="a tree").tolist()
    [False, True, True]
    >>> check_tree_arrays([0, -1], [1, -1], [0, -2], n_features=1, what="a tree")
    Traceback (most recent call last):
    ...
    simulacra.errors.ModelFileError: The model file is corrupt: a tree has a child that is not after its parent. Re-fit the model and save it again.
    """
    left, right = whole_numbers(left, f"{what}'s left children"), whole_numbers(right, f"{what}'s right children")
    feature = whole_numbers(feature, f"{what}'s split features")
    n = left.size
    if n == 0 or right.size != n or feature.size != n:
        raise ModelFileError.corrupt(f"{what} has {n} left children, {right.size} right children and {feature.size} features")
    leaf = _check_children(left, right, what)
    split = ~leaf
    if n_features is not None and np.any((feature[split] < 0) | (feature[split] >= n_features)):
        raise ModelFileError.corrupt(f"{what} splits on a feature outside 0..{n_features - 1}")
    return leaf


def check_lightgbm_children(left: Any, right: Any, n_leaves: int, *, what: str) -> None:
    """Raise :class:`ModelFileError` unless LightGBM's child arrays are one binary tree rooted at node 0.

    LightGBM keeps the ``n_leaves - 1`` split nodes and the ``n_leaves`` leaves apart: a child ``c >= 0``
    is split node ``c``, a child ``c < 0`` is leaf ``~c``; it numbers a node before its children as
    scikit-learn does. Leaf ``j`` is renumbered node ``n_leaves - 1 + j`` and the one check of
    :func:`check_tree_arrays` runs on the result.

    >>> check_lightgbm_children([1, -1], [-2, -3], 3, what="a tree")
    >>> check_lightgbm_children([1, -1], [-2, -2], 3, what="a tree")
    Traceback (most recent call last):
    ...
    simulacra.errors.ModelFileError: The model file is corrupt: a tree has a node with no parent or two. Re-fit the model and save it again.
    """
    nodes = n_leaves - 1
    left = whole_numbers(left, f"{what}'s left children")
    right = whole_numbers(right, f"{what}'s right children")
    if left.size != nodes or right.size != nodes:
        raise ModelFileError.corrupt(f"{what} has {left.size} left and {right.size} right children for "
                                     f"{n_leaves} leaves")
    past = nodes + n_leaves  # a split-node index past the split nodes must not land on a renumbered leaf
    as_node = [np.where(c < 0, nodes + ~c, np.where(c < nodes, c, past)) for c in (left, right)]
    stubs = np.full(n_leaves, LEAF, dtype=np.int64)
    _check_children(np.concatenate([as_node[0], stubs]), np.concatenate([as_node[1], stubs]), what)


def _check_children(left: np.ndarray, right: np.ndarray, what: str) -> np.ndarray:
    """The mask of leaves, after proving every node but the root has one parent that comes before it."""
    n = left.size
    leaf = (left == LEAF) & (right == LEAF)
    split = ~leaf
    if np.any(split & ((left < 0) | (right < 0))):
        raise ModelFileError.corrupt(f"{what} has a node with one child")
    parents = np.flatnonzero(split)
    children = np.concatenate([left[split], right[split]])
    if np.any(children <= np.concatenate([parents, parents])):
        raise ModelFileError.corrupt(f"{what} has a child that is not after its parent")
    if np.any(children >= n):
        raise ModelFileError.corrupt(f"{what} has a child index past its {n} nodes")
    if not np.all(np.bincount(children, minlength=n)[1:] == 1):
        raise ModelFileError.corrupt(f"{what} has a node with no parent or two")
    return leaf
