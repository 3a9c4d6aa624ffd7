"""A check of saved decision-tree arrays before a tree is rebuilt from them.

The trees of the ``trees`` and ``autoreg`` models are saved as arrays of child indices and split features.
Routing a row walks them: a child index pointing back loops for ever, and in scikit-learn's compiled
``apply`` an index or a feature past the end reads outside memory (the process dies). A model file is
untrusted input, so :func:`check_tree_arrays` proves the arrays form a tree first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.errors import ModelFileError

LEAF = -1  # scikit-learn's marker of "no child"


def _corrupt(what: str) -> ModelFileError:
    return ModelFileError(f"The model file is corrupt: {what}. Re-fit the model and save it again.")


def whole_numbers(values: Any, what: str) -> np.ndarray:
    """``values`` as int64, refusing anything that is not a 1-d array of whole numbers."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "iuf" or (arr.dtype.kind == "f" and not np.all(np.isfinite(arr))):
        raise _corrupt(f"{what} is not a list of whole numbers")
    out = arr.astype(np.int64)
    if arr.dtype.kind == "f" and not np.array_equal(out, arr):
        raise _corrupt(f"{what} is not a list of whole numbers")
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
        raise _corrupt(f"{what} has {n} left children, {right.size} right children and {feature.size} features")
    leaf = (left == LEAF) & (right == LEAF)
    split = ~leaf
    if np.any(split & ((left < 0) | (right < 0))):
        raise _corrupt(f"{what} has a node with one child")
    parents = np.flatnonzero(split)
    children = np.concatenate([left[split], right[split]])
    if np.any(children <= np.concatenate([parents, parents])):
        raise _corrupt(f"{what} has a child that is not after its parent")
    if np.any(children >= n):
        raise _corrupt(f"{what} has a child index past its {n} nodes")
    if not np.all(np.bincount(children, minlength=n)[1:] == 1):
        raise _corrupt(f"{what} has a node with no parent or two")
    if n_features is not None and np.any((feature[split] < 0) | (feature[split] >= n_features)):
        raise _corrupt(f"{what} splits on a feature outside 0..{n_features - 1}")
    return leaf
