"""Fitting the step models of :class:`~simulacra.tabular.sequence.SequenceSynthesizer`: the features, targets
and running sizes of every event after an entity's first (teacher forcing), and one step model per column."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulacra.tabular._sequence_common import fit_factor, loadings, market_move, own_part, weekday_of
from simulacra.tabular._steps import N_LAGS, Roller, StepModel
from simulacra.tabular.sequence import GAP

if TYPE_CHECKING:
    from simulacra.tabular.sequence import SequenceSynthesizer


def representations(model: SequenceSynthesizer, levels: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Every event's representation of each plan, shaped like ``levels`` (entities × steps × plans; each
    entity's first ``lengths`` steps, NaN after them)."""
    plans = model.plans_
    every = np.full(levels.shape, np.nan)
    for t in range(levels.shape[1]):
        rows = np.flatnonzero(lengths > t)
        row = {p.name: levels[rows, t, j] for j, p in enumerate(plans)}
        prev = {p.name: levels[rows, t - 1, j] if t else np.full(rows.size, np.nan) for j, p in enumerate(plans)}
        every[rows, t] = np.column_stack([model._repr(p, row, prev) for p in plans]) if plans else np.zeros((rows.size, 0))
    return every


def transitions(model: SequenceSynthesizer, frame: pd.DataFrame, values: dict[str, np.ndarray], gaps: np.ndarray,
                 lengths: np.ndarray, statics: np.ndarray,
                 sizes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, targets (gap, then every plan's representation) and the plans' running sizes
    (:meth:`Roller.scale`, given each entity's own volatility level ``sizes``) of every event after
    the first; with a shared calendar, also fits the common factor's model (``factor_``)."""
    n, T = lengths.size, int(lengths.max())
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    plans = model.plans_
    levels = np.full((n, T, len(plans)), np.nan)
    gap = np.full((n, T), np.nan)
    times = model._ordinal(frame[model.order])
    idx_entity = np.repeat(np.arange(n), lengths)
    idx_step = np.arange(len(frame)) - np.repeat(starts, lengths)
    for j, p in enumerate(plans):
        col = model._codes(p.name, frame[p.name]) if p.kind == "category" else values[p.name]
        levels[idx_entity, idx_step, j] = col
    gap[idx_entity, idx_step] = gaps
    day = np.full((n, T), np.nan)
    if model.time_["weekday"]:
        day[idx_entity, idx_step] = weekday_of(times)
    every = representations(model, levels, lengths)
    common, own = None, every
    if model.calendar_ is not None:
        model.factor_, common = fit_factor(plans, model.calendar_, times, every[idx_entity, idx_step],
                                          idx_entity, idx_step, (n, T))
        if model.factor_ is not None and common is not None:
            model.loadings_ = loadings(plans, model.factor_.names, every.reshape(n * T, -1),
                                      common.reshape(n * T, -1))
            own = own_part(plans, model.factor_.names, model.loadings_, every, common)
    roller = Roller(plans, statics, lengths, model.time_["weekday"], sizes, common)
    feats, targets, running = [], [], []
    for t in range(T):
        rows = np.flatnonzero(lengths > t)
        reprs = every[rows, t]
        if t > 0:
            base = roller.features(t, rows)
            feats.append(base)
            targets.append(np.column_stack([gap[rows, t], reprs]))
            running.append(roller.scale(t, rows, plans, own[rows, t]))
        roller.push(t, rows, reprs, levels[rows, t], day[rows, t] if model.time_["weekday"] else None,
                    own[rows, t])
    return np.vstack(feats), np.vstack(targets), np.vstack(running)


def fit_steps(model: SequenceSynthesizer, X: np.ndarray, Y: np.ndarray, V: np.ndarray, n_static: int, rng: np.random.Generator) -> None:
    cat_static = [i for i, c in enumerate(model.statics_) if c in model.static_codes_]
    lag_cats = [n_static + j * N_LAGS + lag for j, p in enumerate(model.plans_) if p.kind == "category"
                for lag in range(N_LAGS)]
    model.steps_ = {}
    current = np.zeros((len(X), 0), dtype=np.float32)
    names = [GAP] + [p.name for p in model.plans_]
    factor = model.factor_.names if model.factor_ is not None else []
    # the factor of each event's date: the raw components, first of the 2 × m factor columns that end
    # the step features (:meth:`Roller.features`)
    market = X[:, X.shape[1] - 2 * len(factor):X.shape[1] - len(factor)]
    for j, name in enumerate(names):
        plan = model.plans_[j - 1] if j else None
        target = Y[:, j]
        if name in model.loadings_:  # the step model learns the entity's own part of the change
            target = target - model.loadings_[name] * market_move(model.plans_[j - 1], factor, market)
        y = target / V[:, j - 1] if plan is not None and plan.scaled else target
        ok = np.isfinite(y)
        Xj = np.column_stack([X, current])
        cats = cat_static + lag_cats + [X.shape[1] + i - 1 for i in range(1, j) if model.plans_[i - 1].kind == "category"]
        model.steps_[name] = StepModel.fit(
            Xj[ok], y[ok], classes=plan is not None and plan.kind == "category", categorical=cats,
            min_count=model.min_category_count, min_leaf=model.min_samples_leaf, rng=rng,
        )
        if j:
            current = np.column_stack([current, Y[:, j]]).astype(np.float32)
