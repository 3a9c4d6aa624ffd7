"""The pieces of the sequence model: how each column of an event is represented and drawn.

A sequence table has, per entity, a history of events ordered by an ``order`` column. Each dynamic
column is drawn event by event given the entity's static attributes and the previous events. Three
choices make the histories look real:

* **Representation.** A positive column whose level moves slowly inside an entity (a price, a
  balance) is modelled as its change on the log scale (``logdiff``); a signed one of that kind as its
  difference (``diff``); other columns as their level. A column that, in every real row, lies above
  (or below) other columns of the same row (``high ≥ max(open, close)``) is modelled as its distance
  to that bound, so the rule holds in every synthetic row by construction.
* **Model of one step.** A continuous representation is mapped to normal scores through its own
  quantile cells (the privacy floor of the single-table models applies); LightGBM predicts the score's
  location and the log of its spread from the features, and the standardised residual is drawn from
  its own empirical distribution. Discrete representations (codes, gaps of a few distinct sizes)
  get a LightGBM classifier.
* **Running size.** Changes and distances (not levels) are modelled in units of the entity's
  running volatility (:meth:`Roller.scale`): a weighted mean of the recent absolute changes of all
  such columns, each in units of its training mean, moved by the columns already drawn in the same
  event. A large move widens the next draws of every price of the entity, so volatility clusters
  over a long free-running history, where a spread model alone lets it fade (sp500: lag-1
  autocorrelation of absolute `open` changes 0.13 without, 0.21 with, real 0.19). With
  ``entity_volatility=True`` each entity also has its own volatility level (drawn with the entity, a
  static attribute of its history): the running size starts at it and the step models see it, so an
  entity keeps its level over a long history instead of wandering from the training average.
* **Features.** Static attributes, lags ``1..n_lags`` of every representation, an exponentially
  weighted mean of the absolute change, the distance of a level from the entity's running mean, the
  step and the steps left, the weekday of the previous event, the log of the entity's own volatility
  level (with ``entity_volatility=True``), the market factor of the event's date, also in units of the
  entity's running level (with ``common_factor=True``: :mod:`simulacra.tabular._sequence_common`), and the
  columns drawn before in the same event.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import special

from simulacra.tabular._boosted import BoostedConditional, BoostedMean
from simulacra.tabular._lgb_text import booster_predict
from simulacra.tabular._cells import NumericCells

#: Lags of every column given to the model of a step.
N_LAGS = 3
#: Weights of the newest change in the two running means of absolute changes (volatility features:
#: a slow one for the regime, a fast one for the last few events).
EWM_ALPHA = (0.05, 0.3)
#: Representations drawn in units of their own running size (see :meth:`Roller.scale`): changes and
#: distances, whose size comes in clusters; not levels, codes or shares of a range.
SCALED_MODES = ("logdiff", "diff", "lagratio", "lagoffset", "ratio", "offset", "above", "below")
#: Which of ``EWM_ALPHA`` the running size uses (the fast one: the slow one gave less clustering on
#: sp500), and the floor of the size relative to its training mean (never divided by ~0).
SCALE_EWM, SCALE_FLOOR = 1, 0.05
#: An entity's own volatility level (its mean size, :func:`~simulacra.tabular._sequence_plan.entity_sizes`)
#: is shrunk towards the training average as if this many average events had been seen besides its own.
ENTITY_SIZE_PRIOR = 10
#: A positive column whose log level has this lag-1 autocorrelation inside entities is modelled by
#: its changes (a random-walk-like level); below it, by its level.
LEVEL_AUTOCORR = 0.9
#: A discrete representation with at most this many values gets a classifier.
MAX_CLASSES = 32
#: Boosting rounds and learning rate of the step models (early stopping picks fewer).
ROUNDS, RATE = 60, 0.15
#: The spread model learns from a noisy target (the log of one absolute residual): it gets a slower
#: rate, more rounds and a longer patience than the location model, so that early stopping does not
#: shrink the volatility it predicts towards a constant (which would flatten volatility clustering).
SPREAD_ROUNDS, SPREAD_RATE, SPREAD_PATIENCE = 300, 0.05, 30
#: Normal scores are kept inside this many standard deviations.
Z_CLIP = 6.0


@dataclass
class ColumnPlan:
    """How one dynamic column is represented (see the module docstring)."""

    name: str
    kind: str  # "numeric" or "category"
    mode: str = "level"  # level | logdiff | diff | ratio | offset | lagratio | lagoffset | above | below | between
    anchor: str | None = None  # ratio/offset: a column of the same row; lagratio/lagoffset: of the previous row
    lower: list[str] = field(default_factory=list)
    upper: list[str] = field(default_factory=list)
    log: bool = False  # bounds as ratios (positive columns) rather than differences
    decimals: int | None = None
    integer: bool = False
    scale: float | None = None  # mean |representation| in training: drawn in units of its running size

    @property
    def scaled(self) -> bool:
        return self.scale is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decimals_of(x: np.ndarray) -> int | None:
    """The number of decimals every value has (0 for integers), or None beyond six."""
    x = x[np.isfinite(x)]
    if x.size == 0:
        return None
    for d in range(7):
        scaled = x * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return d
    return None


def chain_order(names: list[str], above: dict[str, set[str]]) -> list[str]:
    """Columns in rule-degree order: free columns first, extremes (bounded by many) last."""
    degree = {c: len(above[c]) + sum(c in above[o] for o in names) for c in names}
    return sorted(names, key=lambda c: (degree[c], names.index(c)))


def bounds(plan: ColumnPlan, row: dict[str, np.ndarray]) -> tuple[np.ndarray | None, np.ndarray | None]:
    lo = np.max(np.column_stack([row[c] for c in plan.lower]), axis=1) if plan.lower else None
    hi = np.min(np.column_stack([row[c] for c in plan.upper]), axis=1) if plan.upper else None
    return lo, hi


def to_repr(plan: ColumnPlan, x: np.ndarray, prev: dict[str, np.ndarray], row: dict[str, np.ndarray]) -> np.ndarray:
    """The representation of values ``x`` given the previous event (``prev``) and the current row."""
    anchor = plan.anchor or plan.name
    with np.errstate(divide="ignore", invalid="ignore"):
        if plan.mode == "logdiff":
            return np.log(x) - np.log(prev[plan.name])
        if plan.mode == "diff":
            return x - prev[plan.name]
        if plan.mode == "lagratio":
            return np.log(x / prev[anchor])
        if plan.mode == "lagoffset":
            return x - prev[anchor]
        if plan.mode == "ratio":
            return np.log(x / row[anchor])
        if plan.mode == "offset":
            return x - row[anchor]
        lo, hi = bounds(plan, row)
        if plan.mode == "above":
            return np.log(x / lo) if plan.log else x - lo
        if plan.mode == "below":
            return np.log(hi / x) if plan.log else hi - x
        if plan.mode == "between":
            assert lo is not None and hi is not None
            width = hi - lo
            return np.where(width > 0, (x - lo) / np.where(width > 0, width, 1.0), 0.0)
    return x


def from_repr(plan: ColumnPlan, y: np.ndarray, prev: dict[str, np.ndarray], row: dict[str, np.ndarray]) -> np.ndarray:
    """Values from representations (the inverse of :func:`to_repr`), rounded as in the real data."""
    anchor = plan.anchor or plan.name
    if plan.mode == "logdiff":
        x = prev[plan.name] * np.exp(y)
    elif plan.mode == "diff":
        x = prev[plan.name] + y
    elif plan.mode == "lagratio":
        x = prev[anchor] * np.exp(y)
    elif plan.mode == "lagoffset":
        x = prev[anchor] + y
    elif plan.mode == "ratio":
        x = row[anchor] * np.exp(y)
    elif plan.mode == "offset":
        x = row[anchor] + y
    else:
        lo, hi = bounds(plan, row)
        if plan.mode == "above":
            x = lo * np.exp(np.maximum(y, 0.0)) if plan.log else lo + np.maximum(y, 0.0)
        elif plan.mode == "below":
            x = hi / np.exp(np.maximum(y, 0.0)) if plan.log else hi - np.maximum(y, 0.0)
        elif plan.mode == "between":
            assert lo is not None and hi is not None
            x = lo + np.clip(y, 0.0, 1.0) * (hi - lo)
        else:
            x = y
    x = round_like(plan, x)
    lo, hi = bounds(plan, row)
    if lo is not None:
        x = np.maximum(x, lo)  # bounds are on the grid: rounding never crosses them, this only guards
    if hi is not None:
        x = np.minimum(x, hi)
    return x


def round_like(plan: ColumnPlan, x: np.ndarray) -> np.ndarray:
    if plan.integer:
        return np.round(x)
    if plan.decimals is not None:
        return np.round(x, plan.decimals)
    return x


class StepModel:
    """The conditional model of one column's representation at one step, given the step features."""

    def __init__(self) -> None:
        self.cells: NumericCells | None = None
        self.classifier: BoostedConditional | None = None
        self.loc: BoostedMean | None = None
        self.scale: BoostedMean | None = None
        self.noise: NumericCells | None = None
        self.categorical: list[int] = []

    @classmethod
    def fit(
        cls, X: np.ndarray, y: np.ndarray, *, classes: bool, categorical: list[int], min_count: int,
        min_leaf: int, rng: np.random.Generator,
    ) -> StepModel:
        out = cls()
        out.categorical = list(categorical)
        if classes:
            out.classifier = BoostedConditional.fit(
                X, y.astype(np.int64), n_cells=int(y.max()) + 1, min_samples_leaf=min_leaf, rng=rng,
                categorical=categorical, max_rounds=ROUNDS, learning_rate=RATE,
            )
            return out
        cells = NumericCells(n_bins=64, min_count=min_count).fit(y)
        out.cells = cells
        if cells.discrete_ and cells.n_cells <= MAX_CLASSES:
            cell = cells.cell_of(cells.to_uniform(y, rng))
            out.classifier = BoostedConditional.fit(
                X, cell, n_cells=cells.n_cells, min_samples_leaf=min_leaf, rng=rng, categorical=categorical,
                max_rounds=ROUNDS, learning_rate=RATE,
            )
            return out
        z = np.clip(special.ndtri(np.clip(cells.to_uniform(y, rng), 1e-9, 1 - 1e-9)), -Z_CLIP, Z_CLIP)
        out.loc = BoostedMean.fit(X, z, min_samples_leaf=min_leaf, rng=rng, categorical=categorical,
                                  max_rounds=ROUNDS, learning_rate=RATE, num_leaves=15, compare=False)
        r = z - out.loc.predict(X)
        out.scale = _fit_spread(X, np.log(np.abs(r) + 1e-3), min_leaf=min_leaf, categorical=categorical, rng=rng)
        spread = np.exp(out.scale.predict(X))
        out.noise = NumericCells(n_bins=64, min_count=min_count).fit(r / spread)
        return out

    def sample(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.classifier is not None:
            k = _sample_classes(self.classifier, X, rng)
            if self.cells is None:
                return k.astype(float)
            return self.cells.from_uniform(self.cells.draw_in_cell(k, rng))
        assert self.cells is not None and self.loc is not None and self.scale is not None and self.noise is not None
        e = self.noise.from_uniform(rng.random(len(X)))
        z = _predict(self.loc, X) + np.exp(_predict(self.scale, X)) * e
        return self.cells.from_uniform(special.ndtr(np.clip(z, -Z_CLIP, Z_CLIP)))

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"categorical": self.categorical}
        for key in ("cells", "classifier", "loc", "scale", "noise"):
            part = getattr(self, key)
            if part is not None:
                state[key] = part.get_state()
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StepModel:
        out = cls()
        out.categorical = [int(i) for i in state.get("categorical", [])]
        if "cells" in state:
            out.cells = NumericCells.from_state(state["cells"])
        if "noise" in state:
            out.noise = NumericCells.from_state(state["noise"])
        if "classifier" in state:
            out.classifier = BoostedConditional.from_state(state["classifier"])
        if "loc" in state:
            out.loc = BoostedMean.from_state(state["loc"])
        if "scale" in state:
            out.scale = BoostedMean.from_state(state["scale"])
        return out


