"""The column models of ``autoreg``: one conditional ``p(x_j | features)`` per column of the chain.

A discrete column (categories, flags, few-level numbers) is a distribution over its codes, with
missing as one more code: a smoothed tree (:class:`LeafTree`), or gradient boosting when it has few
classes. A continuous column is a distribution over the *cells* of its rank scale
(:class:`NumericCells`), its value then drawn inside the cell, plus a tree for whether it is missing.
Where boosting predicts a continuous column clearly better than a tree, the tree gets that prediction
as one more feature, or (residual mode) models the spread around it.

A column's models are a dict of parts: ``"value"`` (always), ``"missing"``, ``"mean"`` (the boosted
prediction) and ``"spread"`` (the cells of the residuals). Every part is saved as JSON and arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from simulacra.tabular._boosted import BoostedConditional, BoostedMean, lightgbm_available
from simulacra.tabular._cells import NumericCells
from simulacra.tabular._complexity import fit_selected
from simulacra.tabular._leaftrees import LeafTree

#: A numeric column's tree gets the boosted prediction only if boosting explains this much more of
#: the column's rank (held-out R²) than a tree alone: sampling stays fast where trees suffice.
MIN_BOOST_GAIN = 0.03
#: Boosting of a continuous column's normal scores (residual mode): learning rate, rounds at most
#: (early stopping decides), leaves per tree; and the cells of the residual distribution.
RESIDUAL_RATE = 0.25
RESIDUAL_ROUNDS = 80
RESIDUAL_LEAVES = 31
RESIDUAL_BINS = 32
#: The leaves of the residual histograms hold this many leaf floors of rows: the spread around the
#: boosted prediction is a smooth function, and small leaves of it pulled rows toward their training
#: neighbours (DCR share 0.517 on california with the plain floor, 0.511 with 16 floors; issue 17).
RESIDUAL_LEAF_FACTOR = 16
#: A few-class column keeps its booster only where the booster's held-out log-likelihood beats the tree
#: the column would get instead by more than this many standard errors; None: always boosted.
CLASS_BOOST_GAIN: float | None = 2.0
#: Boosting of a few-class column in the chain: rounds at most (early stopping decides) and rate.
CLASS_ROUNDS = 100
CLASS_RATE = 0.2
#: ...and of a redrawn few-class column (a label, see ``refine``): fewer rounds at a faster rate, so
#: that its extra draw given the whole row keeps sampling fast.
REFINE_CLASS_ROUNDS = 40
REFINE_CLASS_RATE = 0.4
#: Boosting a numeric column is tried only with this many leaf floors of rows (fewer rows: a tree
#: already uses them all) and at least this many feature columns (one feature: a tree sees it whole).
BOOST_MIN_LEAVES = 4
BOOST_MIN_FEATURES = 2
#: Normal scores of ranks at 0 or 1 are pulled in to this bound (beyond any training row's score).
SCORE_BOUND = 4.5


@dataclass(frozen=True)
class ColumnFitter:
    """Fits the models of one column; holds the synthesizer's settings and the continuous columns' cells."""

    cells: Mapping[str, NumericCells]
    min_samples_leaf: int
    smoothing: float
    min_category_count: int
    max_depth: int | None = None
    category_depth: int | None = None
    n_trees: int = 1
    max_features: float | None = None
    n_jobs: int | None = None
    honest: bool | str = True
    boosted_classes: int = 4
    boost_numbers: bool = True
    complexity: str = "fixed"

    def fit(
        self, name: str, X: np.ndarray, names: list[str], target: np.ndarray, rng: np.random.Generator, *,
        n_codes: int, rounds: int | None = None,
    ) -> dict[str, Any]:
        """The models of column ``name`` given the feature columns ``names`` (``rounds``: a redrawn column)."""
        if name in self.cells:
            return self._fit_numeric(X, names, target.astype(float), self.cells[name], rng, rounds=rounds)
        codes = target.astype(np.int64)
        depth = _shallower(self.max_depth, self.category_depth)
        if self._boost(codes):
            gate = CLASS_BOOST_GAIN
            # the tree the column would get instead, fitted on the booster's training rows (its own
            # generator, so a booster that wins leaves every later draw of the fit as it was)
            alternative = None if gate is None else (
                lambda Xt, yt: self._tree(Xt, yt, n_codes + 1, rng.spawn(1)[0], max_depth=depth))
            boosted = BoostedConditional.fit(
                X, codes, n_cells=n_codes + 1, min_samples_leaf=self.min_samples_leaf, rng=rng,
                categorical=self._categorical(names), n_jobs=self.n_jobs,
                max_rounds=CLASS_ROUNDS if rounds is None else REFINE_CLASS_ROUNDS,
                learning_rate=CLASS_RATE if rounds is None else REFINE_CLASS_RATE, compare=alternative,
            )
            if gate is None or boosted.booster is None or boosted.gain_over_tree - gate * boosted.gain_se > 0.0:
                return {"value": boosted}
        return {"value": self._tree(X, codes, n_codes + 1, rng, max_depth=depth)}

    def _categorical(self, names: list[str]) -> list[int]:
        return [i for i, c in enumerate(names) if c not in self.cells]

    def _boost(self, codes: np.ndarray) -> bool:
        limit = int(self.boosted_classes or 0)
        return limit > 0 and np.unique(codes).size <= limit and lightgbm_available()

    def _tree(
        self, X: np.ndarray, y: np.ndarray, n_cells: int, rng: np.random.Generator, regress_on: Any = None,
        max_depth: int | None = None, min_samples_leaf: int | None = None,
    ) -> LeafTree:
        """One conditional's tree: its depth and floor chosen on held-out rows with ``complexity="holdout"``."""
        depth = self.max_depth if max_depth is None else max_depth
        floor = int(min_samples_leaf or self.min_samples_leaf)
        if self.complexity == "holdout" and int(self.n_trees) <= 1:
            return fit_selected(X, y, n_cells=n_cells, min_samples_leaf=floor, smoothing=float(self.smoothing),
                                rng=rng, regress_on=regress_on, max_depth=depth, honest=self.honest,
                                n_jobs=self.n_jobs)
        return LeafTree.fit(
            X, y, n_cells=n_cells, min_samples_leaf=floor, smoothing=float(self.smoothing),
            rng=rng, regress_on=regress_on, max_depth=depth,
            n_trees=int(self.n_trees), max_features=self.max_features, n_jobs=self.n_jobs, honest=self.honest,
        )

    def _fit_numeric(
        self, prefix: np.ndarray, names: list[str], u: np.ndarray, cells: NumericCells, rng: np.random.Generator,
        rounds: int | None = None,
    ) -> dict[str, Any]:
        missing = ~np.isfinite(u)
        out: dict[str, Any] = {}
        if missing.any():
            out["missing"] = self._tree(prefix, missing.astype(np.int64), 2, rng)
        ok = ~missing
        if ok.any():
            cell = cells.cell_of(u[ok])
            X = prefix[ok]
            if self.boost_numbers and X.shape[1] >= BOOST_MIN_FEATURES \
                    and ok.sum() >= BOOST_MIN_LEAVES * self.min_samples_leaf and lightgbm_available():
                cats = self._categorical(names)
                if not cells.discrete_:
                    residual = self._fit_residual(X, u[ok], cats, rng, rounds=rounds)
                    if residual is not None:
                        out.update(residual)
                        return out
                mean = BoostedMean.fit(X, u[ok], min_samples_leaf=self.min_samples_leaf, rng=rng,
                                       categorical=cats, n_jobs=self.n_jobs)
                if mean.gain_over_tree >= MIN_BOOST_GAIN:
                    out["mean"] = mean
                    X = np.column_stack([X, mean.predict(X)])
            out["value"] = self._tree(X, cell, cells.n_cells, rng, regress_on=u[ok])
        return out

    def _fit_residual(
        self, X: np.ndarray, u: np.ndarray, cats: list[int], rng: np.random.Generator, rounds: int | None = None
    ) -> dict[str, Any] | None:
        """Residual mode of a continuous column that the columns before it predict well.

        Boosting predicts the column's normal score ``z = Φ⁻¹(u)``; a tree over the features and that
        prediction holds, in each leaf of at least ``min_samples_leaf`` rows, a smoothed histogram of
        the residuals ``z - ẑ``. A value is ``ẑ`` plus a residual drawn from its leaf: the conditional
        mean is as sharp as boosting makes it, the spread is the one seen around it, and the normal
        scale keeps a skewed column's tail (a price) as wide as it is. None when boosting does not
        beat a tree by ``MIN_BOOST_GAIN``.
        """
        z = normal_scores(u)
        mean = BoostedMean.fit(X, z, min_samples_leaf=self.min_samples_leaf, rng=rng, categorical=cats,
                               n_jobs=self.n_jobs, max_rounds=rounds or RESIDUAL_ROUNDS,
                               learning_rate=RESIDUAL_RATE * RESIDUAL_ROUNDS / (rounds or RESIDUAL_ROUNDS),
                               num_leaves=RESIDUAL_LEAVES)
        if mean.gain_over_tree < MIN_BOOST_GAIN:
            return None
        predicted = mean.predict(X)
        r = z - predicted
        spread = NumericCells(n_bins=RESIDUAL_BINS, min_count=self.min_category_count).fit(r)
        if spread.discrete_:
            return None
        cell = spread.cell_of(spread.to_uniform(r, rng))
        tree = self._tree(np.column_stack([X, predicted]), cell, spread.n_cells, rng, regress_on=np.abs(r),
                          min_samples_leaf=RESIDUAL_LEAF_FACTOR * self.min_samples_leaf)
        return {"mean": mean, "spread": spread, "value": tree}


