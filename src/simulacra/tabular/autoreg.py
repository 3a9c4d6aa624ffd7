"""The default synthesizer: an autoregressive chain of smoothed trees over a discretized table.

Every column is modelled given the columns before it, ``p(x_j | x_<j)``. Categories are predicted
directly; numbers are predicted as *cells* of their rank (quantile) scale, and the value is then drawn
inside the cell from the column's quantile function, so marginals are kept while values are new.
Each conditional is a CART tree whose leaves hold at least ``min_samples_leaf`` training rows and
whose histograms are smoothed toward the column's marginal: these two knobs are the privacy floor.

The model is split along its seams: the chain's column order (:mod:`._autoreg_order`), the column
models and how they are sampled (:mod:`._autoreg_columns`), and the refinement step that redraws a
few columns given the whole row (:mod:`._refine`). This module fits and samples the chain, meets
conditions and saves the result. No training row is kept, not even during ``fit``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from simulacra.errors import ConstraintError, InputError
from simulacra.tabular._autoreg_columns import (
    ColumnFitter,
    draw,
    models_from_state,
    models_state,
    n_codes_of,
    probability,
)
from simulacra.tabular._autoreg_order import chain_order
from simulacra.tabular._cells import NumericCells
from simulacra.tabular._refine import REFINE_ROUNDS, refined_columns
from simulacra.tabular.base import BaseSynthesizer, resolve_seed
from simulacra.tabular.registry import register
from simulacra.transform import TableTransformer
from simulacra.transform.datetime import DatetimeEncoder
from simulacra.transform.numerical import to_numbers

#: The default depth limit of a categorical column's tree (``category_depth``; issue 17): Adult's DCR
#: share went from 0.513/0.516 to 0.508/0.508 (seeds 0/1) for 0.001 of quality. Depth 4 cost Adult
#: 0.011 of quality, and numeric columns keep deep trees: at depth 6 california's quality fell by 0.007.
CATEGORY_DEPTH = 6


@register
class AutoregressiveSynthesizer(BaseSynthesizer):
    """Column-by-column trees over a discretized table, with privacy floors (the default model).

    Parameters
    ----------
    metadata : Metadata, dict or path, optional
        Column types; detected from the data when omitted.
    random_state : int, optional
        Seed; the same seed gives the same rows.
    min_samples_leaf : int, optional
        Privacy floor: every conditional distribution is learned from at least this many rows (the
        residual histograms of a boosted numeric column from 16 times as many). By default it grows
        with the table: one row in 250, at least 30 and at most 100 (:func:`default_leaf`).
    smoothing : float, default 1.0
        Pseudo-count of the column's marginal mixed into every leaf histogram.
    n_bins : int, default 64
        Rank cells of a continuous column (finer cells: closer conditionals, slower fit).
    min_category_count : int, default 5
        A category or numeric level seen in fewer rows is never reproduced verbatim, and numbers
        never go beyond the ``min_category_count``-th smallest and largest training values.
    order : list of str or str, optional
        Column order of the chain: the table's own order when omitted; a list puts those columns
        first; ``"predictability"`` puts the columns the others explain best last, ``"hubs"`` the
        columns most associated with the others first.
    refine : "auto", list of str or None, default "auto"
        Columns drawn once more after the chain, each given all the other columns (a Gibbs step that
        keeps the joint distribution): ``"auto"`` picks the columns that the later columns of the chain
        predict much better than the earlier ones (a target placed early in the table); None turns
        it off.
    max_depth : int, optional
        Depth limit of each tree.
    category_depth : int or None, default 6
        Depth limit of the trees of categorical and boolean columns (None: ``max_depth`` alone). A
        category is then drawn given at most this many conditions on the columns before it: deeper
        trees reproduced rare combinations of categories at their training frequency (issue 17).
    oversample : int, default 4
        Candidate rows per requested row when sampling under conditions (importance resampling).
    complexity : {"holdout", "fixed"}, default "holdout"
        ``"holdout"``: each tree chooses its own depth limit and leaf floor (1, 2 or 4 times
        ``min_samples_leaf``) by its log-likelihood on rows it did not see (3 folds), and is pruned to
        that choice (shown per column by :meth:`describe`). More private where the data cannot support
        deep trees (DCR share, means over seeds: german_credit 0.537 -> 0.516, california 0.512 ->
        0.508), about 1.3-1.8 times the fit CPU time of ``"fixed"`` (every tree grown with ``max_depth``
        and ``min_samples_leaf`` as given, the default before issue 17's sixth pass; model files
        without the parameter were fitted that way). :mod:`._complexity`; forests (``n_trees`` > 1)
        always use ``"fixed"``.
    boosted_classes : int, default 4
        Discrete columns with at most this many classes (missing counts as one) are modelled by
        gradient boosting (LightGBM) instead of one tree, where the booster's held-out log-likelihood
        beats the tree's by two standard errors (issue 17); 0 turns it off.
    boost_numbers : bool, default True
        Give a numeric column's tree a boosted prediction of its rank as an extra feature, where
        boosting predicts the column clearly better than a tree (held-out R² gain of 0.03 or more).
    honest : bool or "full", default True
        Honest splits: each tree's splits are chosen on a random half of the rows (with half the
        leaf floor) and its leaf histograms counted on all rows; ``"full"`` counts only the other
        half (more private, less faithful).
    n_trees : int, default 1
        Trees per conditional; with more than one, a bagged forest (each on half the rows) whose
        leaf histograms are averaged: smoother conditionals, better utility and privacy, slower fit.
    max_features : float, optional
        Share of the features tried at each split of a forest's trees (all when omitted).
    n_jobs : int, optional
        Threads used to grow a forest (all cores when omitted).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": range(200), "g": ["a", "b"] * 100})
    >>> rows = AutoregressiveSynthesizer(random_state=0).fit(df).sample(5)
    >>> list(rows.columns), len(rows)
    (['x', 'g'], 5)
    """

    name = "autoreg"
    supports_conditions = True
    default_rank = 20
    # files from before a parameter were fitted without it: no categorical depth limit, fixed complexity
    _params_before_added: ClassVar[dict[str, Any]] = {"category_depth": None, "complexity": "fixed"}

    def __init__(
        self,
        *,
        metadata: Any = None,
        random_state: int | None = None,
        min_samples_leaf: int | None = None,
        smoothing: float = 1.0,
        n_bins: int = 64,
        min_category_count: int = 5,
        order: list[str] | str | None = None,
        max_depth: int | None = None,
        category_depth: int | None = CATEGORY_DEPTH,
        oversample: int = 4,
        n_trees: int = 1,
        max_features: float | None = None,
        n_jobs: int | None = None,
        honest: bool | str = True,
        boosted_classes: int = 4,
        boost_numbers: bool = True,
        refine: list[str] | str | None = "auto",
        complexity: str = "holdout",
    ) -> None:
        self.metadata = metadata
        self.random_state = random_state
        self.min_samples_leaf = min_samples_leaf
        self.smoothing = smoothing
        self.n_bins = n_bins
        self.min_category_count = min_category_count
        self.order = order
        self.max_depth = max_depth
        self.category_depth = category_depth
        self.oversample = oversample
        self.n_trees = n_trees
        self.max_features = max_features
        self.n_jobs = n_jobs
        self.honest = honest
        self.boosted_classes = boosted_classes
        self.boost_numbers = boost_numbers
        self.refine = refine
        self.complexity = complexity

    # -- fit ---------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for name in ("min_samples_leaf", "n_bins", "min_category_count", "oversample", "n_trees", "max_depth",
                     "category_depth"):
            value = getattr(self, name)
            if name in ("min_samples_leaf", "max_depth", "category_depth") and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.smoothing, (int, float)) or self.smoothing < 0:
            raise InputError(f"smoothing must be a number >= 0, got {self.smoothing!r}")
        if self.complexity not in ("fixed", "holdout"):
            raise InputError(f"complexity must be 'fixed' or 'holdout', got {self.complexity!r}")

    def _fit(self, data: pd.DataFrame) -> None:
        self._check_params()
        self.transformer_ = TableTransformer(self.model_metadata_, min_category_count=self.min_category_count).fit(data)
        rng = np.random.default_rng(resolve_seed(self.random_state))
        self.min_samples_leaf_ = int(self.min_samples_leaf or default_leaf(len(data)))
        learned = [n for n, e in self.transformer_.encoders.items() if e.representation != "generated"]
        self.chain_ = chain_order(self.order, learned, self.transformer_.encoders, data)
        self.cells_: dict[str, NumericCells] = {}
        fitter = ColumnFitter(
            self.cells_, min_samples_leaf=self.min_samples_leaf_, smoothing=self.smoothing,
            min_category_count=self.min_category_count, max_depth=self.max_depth,
            category_depth=self.category_depth, n_trees=self.n_trees,
            max_features=self.max_features, n_jobs=self.n_jobs, honest=self.honest,
            boosted_classes=self.boosted_classes, boost_numbers=self.boost_numbers, complexity=self.complexity,
        )
        features = np.full((len(data), len(self.chain_)), np.nan, dtype=np.float32)
        self.models_: dict[str, dict[str, Any]] = {}
        for j, name in enumerate(self.chain_):
            enc = self.transformer_.encoders[name]
            x = enc.encode(data[name])
            if enc.representation == "continuous":
                cells = NumericCells(n_bins=self.n_bins, min_count=self.min_category_count).fit(x)
                self.cells_[name] = cells
                features[:, j] = cells.to_uniform(x, rng)
            else:
                features[:, j] = np.where(x < 0, self._n_codes(name), np.minimum(x, self._n_codes(name) - 1))
            self.models_[name] = fitter.fit(
                name, features[:, :j], self.chain_[:j], features[:, j], rng, n_codes=self._n_codes(name)
            )
        self.n_features_ = len(self.chain_)
        self.refine_ = refined_columns(self.refine, self.chain_, features)
        self.refined_: dict[str, dict[str, Any]] = {}
        for name in self.refine_:
            j = self.chain_.index(name)
            others = [c for c in self.chain_ if c != name]
            self.refined_[name] = fitter.fit(
                name, np.delete(features, j, axis=1), others, features[:, j], rng, n_codes=self._n_codes(name),
                rounds=REFINE_ROUNDS,
            )

    def _n_codes(self, name: str) -> int:
        """Codes of a discrete column's encoder (at least one)."""
        return max(int(getattr(self.transformer_.encoders[name], "n_codes", 1)), 1)

    # -- sample ------------------------------------------------------------------------------
    def _sample_block(
        self, n: int, rng: np.random.Generator, first_row: int, conditions: dict[str, Any] | None
    ) -> pd.DataFrame:
        size = n * int(self.oversample) if conditions else n
        features = np.full((size, self.n_features_), np.nan, dtype=np.float32)
        values: dict[str, np.ndarray] = {}
        for j, name in enumerate(self.chain_):
            cond = conditions.get(name) if conditions else None
            if cond is not None:
                keep = self._resample_for(name, j, features, cond, n, rng)
                features = features[keep]
                values = {k: v[keep] for k, v in values.items()}
                values[name], features[:, j] = self._forced(name, cond, n, rng)
                continue
            values[name], features[:, j] = self._draw(name, features[:, :j], rng)
        for name in self.refine_:
            if conditions and name in conditions:
                continue  # a conditioned column keeps its value; the others still agree with it
            j = self.chain_.index(name)
            values[name], features[:, j] = self._draw(
                name, np.delete(features, j, axis=1), rng, models=self.refined_[name]
            )
        out: dict[str, pd.Series] = {}
        for name, enc in self.transformer_.encoders.items():
            if enc.representation == "generated":
                out[name] = enc.generate(first_row, n, rng)
            else:
                out[name] = enc.decode(values[name][:n], rng)
        frame = pd.DataFrame(out)
        if conditions:
            for name, cond in conditions.items():
                if cond["value"] is not None:
                    frame[name] = pd.Series([cond["value"]] * n, dtype=frame[name].dtype)
        return frame

    def _draw(
        self, name: str, prefix: np.ndarray, rng: np.random.Generator, models: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values (encoded) and chain features of one column for every row."""
        return draw(self.models_[name] if models is None else models, self.cells_.get(name), prefix, rng)

    # -- conditions --------------------------------------------------------------------------
    def _prepare_conditions(self, conditions: dict[str, Any] | None) -> dict[str, Any] | None:
        conds = super()._prepare_conditions(conditions)
        if not conds:
            return None
        return {name: self._condition(name, value) for name, value in conds.items()}

    def _condition(self, name: str, value: Any) -> dict[str, Any]:
        enc = self.transformer_.encoders[name]
        if enc.representation == "generated":
            raise ConstraintError(f"Cannot condition on '{name}': its values are generated, not learned.")
        is_missing = value is None or (isinstance(value, float) and np.isnan(value))
        if is_missing and enc.missing_rate <= 0:
            raise ConstraintError(f"Condition {name}=missing is impossible: '{name}' has no missing values.")
        if name not in self.cells_:
            n_codes = n_codes_of(self.models_[name])
            if is_missing:
                return {"code": n_codes, "value": None}
            code = int(enc.encode(pd.Series([value]))[0])
            labels = list(getattr(enc, "labels", [False, True]))
            if code < 0 or code >= n_codes or not _in_labels(value, labels):
                shown = ", ".join(repr(v) for v in labels[:10])
                raise ConstraintError(
                    f"Condition {name}={value!r} is impossible: the model never learned that value "
                    f"(values seen in fewer than {self.min_category_count} rows are protected); known values "
                    f"include: {shown}"
                )
            return {"code": code, "value": enc.decode(np.array([code])).iloc[0]}
        if is_missing:
            return {"missing": True, "value": None}
        if isinstance(enc, DatetimeEncoder):
            number = float(enc.encode(pd.Series([value]))[0])
            shown_value: Any = enc.dates(pd.Series([value])).iloc[0]
        else:
            number = float(to_numbers(pd.Series([value]))[0])
            shown_value = value
        cells = self.cells_[name]
        interval = cells.rank_interval(number) if np.isfinite(number) else None
        if interval is None:
            lo, hi = float(cells.values_[0]), float(cells.values_[-1])
            raise ConstraintError(
                f"Condition {name}={value!r} is impossible: the model's values of '{name}' range from "
                f"{lo:g} to {hi:g}" + (" and that level never occurs." if cells.discrete_ else ".")
            )
        return {"missing": False, "interval": interval, "number": number, "value": shown_value}

    def _resample_for(
        self, name: str, j: int, features: np.ndarray, cond: dict[str, Any], n: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Rows of the candidates kept for a condition on column ``j`` (importance resampling)."""
        w = np.asarray(probability(self.models_[name], self.cells_.get(name), features[:, :j], cond), dtype=float)
        total = float(w.sum())
        if not np.isfinite(total) or total <= 0:
            raise ConstraintError(
                f"Condition on '{name}' is impossible under the model together with the other conditions."
            )
        return rng.choice(len(w), size=n, replace=True, p=w / total)

    def _forced(self, name: str, cond: dict[str, Any], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if "code" in cond:
            n_codes = n_codes_of(self.models_[name])
            code = cond["code"]
            return np.full(n, -1 if code >= n_codes else code), np.full(n, code, dtype=np.float32)
        if cond["missing"]:
            return np.full(n, np.nan), np.full(n, np.nan, dtype=np.float32)
        lo, hi = cond["interval"]
        u = lo + rng.random(n) * (hi - lo)
        return np.full(n, cond["number"]), u.astype(np.float32)

    # -- persistence and inspection ---------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        return {
            "encoders": self.transformer_.get_state(),
            "chain": list(self.chain_),
            "cells": {name: c.get_state() for name, c in self.cells_.items()},
            "models": models_state(self.models_),
            "refine": list(self.refine_),
            "refined": models_state(self.refined_),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.transformer_ = TableTransformer.from_state(self.model_metadata_, state["encoders"])
        self.chain_ = [str(c) for c in state["chain"]]
        self.cells_ = {name: NumericCells.from_state(c) for name, c in state["cells"].items()}
        self.models_ = models_from_state(state["models"])
        self.n_features_ = len(self.chain_)
        self.refine_ = [str(c) for c in state.get("refine", [])]
        self.refined_ = models_from_state(state.get("refined", {}))

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        columns: dict[str, Any] = {}
        for name in self.chain_:
            enc = self.transformer_.encoders[name]
            value = self.models_[name].get("value")
            entry: dict[str, Any] = {
                "type": enc.kind,
                "missing_rate": round(enc.missing_rate, 4),
                "leaves": int(value.cumulative.shape[0]) if value is not None else 0,
            }
            chosen = getattr(value, "complexity", None)
            if chosen is not None:  # complexity="holdout": the depth and floor its held-out rows chose
                entry["complexity"] = dict(chosen)
            if name in self.cells_:
                entry["cells"] = self.cells_[name].n_cells
            elif value is not None:
                entry["categories"] = int(value.cumulative.shape[1] - 1)
            columns[name] = entry
        info["chain"] = list(self.chain_)
        info["refined"] = list(self.refine_)
        info["columns"] = columns
        info["privacy"] = {"min_samples_leaf": getattr(self, "min_samples_leaf_", self.min_samples_leaf),
                           "smoothing": self.smoothing,
                           "min_category_count": self.min_category_count,
                           "max_depth": self.max_depth, "category_depth": self.category_depth,
                           "complexity": self.complexity}
        return info


#: The default leaf floor: one training row in ``LEAF_SHARE``, within ``LEAF_RANGE`` (issue 17: a floor
#: of 30 let rows of large tables lean toward their training neighbours, DCR share 0.519 on Adult; a
#: floor of 100 on a table of a few hundred rows leaves no room for any split).
LEAF_SHARE = 250
LEAF_RANGE = (30, 100)


def default_leaf(n_rows: int) -> int:
    """The leaf floor used when ``min_samples_leaf`` is not given.

    Examples
    --------
    >>> default_leaf(800), default_leaf(17_290), default_leaf(32_561)
    (30, 69, 100)
    """
    return int(np.clip(n_rows // LEAF_SHARE, *LEAF_RANGE))


def _in_labels(value: Any, labels: list[Any]) -> bool:
    try:
        return any(value == lab or str(value) == str(lab) for lab in labels)
    except Exception:  # pragma: no cover - exotic comparisons
        return False
