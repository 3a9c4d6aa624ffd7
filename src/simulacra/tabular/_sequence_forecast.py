"""Drawing events one step at a time with a fitted sequence model, and continuing real histories so
(forecast-style synthetic futures).

:func:`draw_step` draws one event of many entities; :meth:`~simulacra.tabular.sequence.SequenceSynthesizer.sample`
rolls whole histories with it. :meth:`~simulacra.tabular.sequence.SequenceSynthesizer.forecast` feeds the given
events to the same step features as in fitting (teacher forcing), then draws the new events with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.tabular._sequence_common import continue_on_calendar, market_move
from simulacra.tabular._sequence_fit import representations
from simulacra.tabular._sequence_plan import check_table, entity_sizes, numeric_column, to_model_clock
from simulacra.tabular._steps import Roller, from_repr, to_repr
from simulacra.tabular.sequence import GAP

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
            draw_step(model, t, new, roller, levels, times, rng)
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
    # text dates read as the training rows were written (01/06/2020 in a %m/%d/%Y model: 6 January)
    frame = check_table(history[model.columns_], model.entity, model.order, single_ok=True,
                        date_format=model.time_.get("format"))
    if not model.time_["datetime"] and not numeric_column(frame[model.order]):
        raise InputError(f"Order column '{model.order}' of the history must be numeric like the training data.")
    if model.time_["datetime"]:
        frame[model.order] = pd.to_datetime(frame[model.order])
        frame, _ = to_model_clock(frame, model.order, {k: model.time_[k] for k in ("zone", "shift") if k in model.time_})
    return frame


def draw_step(model: SequenceSynthesizer, t: int, rows: np.ndarray, roller: Roller, levels: np.ndarray,
              times: np.ndarray, rng: np.random.Generator) -> None:
    """Draw event ``t`` of the entities ``rows`` (gap first, then each column) and record it."""
    plans = model.plans_
    base = roller.features(t, rows)
    current = np.zeros((rows.size, 0), dtype=np.float32)
    size = roller.scale(t, rows, plans)
    if np.isnan(times[rows, t]).any():  # not already on the shared calendar
        gap = model.steps_[GAP].sample(base, rng)
        times[rows, t] = times[rows, t - 1] + np.maximum(gap, model._min_gap())
    row: dict[str, np.ndarray] = {}
    prev = {p.name: levels[rows, t - 1, j] for j, p in enumerate(plans)}
    out_reprs = []
    drawn = np.full((rows.size, len(plans)), np.nan)
    for j, p in enumerate(plans):
        if p.scaled and j:
            size = roller.scale(t, rows, plans, drawn)
        y = model.steps_[p.name].sample(np.column_stack([base, current]), rng) * size[:, j]
        move: np.ndarray | float = 0.0
        if p.name in model.loadings_:  # the entity's own part, then the market's
            assert model.factor_ is not None and roller.common is not None
            move = model.loadings_[p.name] * market_move(p, model.factor_.names, roller.common[rows, t])
            y = y + move
        if p.kind == "category":
            row[p.name] = y
        else:
            row[p.name] = from_repr(p, y, prev, row)
            y = to_repr(p, row[p.name], prev, row)  # the representation after rounding
        out_reprs.append(y)
        drawn[:, j] = y - move  # the running size follows the entity's own moves
        current = np.column_stack([current, y]).astype(np.float32)
    empty = np.zeros((rows.size, 0))
    levels[rows, t] = np.column_stack([row[p.name] for p in plans]) if plans else empty
    roller.push(t, rows, np.column_stack(out_reprs) if plans else empty, levels[rows, t],
                model._weekday(times[rows, t]), drawn if plans else empty)
