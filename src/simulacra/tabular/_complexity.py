"""Each tree's complexity chosen by its likelihood on rows it did not see (``complexity="holdout"``).

A fixed depth or leaf floor is wrong for some column of some table: a tree deep enough for a map's
block groups memorises the rare combinations of a small table (issue 17). Here each conditional picks
its own. The rows are split into ``FOLDS`` folds; for each, a tree is grown the way the model grows it
on the other folds and its histograms counted there. Every setting of the grid (a depth limit from
``DEPTHS`` and a leaf floor ``FLOOR_MULTIPLES`` times the model's) is read off that one tree by pruning
it, and scored by the log-likelihood of the held-out fold under the pruned tree's smoothed histograms.
The histograms are over the cells the sampler draws (a value is then placed inside its cell by a map
that does not depend on the tree), so this is the sampler's own likelihood up to a constant. The
setting with the best total wins, and the tree grown on all rows is pruned to it.

Pruning a grown tree gives exactly the tree that a depth limit would have grown (scikit-learn grows
depth first, and a node's split depends only on its own rows); a larger floor is read as "stop where a
child would hold fewer rows", which keeps the grown splits rather than searching for new ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from sklearn.tree._tree import Tree

from simulacra.tabular._leaftrees import LeafTree, cell_shares, rebuild_tree, tree_arrays

#: The depth limits tried (None: the grown tree's own depth) and the leaf floors, in multiples of the
#: model's ``min_samples_leaf``.
DEPTHS: tuple[int | None, ...] = (0, 1, 2, 3, 4, 6, 8, 12, None)
FLOOR_MULTIPLES: tuple[int, ...] = (1, 2, 4)
#: Folds of the held-out comparison; each tree is grown ``FOLDS + 1`` times.
FOLDS = 3
#: A tree over ordered cells (the rank cells of a number, or of a residual) is scored on this many
#: coarse cells of consecutive ranks when it has more than twice as many. A leaf of 30-100 rows spread
#: over 64 cells is mostly noise at the scale of one cell, and the likelihood at that scale chose
#: shallow trees that lost the pair trends (california quality 0.982 -> 0.975); at the scale of
#: sixteenths it judges whether a split carries over to unseen rows. 16 rather than 8: california's
#: DCR share 0.5106 -> 0.5083 (mean of 4 seeds) at 0.002 of quality (issue 17, RESULTS.md).
SCORE_CELLS = 16


def fit_selected(
    X: np.ndarray, y: np.ndarray, *, n_cells: int, min_samples_leaf: int, smoothing: float,
    rng: np.random.Generator, regress_on: np.ndarray | None = None, max_depth: int | None = None,
    honest: bool | str = True, n_jobs: int | None = None,
) -> LeafTree:
    """A :class:`LeafTree` pruned to the depth and floor with the best held-out likelihood.

    ``regress_on`` given means the cells are ordered (ranks), so they may be scored coarser (see
    ``SCORE_CELLS``). The choice is kept in the tree's ``complexity``: ``{"max_depth": d, "floor": k}``
    (a depth limit, or None for none, and the multiple of ``min_samples_leaf``); None where too few
    rows allow any split.
    """
    prior = cell_shares(y, n_cells)
    scale = SCORE_CELLS if regress_on is not None and n_cells > 2 * SCORE_CELLS else n_cells
    scored_y = (y * scale) // n_cells
    scored_prior = cell_shares(scored_y, scale)
    grow: dict[str, Any] = {"min_samples_leaf": min_samples_leaf, "max_depth": max_depth, "honest": honest,
                            "n_jobs": n_jobs}
    gains = np.zeros((len(DEPTHS), len(FLOOR_MULTIPLES)))  # of each setting, summed over the folds
    splittable = True
    fold = rng.integers(0, FOLDS, size=y.size)
    for f in range(FOLDS):
        train, held = fold != f, fold == f
        trees, Xc, yc = LeafTree.grow(X[train], y[train], rng=rng, regress_on=_rows(regress_on, train), **grow)
        if not trees or not held.any():
            splittable = False
            break  # too few rows for any split: nothing to choose
        shape = _Shape(trees[0], Xc, (yc * scale) // n_cells, scale)
        leaf = trees[0].apply(np.ascontiguousarray(X[held], dtype=np.float32))
        grown = shape.log_likelihood(leaf, scored_y[held], scored_prior, smoothing)
        for i, depth in enumerate(DEPTHS):
            for k, multiple in enumerate(FLOOR_MULTIPLES):
                node = shape.effective(shape.stops(depth, _min_rows(multiple, min_samples_leaf)))
                held_ll = shape.log_likelihood(node[leaf], scored_y[held], scored_prior, smoothing)
                gains[i, k] += (held_ll - grown).sum()
    chosen = _best(gains) if splittable else None
    trees, Xc, yc = LeafTree.grow(X, y, rng=rng, regress_on=regress_on, **grow)
    if trees and chosen is not None:
        shape = _Shape(trees[0], Xc, yc, n_cells)
        trees = [shape.pruned(shape.stops(chosen["max_depth"], _min_rows(int(chosen["floor"] or 1), min_samples_leaf)))]
    return LeafTree.from_grown(trees, Xc, yc, n_cells=n_cells, smoothing=smoothing, prior=prior, complexity=chosen)


def _best(total: np.ndarray) -> dict[str, int | None]:
    """The setting whose held-out log-likelihood gains most over the grown tree (the grown tree on a tie)."""
    total = total.copy()
    total[DEPTHS.index(None), FLOOR_MULTIPLES.index(1)] = 0.0
    i, k = (int(v) for v in np.unravel_index(int(np.argmax(total)), total.shape))
    if total[i, k] <= 0.0:
        i, k = DEPTHS.index(None), FLOOR_MULTIPLES.index(1)
    return {"max_depth": DEPTHS[i], "floor": FLOOR_MULTIPLES[k]}


def _min_rows(multiple: int, floor: int) -> int:
    """The rows a child must hold under a floor of ``multiple`` floors (0: the grown tree's own floor)."""
    return multiple * floor if multiple > 1 else 0


def _rows(values: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[mask]


class _Shape:
    """A grown tree's nodes with their depth, parent and per-cell counts of the counted rows."""

    def __init__(self, tree: Tree, X: np.ndarray, y: np.ndarray, n_cells: int) -> None:
        self.tree = tree
        left, right = tree.children_left, tree.children_right
        self.split = left >= 0
        n = left.size
        self.parent = np.full(n, -1, dtype=np.int64)
        parents = np.flatnonzero(self.split)
        self.parent[left[parents]] = parents
        self.parent[right[parents]] = parents
        self.depth = np.zeros(n, dtype=np.int64)
        for node in range(1, n):  # scikit-learn numbers a parent before its children
            self.depth[node] = self.depth[self.parent[node]] + 1
        self.levels = [np.flatnonzero(self.depth == d) for d in range(int(self.depth.max()) + 1)]
        path = tree.decision_path(X)
        onehot = sparse.csr_matrix((np.ones(y.size), (np.arange(y.size), y)), shape=(y.size, n_cells))
        self.counts = np.asarray((path.T @ onehot).todense())
        self.total = self.counts.sum(axis=1)

    def stops(self, max_depth: int | None, min_rows: int) -> np.ndarray:
        """Nodes where descent stops: leaves, nodes at ``max_depth``, splits with a child under ``min_rows``."""
        stop = ~self.split
        if max_depth is not None:
            stop = stop | (self.depth >= max_depth)
        if min_rows > 0:
            left, right = self.tree.children_left, self.tree.children_right
            small = np.zeros_like(stop)
            small[self.split] = np.minimum(self.total[left[self.split]], self.total[right[self.split]]) < min_rows
            stop = stop | small
        return stop

    def effective(self, stop: np.ndarray) -> np.ndarray:
        """For every node, the node of the pruned tree whose histogram it uses (its highest stopped ancestor)."""
        node = np.arange(stop.size)
        blocked = stop.copy()
        for level in self.levels[1:]:
            p = self.parent[level]
            inherit = blocked[p]
            node[level[inherit]] = node[p[inherit]]
            blocked[level] = inherit | stop[level]
        return node

    def log_likelihood(self, node: np.ndarray, y: np.ndarray, prior: np.ndarray, smoothing: float) -> np.ndarray:
        """The log-likelihood of each held-out row (cell ``y``, routed to ``node``) under the smoothed histograms."""
        p = (self.counts[node, y] + smoothing * prior[y]) / (self.total[node] + smoothing)
        return np.log(np.maximum(p, 1e-12))

    def pruned(self, stop: np.ndarray) -> Tree:
        """The tree cut at the stopped nodes (the nodes below them dropped, the rest renumbered)."""
        n = stop.size
        kept = np.zeros(n, dtype=bool)
        kept[0] = True
        for level in self.levels[1:]:
            p = self.parent[level]
            kept[level] = kept[p] & ~stop[p]
        index = np.full(n, -1, dtype=np.int64)
        index[kept] = np.arange(int(kept.sum()))
        entry = tree_arrays(self.tree)
        cut = stop[kept]
        for field in ("left_child", "right_child"):
            children = np.asarray(entry[field])[kept]
            entry[field] = np.where(cut | (children < 0), -1, index[np.maximum(children, 0)])
        for field, leaf_value in (("feature", -2), ("threshold", -2.0)):
            entry[field] = np.where(cut, leaf_value, np.asarray(entry[field])[kept])
        if "missing_go_to_left" in entry:
            entry["missing_go_to_left"] = np.asarray(entry["missing_go_to_left"])[kept]
        entry["max_depth"] = int(self.depth[kept].max())
        return rebuild_tree(entry)
