"""Gradient-boosted conditionals ``p(class | features)`` (LightGBM), saved as text, never pickled.

Boosting with early stopping on held-out rows gives sharper and better-generalizing conditionals than
one tree: the model stops adding trees as soon as they stop helping on rows it did not train on, so
it does not learn the training rows by heart. ``min_data_in_leaf`` is the same privacy floor as the
trees' ``min_samples_leaf``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from simulacra.errors import ModelFileError
from simulacra.tabular._lgb_text import booster_predict, load_booster


def lightgbm_available() -> bool:
    """True when LightGBM can be imported."""
    try:
        import lightgbm  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        return False
    return True


class BoostedConditional:
    """A LightGBM classifier over classes ``0..n_cells-1`` sampled by inverse CDF.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((2000, 2)).astype(np.float32)
    >>> y = (X[:, 0] > 0.5).astype(int)
    >>> model = BoostedConditional.fit(X, y, n_cells=2, min_samples_leaf=20, rng=rng)
    >>> cells = model.sample(np.full((100, 2), 0.9, dtype=np.float32), rng)
    >>> bool(cells.mean() > 0.9)
    True
    """

    def __init__(self, booster: Any, classes: np.ndarray, n_cells: int, prior: np.ndarray | None = None) -> None:
        self.booster = booster
        self.classes = classes  # model output k is cell classes[k]
        self.n_cells = n_cells
        # without a booster (no features, or one class): the class frequencies of the training rows
        self.prior = np.asarray(prior, dtype=float) if prior is not None else None
        # held-out log-likelihood per row over the alternative given to ``fit`` (``compare``); not saved
        self.gain_over_tree = 0.0
        self.gain_se = 0.0  # its standard error over the held-out rows

    @classmethod
    def fit(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        *,
        n_cells: int,
        min_samples_leaf: int,
        rng: np.random.Generator,
        categorical: list[int] | None = None,
        n_jobs: int | None = None,
        max_rounds: int = 100,
        learning_rate: float = 0.2,
        compare: Callable[[np.ndarray, np.ndarray], Any] | None = None,
    ) -> BoostedConditional:
        """Fit on 85 % of the rows, stopping early on the rest.

        ``compare`` fits the alternative model (anything with ``predict(X) -> (rows, n_cells)``) on the
        same 85 %; :attr:`gain_over_tree` is then the mean log-likelihood per held-out row of the booster
        minus that of the alternative (a caller keeps the booster only where it wins).
        """
        import lightgbm as lgb

        classes, labels = np.unique(y, return_inverse=True)
        k = classes.size
        if k < 2 or X.shape[1] == 0:
            prior = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_cells).astype(float)
            return cls(None, classes, n_cells, prior / max(prior.sum(), 1.0))
        seed = int(rng.integers(0, 2**31 - 1))
        params: dict[str, Any] = {
            "objective": "binary" if k == 2 else "multiclass",
            "learning_rate": learning_rate,
            "num_leaves": 31,
            "min_data_in_leaf": int(min_samples_leaf),
            "min_sum_hessian_in_leaf": 1e-3,
            "lambda_l2": 1.0,
            "max_bin": 63,
            "verbose": -1,
            "seed": seed,
            "num_threads": int(n_jobs or 1),
            "deterministic": True,
            "force_row_wise": True,
        }
        if k > 2:
            params["num_class"] = k
        valid = _held_out(rng, y.size)
        cat = categorical or []
        train = lgb.Dataset(X[~valid], labels[~valid], categorical_feature=cat, free_raw_data=True)
        held = lgb.Dataset(X[valid], labels[valid], reference=train, categorical_feature=cat)
        booster = lgb.train(
            params, train, num_boost_round=max_rounds, valid_sets=[held],
            callbacks=[lgb.early_stopping(10, verbose=False)],
        )
        out = cls(booster, classes, n_cells)
        if compare is not None and valid.any():
            codes = np.asarray(y, dtype=np.int64)
            rows, seen = np.arange(int(valid.sum())), codes[valid]
            other = compare(X[~valid], codes[~valid]).predict(X[valid])[rows, seen]
            own = out.predict(X[valid])[rows, seen]
            gain = np.log(np.maximum(own, 1e-12)) - np.log(np.maximum(other, 1e-12))
            out.gain_over_tree = float(gain.mean())
            out.gain_se = float(gain.std(ddof=1) / np.sqrt(gain.size)) if gain.size > 1 else float("inf")
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, (n_rows, n_cells)."""
        out = np.zeros((len(X), self.n_cells))
        if self.booster is None:
            if self.prior is not None and self.prior.sum() > 0:
                out[:] = self.prior[None, :]
            else:
                out[:, self.classes[0] if self.classes.size else 0] = 1.0
            return out
        p = booster_predict(self.booster, X)
        if p.ndim == 1:
            p = np.column_stack([1.0 - p, p])
        out[:, self.classes] = p
        return out

    def sample(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cum = np.cumsum(self.predict(X), axis=1)
        u = rng.random(len(X)) * cum[:, -1]
        return np.minimum((cum < u[:, None]).sum(axis=1), self.n_cells - 1)

    def probability(self, X: np.ndarray, cell: int) -> np.ndarray:
        return self.predict(X)[:, cell]

    @property
    def cumulative(self) -> np.ndarray:
        """Shape stand-in for :class:`LeafTree` (one row of ``n_cells``)."""
        return np.zeros((1, self.n_cells))

    def get_state(self) -> dict[str, Any]:
        text = self.booster.model_to_string() if self.booster is not None else ""
        state: dict[str, Any] = {"kind": "boosted", "model": text, "classes": self.classes, "n_cells": self.n_cells}
        if self.prior is not None:
            state["prior"] = self.prior
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BoostedConditional:
        booster = None
        classes = np.asarray(state["classes"], dtype=np.int64)
        n_cells = int(state["n_cells"])
        outside = np.any((classes < 0) | (classes >= n_cells))
        if classes.ndim != 1 or np.unique(classes).size != classes.size or outside:
            raise ModelFileError.corrupt(f"a boosted model has classes outside 0..{n_cells - 1} or repeated")
        if state["model"]:
            booster = load_booster(state["model"])
            outputs = booster.num_model_per_iteration()
            if outputs != (1 if classes.size == 2 else classes.size):
                raise ModelFileError.corrupt(f"a boosted model has {outputs} output(s) per row for {classes.size} classes")
        prior = np.asarray(state["prior"], dtype=float) if "prior" in state else None
        if prior is not None and (prior.shape != (n_cells,) or not np.all(np.isfinite(prior) & (prior >= 0))):
            raise ModelFileError.corrupt(f"a boosted model has class frequencies that are not {n_cells} non-negative numbers")
        return cls(booster, classes, n_cells, prior)


class BoostedMean:
    """A small LightGBM regression of a column's rank on the columns before it.

    Its prediction is given to the column's tree as one more feature, so the tree's leaves gather rows
    with a similar predicted rank: a sharp conditional mean from boosting, the conditional shape from
    the leaf histograms.
    """

    def __init__(self, booster: Any) -> None:
        self.booster = booster
        self.gain_over_tree = 0.0

    @classmethod
    def fit(
        cls, X: np.ndarray, target: np.ndarray, *, min_samples_leaf: int, rng: np.random.Generator,
        categorical: list[int] | None = None, n_jobs: int | None = None, max_rounds: int = 40,
        learning_rate: float = 0.3, num_leaves: int = 15, compare: bool = True,
    ) -> BoostedMean:
        """Fit on 85 % of the rows, stopping early on the rest.

        With ``compare``, :attr:`gain_over_tree` is measured on those held-out rows against one
        decision tree (for callers that choose between the two); without it, it stays 0.0 and no
        tree is fitted.
        """
        import lightgbm as lgb

        params = {
            "objective": "regression", "learning_rate": learning_rate, "num_leaves": num_leaves,
            "min_data_in_leaf": int(min_samples_leaf), "lambda_l2": 1.0, "max_bin": 63, "verbose": -1,
            "seed": int(rng.integers(0, 2**31 - 1)), "num_threads": int(n_jobs or 1), "deterministic": True,
            "force_row_wise": True,
        }
        valid = _held_out(rng, target.size)
        cat = categorical or []
        train = lgb.Dataset(X[~valid], target[~valid], categorical_feature=cat)
        held = lgb.Dataset(X[valid], target[valid], reference=train, categorical_feature=cat)
        booster = lgb.train(params, train, num_boost_round=max_rounds, valid_sets=[held],
                            callbacks=[lgb.early_stopping(5, verbose=False)])
        out = cls(booster)
        if compare:
            out.gain_over_tree = _gain_over_tree(out, X, target, valid, min_samples_leaf)
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(booster_predict(self.booster, X)).astype(np.float32)

    def get_state(self) -> dict[str, Any]:
        return {"kind": "mean", "model": self.booster.model_to_string()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BoostedMean:
        return cls(load_booster(state["model"]))


def _gain_over_tree(mean: BoostedMean, X: np.ndarray, target: np.ndarray, valid: np.ndarray, leaf: int) -> float:
    """Held-out R² of the boosted prediction minus that of one tree with the same leaf floor."""
    from sklearn.tree import DecisionTreeRegressor

    if valid.sum() < 10 or (~valid).sum() < 2 * leaf:
        return 0.0
    y = target[valid]
    total = float(((y - y.mean()) ** 2).sum()) or 1.0
    tree = DecisionTreeRegressor(min_samples_leaf=leaf, random_state=0).fit(X[~valid], target[~valid])
    r2_tree = 1.0 - float(((y - tree.predict(X[valid])) ** 2).sum()) / total
    r2_boost = 1.0 - float(((y - mean.predict(X[valid])) ** 2).sum()) / total
    return r2_boost - r2_tree


def _held_out(rng: np.random.Generator, n: int) -> np.ndarray:
    """About 15 % of ``n`` rows for early stopping; on a table so small that the draw holds out none
    (or every one), a single drawn row, so that both sides have rows (LightGBM refuses an empty one)."""
    valid = rng.random(n) < 0.15
    if n > 1 and (not valid.any() or valid.all()):
        valid = np.zeros(n, dtype=bool)
        valid[int(rng.integers(n))] = True
    return valid
