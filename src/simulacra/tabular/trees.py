"""Sequential decision trees: each column drawn from a tree's leaf given the columns before it (CART)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from simulacra.errors import ModelFileError
from simulacra.tabular._tree_arrays import check_tree_arrays
from simulacra.tabular.base import BaseSynthesizer, resolve_seed
from simulacra.tabular.registry import register
from simulacra.tabular.scores import marginals_from_state, marginals_state
from simulacra.transform import DiscreteMarginal, EmpiricalMarginal, TableTransformer

#: Stands for a missing number among a tree's inputs (float32-safe, below every real value).
_MISSING = -3.0e38
#: Quantile knots kept per leaf of a regression tree (its smoothed leaf distribution).
N_LEAF_KNOTS = 11
_CLIP = 1e-9


class LeafTree:
    """A fitted sklearn tree kept as plain arrays, with one distribution per leaf.

    ``payload[leaf_index[node]]`` is the leaf's class probabilities (classification) or the quantile
    knots of its normal scores (regression). No training row is kept: only per-leaf summaries.
    """

    def __init__(self, left: np.ndarray, right: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
                 payload: np.ndarray) -> None:
        self.left, self.right = left.astype(np.int64), right.astype(np.int64)
        self.feature, self.threshold = feature.astype(np.int64), threshold.astype(float)
        self.leaf_index = np.cumsum(self.left < 0) - 1
        self.payload = payload
        used = self.feature[self.left >= 0]  # the features the splits read, checked against each input in apply
        self._feature_span = (int(used.min()), int(used.max())) if used.size else (0, -1)

    @classmethod
    def from_sklearn(cls, model: Any, payload_of_nodes: np.ndarray) -> LeafTree:
        t = model.tree_
        leaves = t.children_left < 0
        return cls(t.children_left, t.children_right, t.feature, t.threshold, payload_of_nodes[leaves])

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The leaf (as an index into ``payload``) of every row of ``x``."""
        n = len(x)
        lo, hi = self._feature_span
        if lo < 0 or hi >= x.shape[1]:
            raise ModelFileError.corrupt(f"a tree splits on a feature outside the {x.shape[1]} it is given")
        flat = np.ascontiguousarray(x.T).reshape(-1)  # column-major: one gather per level
        node = np.zeros(n, dtype=np.int64)
        active = np.flatnonzero(self.left[node] >= 0)
        while active.size:
            cur = node[active]
            go_left = flat[self.feature[cur] * n + active] <= self.threshold[cur]
            node[active] = np.where(go_left, self.left[cur], self.right[cur])
            active = active[self.left[node[active]] >= 0]
        return self.leaf_index[node]

    def get_state(self) -> dict[str, Any]:
        return {"left": self.left, "right": self.right, "feature": self.feature, "threshold": self.threshold,
                "payload": self.payload}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LeafTree:
        """Rebuilt from :meth:`get_state`, after checking that the arrays form a tree (a child index pointing
        back would make :meth:`apply` loop for ever)."""
        leaf = check_tree_arrays(state["left"], state["right"], state["feature"], n_features=None, what="a tree")
        payload = np.asarray(state["payload"])
        if payload.ndim == 0 or len(payload) != int(leaf.sum()):
            raise ModelFileError.corrupt(f"a tree has {int(leaf.sum())} leaves but "
                                         f"{payload.shape[0] if payload.ndim else 0} leaf summaries")
        return cls(*(np.asarray(state[k]) for k in ("left", "right", "feature", "threshold", "payload")))


