"""The default synthesizer: an autoregressive chain of smoothed trees over a discretized table.

Every column is modelled given the columns before it, ``p(x_j | x_<j)``. Categories are predicted
directly; numbers are predicted as *cells* of their rank (quantile) scale, and the value is then drawn
inside the cell from the column's quantile function, so marginals are kept while values are new.
Each conditional is a CART tree whose leaves hold at least ``min_samples_leaf`` training rows and
whose histograms are smoothed toward the column's marginal: these two knobs are the privacy floor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from simulacra.errors import ConstraintError, InputError
from simulacra.tabular._boosted import BoostedConditional, BoostedMean, lightgbm_available
from simulacra.tabular._cells import NumericCells
from simulacra.tabular._leaftrees import LeafTree
from simulacra.tabular._refine import pick_refined
from simulacra.tabular.base import BaseSynthesizer, resolve_seed
from simulacra.tabular.registry import register
from simulacra.transform import TableTransformer
from simulacra.transform.datetime import to_datetimes
from simulacra.transform.numerical import to_numbers

#: A numeric column's tree gets the boosted prediction only if boosting explains this much more of
#: the column's rank (held-out R²) than a tree alone: sampling stays fast where trees suffice.
MIN_BOOST_GAIN = 0.03
#: Boosting of a continuous column's normal scores (residual mode): learning rate, rounds at most
#: (early stopping decides), leaves per tree; and the cells of the residual distribution.
RESIDUAL_RATE = 0.25
RESIDUAL_ROUNDS = 80
RESIDUAL_LEAVES = 31
RESIDUAL_BINS = 32
#: ``refine="auto"`` draws a column again given the whole row when that raises its predictability
#: (held-out R² of a tree on ranks) by this much over its chain prefix.
REFINE_GAIN = 0.5
#: ...and the other columns together explain it this much better than the best single one does.
REFINE_JOINT = 0.15
#: Features (the most rank-correlated columns) of each predictability check, so wide tables stay fast.
REFINE_FEATURES = 24
#: Boosting rounds at most of a redrawn column's model (few columns: a finer model is affordable).
REFINE_ROUNDS = 100
#: ...and of a redrawn few-class column (a label): a faster rate, so that sampling stays fast.
REFINE_CLASS_ROUNDS = 40


@register
class AutoregressiveSynthesizer(BaseSynthesizer):
    """Column-by-column trees over a discretized table, with privacy floors (the default model).

    Parameters
    ----------
    metadata : Metadata, dict or path, optional
        Column types; detected from the data when omitted.
    random_state : int, optional
        Seed; the same seed gives the same rows.
    min_samples_leaf : int, default 30
        Privacy floor: every conditional distribution is learned from at least this many rows.
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
    oversample : int, default 4
        Candidate rows per requested row when sampling under conditions (importance resampling).
    boosted_classes : int, default 4
        Discrete columns with at most this many classes (missing counts as one) are modelled by
        gradient boosting (LightGBM) instead of one tree; 0 turns it off.
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

    def __init__(
        self,
        *,
        metadata: Any = None,
        random_state: int | None = None,
        min_samples_leaf: int = 30,
        smoothing: float = 1.0,
        n_bins: int = 64,
        min_category_count: int = 5,
        order: list[str] | str | None = None,
        max_depth: int | None = None,
        oversample: int = 4,
        n_trees: int = 1,
        max_features: float | None = None,
        n_jobs: int | None = None,
        honest: bool | str = True,
        boosted_classes: int = 4,
        boost_numbers: bool = True,
        refine: list[str] | str | None = "auto",
    ) -> None:
        self.metadata = metadata
        self.random_state = random_state
        self.min_samples_leaf = min_samples_leaf
        self.smoothing = smoothing
        self.n_bins = n_bins
        self.min_category_count = min_category_count
        self.order = order
        self.max_depth = max_depth
        self.oversample = oversample
        self.n_trees = n_trees
        self.max_features = max_features
        self.n_jobs = n_jobs
        self.honest = honest
        self.boosted_classes = boosted_classes
        self.boost_numbers = boost_numbers
        self.refine = refine

    # -- fit ---------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for name in ("min_samples_leaf", "n_bins", "min_category_count", "oversample", "n_trees"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.smoothing, (int, float)) or self.smoothing < 0:
            raise InputError(f"smoothing must be a number >= 0, got {self.smoothing!r}")

    def _chain_order(self) -> list[str]:
        learned = [n for n, e in self.transformer_.encoders.items() if e.representation != "generated"]
        if self.order is None:
            return learned
        if isinstance(self.order, str):
            if self.order == "hubs":
                return self._hub_order(learned)
            if self.order == "predictability":
                return self._predictability_order(learned)
            raise InputError(f"order must be a list of columns, 'predictability' or 'hubs', got {self.order!r}")
        unknown = [c for c in self.order if c not in learned]
        if unknown:
            raise InputError(f"order names unknown or generated columns: {', '.join(map(str, unknown))}")
        return list(self.order) + [c for c in learned if c not in self.order]

    def _hub_order(self, learned: list[str]) -> list[str]:
        """Columns most associated with the others first (rank correlation of encoded values)."""
        if len(learned) < 3:
            return learned
        sample = self._data.sample(min(len(self._data), 5000), random_state=0)
        ranks = np.column_stack([
            pd.Series(self.transformer_.encoders[c].encode(sample[c]).astype(float)).rank().fillna(0).to_numpy()
            for c in learned
        ])
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.nan_to_num(np.abs(np.corrcoef(ranks, rowvar=False)))
        np.fill_diagonal(corr, 0.0)
        return [learned[i] for i in np.argsort(-corr.sum(axis=1), kind="stable")]

    def _rank_matrix(self, learned: list[str], rows: int = 4000) -> np.ndarray:
        sample = self._data.sample(min(len(self._data), rows), random_state=0)
        return np.column_stack([
            pd.Series(self.transformer_.encoders[c].encode(sample[c]).astype(float)).rank(pct=True)
            .fillna(-1).to_numpy() for c in learned
        ])

    def _predictability_order(self, learned: list[str]) -> list[str]:
        """Columns hardest to predict from the others first, the most predictable last.

        A column that the rest of the row explains well (a label, a total, a price) is then modelled
        given everything else, which is where a conditional model is most accurate.
        """
        from sklearn.model_selection import cross_val_score
        from sklearn.tree import DecisionTreeRegressor

        if len(learned) < 3:
            return learned
        ranks = self._rank_matrix(learned)
        score = np.zeros(len(learned))
        for i in range(len(learned)):
            X = np.delete(ranks, i, axis=1)
            tree = DecisionTreeRegressor(max_depth=8, min_samples_leaf=20, random_state=0)
            score[i] = float(np.mean(cross_val_score(tree, X, ranks[:, i], cv=2, scoring="r2")))
        return [learned[i] for i in np.argsort(score, kind="stable")]

    def _fit(self, data: pd.DataFrame) -> None:
        self._check_params()
        self.transformer_ = TableTransformer(self.model_metadata_, min_category_count=self.min_category_count).fit(data)
        rng = np.random.default_rng(resolve_seed(self.random_state))
        self._data = data
        try:
            self.chain_ = self._chain_order()
        finally:
            del self._data
        self.cells_: dict[str, NumericCells] = {}
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
                n_codes = max(int(getattr(enc, "n_codes", 1)), 1)
                features[:, j] = np.where(x < 0, n_codes, np.minimum(x, n_codes - 1))
            self.models_[name] = self._fit_column(name, features[:, :j], self.chain_[:j], features[:, j], rng)
        self.n_features_ = len(self.chain_)
        self.refine_ = self._refine_columns(features)
        self.refined_: dict[str, dict[str, Any]] = {}
        for name in self.refine_:
            j = self.chain_.index(name)
            others = [c for c in self.chain_ if c != name]
            self.refined_[name] = self._fit_column(
                name, np.delete(features, j, axis=1), others, features[:, j], rng, rounds=REFINE_ROUNDS
            )

    def _fit_column(
        self, name: str, X: np.ndarray, names: list[str], target: np.ndarray, rng: np.random.Generator,
        rounds: int | None = None,
    ) -> dict[str, Any]:
        """The conditional model of one column given the feature columns ``names``."""
        if name in self.cells_:
            return self._fit_numeric(X, names, target.astype(float), self.cells_[name], rng, rounds=rounds)
        n_codes = max(int(getattr(self.transformer_.encoders[name], "n_codes", 1)), 1)
        codes = target.astype(np.int64)
        if self._boost(codes):
            model: Any = BoostedConditional.fit(
                X, codes, n_cells=n_codes + 1, min_samples_leaf=self.min_samples_leaf, rng=rng,
                categorical=[i for i, c in enumerate(names) if c not in self.cells_], n_jobs=self.n_jobs,
                max_rounds=100 if rounds is None else REFINE_CLASS_ROUNDS,
                learning_rate=0.2 if rounds is None else 0.4,
            )
        else:
            model = self._tree(X, codes, n_codes + 1, rng)
        return {"value": model}

    def _refine_columns(self, features: np.ndarray) -> list[str]:
        """Columns to draw once more, given all the others, after the chain (``refine``).

        A column that the columns *after* it in the chain predict much better than the columns before
        it (a price placed early in the table) is drawn by the chain with little to go on, and the
        columns after it copy its noise. Drawing it again from ``p(x_j | all other columns)`` is one
        Gibbs step: it keeps the joint distribution and makes the column agree with the whole row.
        ``"auto"`` picks the columns whose held-out R² (of a tree, on ranks) rises by ``REFINE_GAIN``
        or more from their chain prefix to all other columns, and that no single column explains
        nearly as well (``REFINE_JOINT``); the largest rise is drawn last.
        """
        if self.refine is None or self.refine is False:
            return []
        if isinstance(self.refine, (list, tuple)):
            unknown = [c for c in self.refine if c not in self.chain_]
            if unknown:
                raise InputError(f"refine names unknown or generated columns: {', '.join(map(str, unknown))}")
            return [str(c) for c in self.refine]
        if self.refine != "auto":
            raise InputError(f"refine must be 'auto', a list of columns or None, got {self.refine!r}")
        return pick_refined(self.chain_, features, gain=REFINE_GAIN, joint=REFINE_JOINT,
                            max_features=REFINE_FEATURES)

    def _boost(self, codes: np.ndarray) -> bool:
        limit = int(self.boosted_classes or 0)
        return limit > 0 and np.unique(codes).size <= limit and lightgbm_available()

    def _tree(
        self, X: np.ndarray, y: np.ndarray, n_cells: int, rng: np.random.Generator, regress_on: Any = None
    ) -> LeafTree:
        return LeafTree.fit(
            X, y, n_cells=n_cells, min_samples_leaf=self.min_samples_leaf, smoothing=float(self.smoothing),
            rng=rng, regress_on=regress_on, max_depth=self.max_depth, n_trees=int(self.n_trees),
            max_features=self.max_features, n_jobs=self.n_jobs, honest=self.honest,
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
            if self.boost_numbers and X.shape[1] >= 2 and ok.sum() >= 4 * self.min_samples_leaf \
                    and lightgbm_available():
                cats = [i for i, c in enumerate(names) if c not in self.cells_]
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
        z = _normal_scores(u)
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
        tree = self._tree(np.column_stack([X, predicted]), cell, spread.n_cells, rng, regress_on=np.abs(r))
        return {"mean": mean, "spread": spread, "value": tree}

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
        models = self.models_[name] if models is None else models
        n = len(prefix)
        if name not in self.cells_:
            codes = models["value"].sample(prefix, rng)
            n_codes = models["value"].cumulative.shape[1] - 1
            return np.where(codes >= n_codes, -1, codes), codes.astype(np.float32)
        cells = self.cells_[name]
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
            n_codes = self.models_[name]["value"].cumulative.shape[1] - 1
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
        if enc.kind == "datetime":
            number = float(enc.encode(pd.Series([value]))[0])
            shown_value: Any = to_datetimes(pd.Series([value]), None).iloc[0]
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

    def _weights(self, name: str, prefix: np.ndarray, cond: dict[str, Any]) -> np.ndarray:
        """The model's probability of the condition for each candidate row."""
        models = self.models_[name]
        if "code" in cond:
            return models["value"].probability(prefix, cond["code"])
        p_missing = models["missing"].probability(prefix, 1) if "missing" in models else np.zeros(len(prefix))
        if cond["missing"]:
            return p_missing
        cells = self.cells_[name]
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
            zlo, zhi = _normal_scores(np.array([lo, hi]), clip=False)
            p_value = self._residual_cdf(models, X, zhi - predicted) - self._residual_cdf(models, X, zlo - predicted)
        else:
            p_value = sum(models["value"].probability(X, c) for c in range(first, last + 1))
        return (1.0 - p_missing) * p_value

    @staticmethod
    def _residual_cdf(models: dict[str, Any], X: np.ndarray, r: np.ndarray) -> np.ndarray:
        """``P(residual <= r)`` for each row under its leaf's residual histogram."""
        spread: NumericCells = models["spread"]
        rank = spread.rank_of(r)
        cell = spread.cell_of(rank)
        width = np.maximum(spread.edges_[cell + 1] - spread.edges_[cell], 1e-12)
        fraction = np.clip((rank - spread.edges_[cell]) / width, 0.0, 1.0)
        out = models["value"].cdf(X, cell, fraction)
        out = np.where(rank <= 0.0, 0.0, out)
        return np.where(rank >= 1.0, 1.0, out)

    def _resample_for(
        self, name: str, j: int, features: np.ndarray, cond: dict[str, Any], n: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Rows of the candidates kept for a condition on column ``j`` (importance resampling)."""
        w = np.asarray(self._weights(name, features[:, :j], cond), dtype=float)
        total = float(w.sum())
        if not np.isfinite(total) or total <= 0:
            raise ConstraintError(
                f"Condition on '{name}' is impossible under the model together with the other conditions."
            )
        return rng.choice(len(w), size=n, replace=True, p=w / total)

    def _forced(self, name: str, cond: dict[str, Any], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if "code" in cond:
            n_codes = self.models_[name]["value"].cumulative.shape[1] - 1
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
            "models": {name: {part: t.get_state() for part, t in m.items()} for name, m in self.models_.items()},
            "refine": list(self.refine_),
            "refined": {name: {part: t.get_state() for part, t in m.items()} for name, m in self.refined_.items()},
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.transformer_ = TableTransformer.from_state(self.model_metadata_, state["encoders"])
        self.chain_ = [str(c) for c in state["chain"]]
        self.cells_ = {name: NumericCells.from_state(c) for name, c in state["cells"].items()}
        self.models_ = {
            name: {part: _conditional_from_state(t) for part, t in m.items()} for name, m in state["models"].items()
        }
        self.n_features_ = len(self.chain_)
        self.refine_ = [str(c) for c in state.get("refine", [])]
        self.refined_ = {
            name: {part: _conditional_from_state(t) for part, t in m.items()}
            for name, m in state.get("refined", {}).items()
        }

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
            if name in self.cells_:
                entry["cells"] = self.cells_[name].n_cells
            elif value is not None:
                entry["categories"] = int(value.cumulative.shape[1] - 1)
            columns[name] = entry
        info["chain"] = list(self.chain_)
        info["refined"] = list(self.refine_)
        info["columns"] = columns
        info["privacy"] = {"min_samples_leaf": self.min_samples_leaf, "smoothing": self.smoothing,
                           "min_category_count": self.min_category_count}
        return info


def _normal_scores(u: np.ndarray, clip: bool = True) -> np.ndarray:
    """``Φ⁻¹(u)``; ranks at 0 or 1 are pulled in to ±4.5 (beyond any training row's score)."""
    z = special.ndtri(np.asarray(u, dtype=float))
    return np.clip(z, -4.5, 4.5) if clip else z


def _conditional_from_state(state: dict[str, Any]) -> Any:
    if state.get("kind") == "cells":
        return NumericCells.from_state(state)
    if state.get("kind") == "boosted":
        return BoostedConditional.from_state(state)
    if state.get("kind") == "mean":
        return BoostedMean.from_state(state)
    return LeafTree.from_state(state)


def _in_labels(value: Any, labels: list[Any]) -> bool:
    try:
        return any(value == lab or str(value) == str(lab) for lab in labels)
    except Exception:  # pragma: no cover - exotic comparisons
        return False