def _fit_spread(X: np.ndarray, target: np.ndarray, *, min_leaf: int, categorical: list[int],
                rng: np.random.Generator) -> BoostedMean:
    """LightGBM regression of the log absolute residual (see ``SPREAD_ROUNDS``)."""
    import lightgbm as lgb

    params = {"objective": "regression", "learning_rate": SPREAD_RATE, "num_leaves": 15,
              "min_data_in_leaf": int(min_leaf), "lambda_l2": 1.0, "max_bin": 63, "verbose": -1,
              "seed": int(rng.integers(0, 2**31 - 1)), "num_threads": 1, "deterministic": True,
              "force_row_wise": True}
    valid = rng.random(target.size) < 0.15
    train = lgb.Dataset(X[~valid], target[~valid], categorical_feature=categorical)
    held = lgb.Dataset(X[valid], target[valid], reference=train, categorical_feature=categorical)
    booster = lgb.train(params, train, num_boost_round=SPREAD_ROUNDS, valid_sets=[held],
                        callbacks=[lgb.early_stopping(SPREAD_PATIENCE, verbose=False)])
    return BoostedMean(booster)


def _predict(model: BoostedMean, X: np.ndarray) -> np.ndarray:
    """One-thread prediction: a step has a few hundred rows, where thread start-up costs more than it saves."""
    return np.asarray(booster_predict(model.booster, X, num_threads=1))


