"""Decision trees whose leaves hold smoothed histograms, stored as plain arrays (no pickle).

A :class:`LeafTree` is one conditional distribution ``p(cell | features)``: a CART tree (scikit-learn)
routes a row to a leaf, and the leaf holds a histogram over the target's cells, learned from at least
``min_samples_leaf`` training rows and smoothed toward the column's marginal. Sampling is vectorized:
one ``apply`` in C and one ``searchsorted`` for all rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.tree._tree import Tree

from simulacra.errors import ModelFileError
from simulacra.tabular._tree_arrays import check_tree_arrays, whole_numbers

_NODE_FIELDS = ("left_child", "right_child", "feature", "threshold", "missing_go_to_left")


class LeafTree:
    """Trees over ``n_features`` features with a histogram over ``n_cells`` cells in each leaf.

    With several trees (a bagged forest) every row is routed through one tree drawn at random, so
    the conditional is the forest's average of leaf histograms.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((500, 2)).astype(np.float32)
    >>> y = (X[:, 0] > 0.5).astype(int)
    >>> tree = LeafTree.fit(X, y, n_cells=2, min_samples_leaf=20, smoothing=0.0, rng=rng)
    >>> cells = tree.sample(np.array([[0.9, 0.1]], dtype=np.float32).repeat(100, 0), rng)
    >>> int(cells.sum())
    100
    """

    def __init__(self, trees: list[Tree], leaf_of_node: list[np.ndarray], cumulative: np.ndarray) -> None:
        self.trees = trees
        self.leaf_of_node = leaf_of_node  # per tree: node -> global leaf row of ``cumulative``
        self.cumulative = cumulative  # (n_leaves of all trees, n_cells), rows end at 1
        # the depth and leaf floor chosen by held-out likelihood (:mod:`._complexity`), when they were
        self.complexity: dict[str, Any] | None = None
        n_leaves, n_cells = cumulative.shape
        self._flat = (cumulative + np.arange(n_leaves)[:, None]).ravel()
        self._flat[n_cells - 1 :: n_cells] = np.arange(1, n_leaves + 1) - 1e-12

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, *, n_cells: int, smoothing: float, **options: Any) -> LeafTree:
        """Grow trees on ``X`` for cells ``y`` (classification, or regression on ``regress_on``).

        ``options`` are those of :meth:`grow` (``min_samples_leaf`` and ``rng`` are required).
        """
        prior = cell_shares(y, n_cells)
        trees, X, y = cls.grow(X, y, **options)
        return cls.from_grown(trees, X, y, n_cells=n_cells, smoothing=smoothing, prior=prior)

    @staticmethod
    def grow(
        X: np.ndarray,
        y: np.ndarray,
        *,
        min_samples_leaf: int,
        rng: np.random.Generator,
        regress_on: np.ndarray | None = None,
        max_depth: int | None = None,
        n_trees: int = 1,
        max_features: float | None = None,
        n_jobs: int | None = None,
        honest: bool | str = False,
    ) -> tuple[list[Tree], np.ndarray, np.ndarray]:
        """The grown trees (none when no split is possible) and the rows their leaf histograms count."""
        trees: list[Tree] = []
        grow = np.ones(y.size, dtype=bool)
        if honest and n_trees <= 1:
            # honest splits: chosen on half the rows (leaves of half the floor), so that a split made
            # on noise is not tailored to the rows counted in the leaves; "full" counts only the other half
            grow = rng.random(y.size) < 0.5
            if grow.sum() < 2 * min_samples_leaf <= y.size:
                # a small table whose half is too small to split but whose whole is not: without this, a
                # 100-row table with a leaf floor of 30 kept no dependence between any columns at all
                grow[:], honest = True, False
        if X.shape[1] and grow.sum() >= 2 * min_samples_leaf and np.unique(y).size > 1:
            target = regress_on[grow] if regress_on is not None else None
            leaf_size = max(min_samples_leaf // 2, 1) if honest else min_samples_leaf
            trees = _grow(X[grow], y[grow], target, leaf_size, max_depth, n_trees, max_features, n_jobs, rng)
        if honest == "full" and n_trees <= 1 and trees:
            X, y = X[~grow], y[~grow]
        return trees, np.ascontiguousarray(X, dtype=np.float32), y

    @classmethod
    def from_grown(
        cls, trees: list[Tree], X: np.ndarray, y: np.ndarray, *, n_cells: int, smoothing: float, prior: np.ndarray,
        complexity: dict[str, Any] | None = None,
    ) -> LeafTree:
        """The leaf histograms of grown ``trees``, counted on rows ``X``, ``y`` and smoothed toward ``prior``."""
        maps, tables, offset = [], [], 0
        for tree in trees or [None]:
            if tree is None:
                node_leaf = np.zeros(1, dtype=np.int64)
                leaves = np.zeros(y.size, dtype=np.int64)
            else:
                is_leaf = tree.children_left < 0
                node_leaf = np.where(is_leaf, np.cumsum(is_leaf) - 1, -1).astype(np.int64)
                leaves = node_leaf[tree.apply(X)]
            n_leaves = int(node_leaf.max()) + 1
            counts = np.bincount(leaves * n_cells + y, minlength=n_leaves * n_cells).reshape(n_leaves, n_cells)
            probs = (counts + smoothing * prior[None, :]) / (counts.sum(1, keepdims=True) + smoothing)
            tables.append(probs)
            maps.append(np.where(node_leaf >= 0, node_leaf + offset, -1))
            offset += n_leaves
        cumulative = np.cumsum(np.vstack(tables), axis=1)
        cumulative /= cumulative[:, -1:]
        out = cls(trees, maps, cumulative)
        out.complexity = complexity
        return out

    # -- inference ---------------------------------------------------------------------------
    def leaves(self, X: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """The leaf of each row, in a tree drawn at random per row (the first tree without ``rng``)."""
        if not self.trees:
            return np.zeros(len(X), dtype=np.int64)
        Xc = np.ascontiguousarray(X, dtype=np.float32)
        if len(self.trees) == 1 or rng is None:
            return self.leaf_of_node[0][_apply(self.trees[0], Xc)]
        which = rng.integers(0, len(self.trees), size=len(Xc))
        out = np.empty(len(Xc), dtype=np.int64)
        for k, tree in enumerate(self.trees):
            rows = np.flatnonzero(which == k)
            if rows.size:
                out[rows] = self.leaf_of_node[k][_apply(tree, Xc[rows])]
        return out

    def sample(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One cell per row of ``X``, drawn from the row's leaf histogram."""
        leaf = self.leaves(X, rng)
        n_cells = self.cumulative.shape[1]
        key = leaf + rng.random(leaf.size) * (1 - 1e-9)
        idx = np.searchsorted(self._flat, key, side="right")
        return np.clip(idx - leaf * n_cells, 0, n_cells - 1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Every cell's probability for each row of ``X``, (rows, n_cells), averaged over the trees."""
        probs = np.diff(self.cumulative, axis=1, prepend=0.0)
        if not self.trees:
            return np.repeat(probs[:1], len(X), axis=0)
        Xc = np.ascontiguousarray(X, dtype=np.float32)
        total = sum(probs[node_leaf[_apply(tree, Xc)]] for tree, node_leaf in zip(self.trees, self.leaf_of_node))
        return np.asarray(total) / len(self.trees)

    def probability(self, X: np.ndarray, cell: int) -> np.ndarray:
        """The probability of ``cell`` for each row of ``X`` (averaged over the trees)."""
        cum = self.cumulative
        p_cell = cum[:, cell] - (cum[:, cell - 1] if cell > 0 else 0.0)
        if not self.trees:
            return np.full(len(X), max(float(p_cell[0]), 0.0))
        Xc = np.ascontiguousarray(X, dtype=np.float32)
        total = np.zeros(len(Xc))
        for k, tree in enumerate(self.trees):
            total += p_cell[self.leaf_of_node[k][_apply(tree, Xc)]]
        return np.maximum(total / len(self.trees), 0.0)

    def cdf(self, X: np.ndarray, cell: np.ndarray, fraction: np.ndarray) -> np.ndarray:
        """``P(cell < c) + fraction * P(cell == c)`` for each row's own ``c`` (averaged over the trees)."""
        cum = self.cumulative
        cell = np.clip(np.asarray(cell, dtype=np.int64), 0, cum.shape[1] - 1)
        below = np.concatenate([np.zeros((cum.shape[0], 1)), cum[:, :-1]], axis=1)
        Xc = np.ascontiguousarray(X, dtype=np.float32)
        if not self.trees:
            leaf_sets = [np.zeros(len(Xc), dtype=np.int64)]
        else:
            leaf_sets = [m[_apply(t, Xc)] for t, m in zip(self.trees, self.leaf_of_node)]
        total = np.zeros(len(Xc))
        for leaf in leaf_sets:
            lo, hi = below[leaf, cell], cum[leaf, cell]
            total += lo + fraction * (hi - lo)
        return np.clip(total / len(leaf_sets), 0.0, 1.0)

    # -- persistence -------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        trees = []
        for tree, node_leaf in zip(self.trees, self.leaf_of_node):
            trees.append({**tree_arrays(tree), "leaf_of_node": node_leaf})
        state: dict[str, Any] = {"cumulative": self.cumulative, "trees": trees}
        if self.complexity is not None:
            state["complexity"] = dict(self.complexity)
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LeafTree:
        """Rebuilt from :meth:`get_state`, after checking that the arrays form trees (a damaged file could
        otherwise make scikit-learn's compiled ``apply`` read outside memory or loop for ever)."""
        cumulative = np.asarray(state["cumulative"], dtype=float)
        if cumulative.ndim != 2 or cumulative.shape[1] == 0 or not np.all(np.isfinite(cumulative)):
            raise ModelFileError.corrupt("a tree's leaf histograms are not a finite table")
        trees, maps = [], []
        for number, entry in enumerate(state["trees"]):
            what = f"tree {number}"
            n_features = int(entry["n_features"])
            if not 1 <= n_features <= 1_000_000 or int(entry["max_depth"]) < 0:
                raise ModelFileError.corrupt(f"{what} has {n_features} features or a negative depth")
            leaf = check_tree_arrays(entry["left_child"], entry["right_child"], entry["feature"],
                                     n_features=n_features, what=what)
            node_leaf = whole_numbers(entry["leaf_of_node"], f"{what}'s leaf rows")
            if node_leaf.size != leaf.size or np.any((node_leaf[leaf] < 0) | (node_leaf[leaf] >= len(cumulative))):
                raise ModelFileError.corrupt(f"{what}'s leaves point outside its {len(cumulative)} histograms")
            trees.append(rebuild_tree(entry))
            maps.append(node_leaf)
        out = cls(trees, maps, cumulative)
        chosen = state.get("complexity")
        if chosen is not None:
            try:
                out.complexity = {str(k): (None if v is None else int(v)) for k, v in dict(chosen).items()}
            except (TypeError, ValueError):
                raise ModelFileError.corrupt("a tree's chosen depth and floor are not whole numbers") from None
        return out


def cell_shares(y: np.ndarray, n_cells: int) -> np.ndarray:
    """The share of rows in each of ``n_cells`` cells (the prior that leaf histograms are smoothed toward)."""
    counts = np.bincount(y, minlength=n_cells).astype(float)
    return counts / max(counts.sum(), 1.0)


def _grow(
    X: np.ndarray, y: np.ndarray, regress_on: np.ndarray | None, min_samples_leaf: int, max_depth: int | None,
    n_trees: int, max_features: float | None, n_jobs: int | None, rng: np.random.Generator,
) -> list[Tree]:
    seed = int(rng.integers(0, 2**31 - 1))
    common: dict[str, Any] = {"min_samples_leaf": min_samples_leaf, "max_depth": max_depth, "random_state": seed}
    if n_trees <= 1:
        cls: Any = DecisionTreeRegressor if regress_on is not None else DecisionTreeClassifier
        return [cls(**common).fit(X, regress_on if regress_on is not None else y).tree_]
    forest: Any = RandomForestRegressor if regress_on is not None else RandomForestClassifier
    est = forest(n_estimators=n_trees, max_features=max_features or 1.0, max_samples=0.5, n_jobs=n_jobs,
                 **common).fit(X, regress_on if regress_on is not None else y)
    return [e.tree_ for e in est.estimators_]


def _apply(tree: Tree, X: np.ndarray) -> np.ndarray:
    """``tree.apply(X)``, refusing rows narrower than the tree (scikit-learn would read past them)."""
    if X.shape[1] < tree.n_features:
        raise ModelFileError.corrupt(f"a tree over {tree.n_features} features was given rows of {X.shape[1]}")
    return np.asarray(tree.apply(X))


def tree_arrays(tree: Tree) -> dict[str, Any]:
    """The structure of a scikit-learn Tree as plain arrays (what :func:`rebuild_tree` takes)."""
    nodes = tree.__getstate__()["nodes"]
    entry: dict[str, Any] = {"n_features": int(tree.n_features), "max_depth": int(tree.max_depth)}
    for field in _NODE_FIELDS:
        if field in nodes.dtype.names:
            entry[field] = np.asarray(nodes[field])
    return entry


def rebuild_tree(state: dict[str, Any]) -> Tree:
    """A scikit-learn Tree with the saved structure (values are not needed: leaves are looked up)."""
    n_features = int(state["n_features"])
    tree = Tree(n_features, np.array([1], dtype=np.intp), 1)
    template = tree.__getstate__()["nodes"]
    count = int(np.asarray(state["left_child"]).size)
    nodes = np.zeros(count, dtype=template.dtype)
    for field in _NODE_FIELDS:
        if field in state and field in nodes.dtype.names:
            nodes[field] = np.asarray(state[field])
    tree.__setstate__(
        {"max_depth": int(state["max_depth"]), "node_count": count, "nodes": nodes,
         "values": np.zeros((count, 1, 1))}
    )
    return tree