def _draw_class(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(probs, axis=1)
    return np.minimum((cum < rng.random((len(probs), 1)) * cum[:, -1:]).sum(axis=1), probs.shape[1] - 1)


@register
class DecisionTreeSynthesizer(BaseSynthesizer):
    """Conditional generation by decision trees, column by column (like synthpop's CART).

    The first column is drawn from its distribution; each next one from the leaf of a decision
    tree grown on the columns before it: categories from the leaf's class frequencies, smoothed
    toward the column's overall frequencies, numbers from the leaf's quantiles (interpolated, in
    normal scores, so values are not copied from single rows). Leaves hold at least
    ``min_samples_leaf`` training rows.

    Parameters
    ----------
    metadata : Metadata, dict or path, optional
        Column types; detected from the data when omitted.
    random_state : int, optional
        Seed; the same seed gives the same rows.
    min_category_count : int, default 5
        Privacy floor: categories seen in fewer rows, and numbers beyond the k-th smallest/largest,
        are never reproduced verbatim (1 turns it off).
    min_samples_leaf : int, default 10
        Fewest training rows in a leaf (at least ``min_category_count``).
    max_depth : int, optional
        Deepest tree; None grows until leaves are small.
    smoothing : float, default 1.0
        Pseudo-count of the column's overall frequencies added to each leaf's class counts.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": range(100), "g": ["a", "b"] * 50})
    >>> DecisionTreeSynthesizer(random_state=0).fit(df).sample(4).shape
    (4, 2)
    """

    name = "trees"
    default_rank = 3

    def __init__(
        self,
        *,
        metadata: Any = None,
        random_state: int | None = None,
        min_category_count: int = 5,
        min_samples_leaf: int = 10,
        max_depth: int | None = None,
        smoothing: float = 1.0,
    ) -> None:
        self.metadata = metadata
        self.random_state = random_state
        self.min_category_count = min_category_count
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.smoothing = smoothing

    # -- fit ---------------------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame) -> None:
        rng = np.random.default_rng(resolve_seed(self.random_state))
        self.transformer_ = TableTransformer(self.model_metadata_, min_category_count=self.min_category_count).fit(data)
        self.order_ = [n for n, e in self.transformer_.encoders.items() if e.representation != "generated"]
        self.marginals_: dict[str, Any] = {}
        feats = np.zeros((len(data), max(len(self.order_), 1)), dtype=np.float32)
        self.trees_: dict[str, dict[str, LeafTree]] = {}
        for j, name in enumerate(self.order_):
            enc = self.transformer_.encoders[name]
            x = enc.encode(data[name])
            inputs = feats[:, :j] if j else np.zeros((len(data), 1), dtype=np.float32)
            if enc.representation == "discrete":
                self.marginals_[name] = DiscreteMarginal(enc.stats_["probabilities"])  # type: ignore[attr-defined]
                k = self.marginals_[name].probabilities.size
                codes = np.where(np.asarray(x) < 0, k, x).astype(np.int64)  # missing is class k
                self.trees_[name] = {"class": self._classifier(inputs, codes, k + 1)}
                feats[:, j] = np.asarray(x, dtype=np.float32)
            else:
                x = np.asarray(x, dtype=float)
                present = np.isfinite(x)
                marginal = EmpiricalMarginal(min_count=self.min_category_count).fit(x)
                z = ndtri(marginal.to_uniform(x, rng))
                marginal.release_data()
                self.marginals_[name] = marginal
                trees = {}
                if 0 < present.sum() < len(x):
                    trees["missing"] = self._classifier(inputs, (~present).astype(np.int64), 2)
                if present.any():
                    trees["value"] = self._regressor(inputs[present], z[present])
                self.trees_[name] = trees
                feats[:, j] = np.where(present, x, _MISSING).astype(np.float32)

    def _leaf(self) -> int:
        return int(max(self.min_samples_leaf, self.min_category_count, 1))

    def _classifier(self, x: np.ndarray, y: np.ndarray, k: int) -> LeafTree:
        from sklearn.tree import DecisionTreeClassifier

        prior = np.bincount(y, minlength=k).astype(float)
        prior /= prior.sum()
        if len(y) < 2 * self._leaf() or np.unique(y).size < 2:
            return LeafTree(np.array([-1]), np.array([-1]), np.array([-2]), np.array([-2.0]), prior[None])
        tree = DecisionTreeClassifier(min_samples_leaf=self._leaf(), max_depth=self.max_depth, random_state=0).fit(x, y)
        t = tree.tree_
        frac = np.zeros((t.node_count, k))
        frac[:, tree.classes_] = t.value[:, 0, :] / np.maximum(t.value[:, 0, :].sum(axis=1, keepdims=True), 1e-12)
        counts = t.n_node_samples[:, None]
        probs = (frac * counts + self.smoothing * prior) / (counts + self.smoothing)
        return LeafTree.from_sklearn(tree, probs)

    def _regressor(self, x: np.ndarray, z: np.ndarray) -> LeafTree:
        from sklearn.tree import DecisionTreeRegressor

        probs = np.linspace(0, 1, N_LEAF_KNOTS)
        if len(z) < 2 * self._leaf():
            return LeafTree(np.array([-1]), np.array([-1]), np.array([-2]), np.array([-2.0]), np.quantile(z, probs)[None])
        tree = DecisionTreeRegressor(min_samples_leaf=self._leaf(), max_depth=self.max_depth, random_state=0).fit(x, z)
        leaves = tree.apply(x)
        frame = pd.DataFrame({"leaf": leaves, "z": z})
        knots = frame.groupby("leaf")["z"].quantile(probs).unstack()
        per_node = np.zeros((tree.tree_.node_count, N_LEAF_KNOTS))
        per_node[knots.index.to_numpy()] = knots.to_numpy()
        return LeafTree.from_sklearn(tree, per_node)

    # -- sample ------------------------------------------------------------------------------
    def _sample_block(
        self, n: int, rng: np.random.Generator, first_row: int, conditions: dict[str, Any] | None
    ) -> pd.DataFrame:
        feats = np.zeros((n, max(len(self.order_), 1)), dtype=np.float32)
        values: dict[str, np.ndarray] = {}
        for j, name in enumerate(self.order_):
            inputs = (feats[:, :j] if j else np.zeros((n, 1), dtype=np.float32)).astype(np.float64)
            trees = self.trees_[name]
            marginal = self.marginals_[name]
            if "class" in trees:
                tree = trees["class"]
                codes = _draw_class(tree.payload[tree.apply(inputs)], rng)
                k = marginal.probabilities.size
                values[name] = np.where(codes >= k, -1, codes)
                feats[:, j] = values[name]
                continue
            x = np.full(n, np.nan)
            missing = np.zeros(n, dtype=bool)
            if "missing" in trees:
                tree = trees["missing"]
                missing = _draw_class(tree.payload[tree.apply(inputs)], rng) == 1
            if "value" in trees:
                tree = trees["value"]
                knots = tree.payload[tree.apply(inputs)]
                pos = rng.random(n) * (N_LEAF_KNOTS - 1)
                i = np.minimum(pos.astype(np.int64), N_LEAF_KNOTS - 2)
                frac = pos - i
                rows = np.arange(n)
                z = knots[rows, i] * (1 - frac) + knots[rows, i + 1] * frac
                x = np.where(missing, np.nan, marginal.from_uniform(np.clip(ndtr(z), _CLIP, 1 - _CLIP)))
            values[name] = x
            feats[:, j] = np.where(np.isnan(x), _MISSING, x).astype(np.float32)
        return self._decode(values, n, rng, first_row)

    def _decode(self, values: dict[str, np.ndarray], n: int, rng: np.random.Generator, first_row: int) -> pd.DataFrame:
        out: dict[str, pd.Series] = {}
        for name, enc in self.transformer_.encoders.items():
            if enc.representation == "generated":
                out[name] = enc.generate(first_row, n, rng)
            else:
                out[name] = enc.decode(values[name], rng)
        return pd.DataFrame(out)

    # -- persistence -------------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        return {
            "encoders": self.transformer_.get_state(),
            "order": self.order_,
            "marginals": marginals_state(self.marginals_),
            "trees": {name: {k: t.get_state() for k, t in trees.items()} for name, trees in self.trees_.items()},
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.transformer_ = TableTransformer.from_state(self.model_metadata_, state["encoders"])
        self.order_ = [str(n) for n in state["order"]]
        self.marginals_ = marginals_from_state(state["marginals"])
        self.trees_ = {
            name: {k: LeafTree.from_state(t) for k, t in trees.items()} for name, trees in state["trees"].items()
        }

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["leaves"] = {name: {k: int(t.payload.shape[0]) for k, t in trees.items()} for name, trees in self.trees_.items()}
        return info