def _sample_classes(model: BoostedConditional, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if model.booster is None:
        return model.sample(X, rng)
    p = booster_predict(model.booster, X, num_threads=1)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    probs = np.zeros((len(X), model.n_cells))
    probs[:, model.classes] = p
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(X)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), model.n_cells - 1)


class Roller:
    """Step features of a batch of entities, kept up to date event by event.

    The same object builds the features for fitting (fed the real events) and for sampling (fed the
    drawn events), so both see exactly the same features.
    """

    def __init__(self, plans: list[ColumnPlan], statics: np.ndarray, lengths: np.ndarray,
                 weekday: bool, sizes: np.ndarray | None = None, common: np.ndarray | None = None) -> None:
        self.plans = plans
        # the common time effect of each entity's events, (n, T, m): the factor of the event's date
        # (:mod:`simulacra.tabular._sequence_common`); None without one
        self.common = common
        self.statics = statics  # (n, n_static) already encoded
        self.lengths = lengths
        # each entity's own volatility level, in units of the training means (1: the average entity)
        self.own_size = sizes is not None  # models saved before entity sizes have none: features and sizes as then
        self.sizes = np.ones(len(lengths)) if sizes is None else np.maximum(np.nan_to_num(sizes, nan=1.0), SCALE_FLOOR)
        self.weekday = weekday
        n, k = len(lengths), len(plans)
        self.lags = np.full((n, k, N_LAGS), np.nan, dtype=np.float64)
        self.ewm = np.zeros((n, k, len(EWM_ALPHA)))
        self.level_sum = np.zeros((n, k))
        self.level_last = np.full((n, k), np.nan)
        self.prev_weekday = np.full(n, np.nan)
        self.steps = 0

    @property
    def n_features(self) -> int:
        return (self.statics.shape[1] + len(self.plans) * (N_LAGS + len(EWM_ALPHA) + 1) + 2 + int(self.weekday)
                + int(self.own_size) + (2 * self.common.shape[2] if self.common is not None else 0))

    def features(self, t: int, rows: np.ndarray) -> np.ndarray:
        """Features of step ``t`` (t ≥ 1) for the entities ``rows``."""
        n = rows.size
        level_dev = np.log(np.abs(self.level_last[rows]) + 1e-12) - self.level_sum[rows] / max(t, 1)
        parts = [
            self.statics[rows],
            self.lags[rows].reshape(n, -1),
            self.ewm[rows].reshape(n, -1),
            np.where(np.isfinite(level_dev), level_dev, np.nan),
            np.full((n, 1), float(t)),
            (self.lengths[rows] - t)[:, None].astype(float),
        ]
        if self.weekday:
            parts.append(self.prev_weekday[rows][:, None])
        if self.own_size:
            parts.append(np.log(self.sizes[rows])[:, None])
        if self.common is not None:
            common = self.common[rows, t]
            # the factor also in units of the entity's running level, the unit its scaled columns are drawn in
            level = np.maximum(self._level(t, rows), SCALE_FLOOR)
            parts += [common, common[:, :1] - np.log(level)[:, None], common[:, 1:] / level[:, None]]
        return np.column_stack(parts).astype(np.float32)

    def scale(self, t: int, rows: np.ndarray, plans: list[ColumnPlan], row: np.ndarray | None = None) -> np.ndarray:
        """The running size of each plan's representation at step ``t``, (len(rows), k); 1 where not scaled.

        The entity's current volatility, shared by its scaled columns (:attr:`ColumnPlan.scale`): the
        mean over those columns of their absolute representation in units of its training mean times
        the entity's own volatility level (:attr:`sizes`), exponentially weighted over the past events
        (``EWM_ALPHA[SCALE_EWM]``, starting at 1: the entity's level), then
        moved, for each column, by the columns drawn before it in the same event (``row``: the event's
        representations so far, NaN where not drawn yet), so a large overnight gap widens the same day's
        move and range. A scaled column is drawn as a multiple of its size: a large move widens the next
        draws of every price of the entity (volatility clustering by construction, as in GARCH-type
        models) while the step model learns how the multiple depends on the features.
        """
        base = np.array([p.scale if p.scale is not None else np.nan for p in plans], dtype=float)
        on = np.isfinite(base) & (base > 0)
        out = np.ones((rows.size, len(plans)))
        if not on.any():
            return out
        alpha = EWM_ALPHA[SCALE_EWM]
        unit = np.where(on, base, 1.0)[None, :] * self.sizes[rows][:, None]  # (rows, k)
        level = self._level(t, rows)
        rel = np.repeat(level[:, None], len(plans), axis=1)
        if row is not None:
            seen = np.where(on[None, :], np.abs(row) / unit, np.nan)
            known = np.isfinite(seen)
            # sum and count of the columns before each one (exclusive prefix sums along the row)
            total = np.cumsum(np.where(known, seen, 0.0), axis=1) - np.where(known, seen, 0.0)
            count = np.cumsum(known, axis=1) - known
            mean = total / np.maximum(count, 1)
            rel = np.where(count > 0, (1 - alpha) * rel + alpha * mean, rel)
        size = np.maximum(rel, SCALE_FLOOR) * unit
        out[:, on] = size[:, on]
        return out

    def _level(self, t: int, rows: np.ndarray) -> np.ndarray:
        """The entity's running volatility relative to its own level (1 at the start; see :meth:`scale`)."""
        base = np.array([p.scale if p.scale is not None else np.nan for p in self.plans], dtype=float)
        on = np.isfinite(base) & (base > 0)
        if not on.any():
            return np.ones(rows.size)
        alpha = EWM_ALPHA[SCALE_EWM]
        start = (1.0 - alpha) ** max(t - 1, 0)  # the pushes of steps 1..t-1 updated the running means
        unit = base[on][None, :] * self.sizes[rows][:, None]
        return (self.ewm[rows][:, on, SCALE_EWM] / unit).mean(axis=1) + start

    def push(self, t: int, rows: np.ndarray, reprs: np.ndarray, levels: np.ndarray,
             weekday: np.ndarray | None, own: np.ndarray | None = None) -> None:
        """Record step ``t`` of the entities ``rows``: representations and levels, (len(rows), k); ``own``:
        the representations less the market's moves (with a common factor), which the running means follow."""
        self.lags[rows, :, 1:] = self.lags[rows, :, :-1]
        self.lags[rows, :, 0] = reprs
        if t > 0:
            change = np.nan_to_num(np.abs(reprs if own is None else own))[:, :, None]
            alpha = np.asarray(EWM_ALPHA)[None, None, :]
            self.ewm[rows] = (1 - alpha) * self.ewm[rows] + alpha * change
        with np.errstate(divide="ignore", invalid="ignore"):
            self.level_sum[rows] += np.nan_to_num(np.log(np.abs(levels) + 1e-12))
        self.level_last[rows] = levels
        if weekday is not None:
            self.prev_weekday[rows] = weekday