def _shallower(a: int | None, b: int | None) -> int | None:
    """The stricter of two depth limits (None: no limit)."""
    return b if a is None else a if b is None else min(a, b)


# -- sampling ------------------------------------------------------------------------------------
def n_codes_of(models: Mapping[str, Any]) -> int:
    """Codes of a discrete column's model (its last class stands for missing)."""
    return int(models["value"].cumulative.shape[1] - 1)


def draw(
    models: Mapping[str, Any], cells: NumericCells | None, prefix: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Values (encoded) and chain features of one column for every row of ``prefix``."""
    n = len(prefix)
    if cells is None:
        codes = models["value"].sample(prefix, rng)
        return np.where(codes >= n_codes_of(models), -1, codes), codes.astype(np.float32)
    u = np.full(n, np.nan)
    present = np.ones(n, dtype=bool)
    if "missing" in models:
        present = models["missing"].sample(prefix, rng) == 0
    if "value" in models and present.any():
        X = prefix[present]
        if "mean" in models:
            predicted = models["mean"].predict(X)
            X = np.column_stack([X, predicted])
        cell = models["value"].sample(X, rng)
        if "spread" in models:
            spread = models["spread"]
            r = spread.from_uniform(spread.draw_in_cell(cell, rng))
            u[present] = np.clip(special.ndtr(predicted + r), 0.0, 1.0)
        else:
            u[present] = cells.draw_in_cell(cell, rng)
    x = np.full(n, np.nan)
    x[present] = cells.from_uniform(u[present])
    return x, u.astype(np.float32)


def probability(
    models: Mapping[str, Any], cells: NumericCells | None, prefix: np.ndarray, cond: Mapping[str, Any]
) -> np.ndarray:
    """The model's probability of the condition ``cond`` for each candidate row of ``prefix``."""
    if "code" in cond:
        return models["value"].probability(prefix, cond["code"])
    p_missing = models["missing"].probability(prefix, 1) if "missing" in models else np.zeros(len(prefix))
    if cond["missing"]:
        return p_missing
    assert cells is not None
    lo, hi = cond["interval"]
    first = int(cells.cell_of(np.array([lo]))[0])
    last = int(cells.cell_of(np.array([max(hi - 1e-12, lo)]))[0])
    X = prefix
    if "mean" in models:
        predicted = models["mean"].predict(X)
        X = np.column_stack([X, predicted])
    if "spread" in models:
        if hi <= lo:  # one value: the probability of its cell stands in for a density
            lo, hi = float(cells.edges_[first]), float(cells.edges_[first + 1])
        zlo, zhi = normal_scores(np.array([lo, hi]), clip=False)
        p_value = _residual_cdf(models, X, zhi - predicted) - _residual_cdf(models, X, zlo - predicted)
    else:
        p_value = sum(models["value"].probability(X, c) for c in range(first, last + 1))
    return (1.0 - p_missing) * p_value


def _residual_cdf(models: Mapping[str, Any], X: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``P(residual <= r)`` for each row under its leaf's residual histogram."""
    spread: NumericCells = models["spread"]
    rank = spread.rank_of(r)
    cell = spread.cell_of(rank)
    width = np.maximum(spread.edges_[cell + 1] - spread.edges_[cell], 1e-12)
    fraction = np.clip((rank - spread.edges_[cell]) / width, 0.0, 1.0)
    out = models["value"].cdf(X, cell, fraction)
    out = np.where(rank <= 0.0, 0.0, out)
    return np.where(rank >= 1.0, 1.0, out)


def normal_scores(u: np.ndarray, clip: bool = True) -> np.ndarray:
    """``Φ⁻¹(u)``; ranks at 0 or 1 are pulled in to ``±SCORE_BOUND``."""
    z = special.ndtri(np.asarray(u, dtype=float))
    return np.clip(z, -SCORE_BOUND, SCORE_BOUND) if clip else z


# -- persistence ---------------------------------------------------------------------------------
def models_state(models: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The JSON-and-arrays state of every column's models."""
    return {name: {part: t.get_state() for part, t in m.items()} for name, m in models.items()}


def models_from_state(state: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {part: _part_from_state(t) for part, t in m.items()} for name, m in state.items()}


def _part_from_state(state: dict[str, Any]) -> Any:
    if state.get("kind") == "cells":
        return NumericCells.from_state(state)
    if state.get("kind") == "boosted":
        return BoostedConditional.from_state(state)
    if state.get("kind") == "mean":
        return BoostedMean.from_state(state)
    return LeafTree.from_state(state)
