"""Continuing real histories with a fitted sequence model (forecast-style synthetic futures).

Used by :meth:`simulacra.tabular.sequence.SequenceSynthesizer.forecast`: the given events are fed to
the same step features as in fitting (teacher forcing), then the model draws the new events one step
at a time, as when it samples whole histories.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.metadata.detect import read_text_dates
from simulacra.tabular._sequence_common import continue_on_calendar
from simulacra.tabular._sequence_fit import representations
from simulacra.tabular._sequence_plan import check_table, entity_sizes, numeric_column, to_model_clock
from simulacra.tabular._steps import Roller

if TYPE_CHECKING:
    from simulacra.tabular.sequence import SequenceSynthesizer


def continue_histories(model: SequenceSynthesizer, history: pd.DataFrame, n_steps: int,
                       random_state: int | np.random.Generator | None) -> pd.DataFrame:
    """``n_steps`` new events after each entity's history in ``history``; only the new events are returned."""
    frame = check_history(model, history)
    if frame.empty:  # no history to continue: no new event
        return model._frame({})
    rng = model._rng(random_state)
    hist_len = frame.groupby(model.entity, sort=False).size().to_numpy()
    starts = np.r_[0, np.cumsum(hist_len)[:-1]]
    table = frame.iloc[starts][[model.entity, *model.statics_]].reset_index(drop=True)
    total = hist_len + n_steps
    plans = model.plans_
    values = {p.name: model._filled(frame, p.name) for p in plans if p.kind == "numeric"}
    n, T = total.size, int(total.max())
    levels = np.full((n, T, len(plans)), np.nan)
    times = np.full((n, T), np.nan)
    idx_entity = np.repeat(np.arange(n), hist_len)
    idx_step = np.arange(len(frame)) - np.repeat(starts, hist_len)
    for j, p in enumerate(plans):
        levels[idx_entity, idx_step, j] = model._codes(p.name, frame[p.name]) if p.kind == "category" \
            else values[p.name]
    times[idx_entity, idx_step] = model._ordinal(frame[model.order])
    # each entity's own volatility level, measured on its given history as in fitting
    sizes = entity_sizes(plans, frame[model.entity].to_numpy(), values) if model.entity_sizes_ else None
    steps = np.arange(T)[None, :]
    given, wanted = steps < hist_len[:, None], steps < total[:, None]
    every = representations(model, levels, hist_len)
    common, own = None, every
    if model.calendar_ is not None:  # the new events on the shared calendar, given a factor path continuing the histories'
        times, common, own = continue_on_calendar(model.factor_, model.loadings_, plans, model.calendar_,
                                                  model.time_["weekday"], times, every, given, wanted, rng)
    roller = Roller(plans, model._encode_statics(table), total, model.time_["weekday"], sizes, common)
    for t in range(T):
        known = np.flatnonzero(hist_len > t)
        new = np.flatnonzero((hist_len <= t) & (total > t))
        if known.size:
            roller.push(t, known, every[known, t], levels[known, t], model._weekday(times[known, t]), own[known, t])
        if new.size:
            model._draw_step(t, new, roller, levels, times, rng)
    full = model._frame_from(table, total, levels, times, rng)
    full[model.entity] = np.repeat(table[model.entity].to_numpy(), total)
    offsets = np.r_[0, np.cumsum(total)[:-1]]
    keep = np.concatenate([np.arange(h, t) + s for h, t, s in zip(hist_len, total, offsets)])
    return full.iloc[keep].reset_index(drop=True)


def check_history(model: SequenceSynthesizer, history: pd.DataFrame) -> pd.DataFrame:
    """The given histories sorted and checked like training data, with the model's columns."""
    missing = [c for c in model.columns_ if c not in history.columns]
    if missing:
        raise InputError(f"The history lacks the model's columns: {', '.join(missing)}")
    frame = check_table(history[model.columns_], model.entity, model.order, single_ok=True)
    if not model.time_["datetime"] and not numeric_column(frame[model.order]):
        raise InputError(f"Order column '{model.order}' of the history must be numeric like the training data.")
    if model.time_["datetime"]:
        fmt = model.time_.get("format")  # text as the training rows were written (06/01/2020: 6 January)
        text = frame[model.order].dtype == object
        frame[model.order] = pd.to_datetime(frame[model.order], format=fmt) if text and fmt else \
            read_text_dates(frame[model.order]) if text else pd.to_datetime(frame[model.order])
        frame, _ = to_model_clock(frame, model.order, {k: model.time_[k] for k in ("zone", "shift") if k in model.time_})
    return frame
