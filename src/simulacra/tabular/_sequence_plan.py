"""Checking a table of sequences and choosing how each of its columns is represented.

Used by :class:`simulacra.tabular.sequence.SequenceSynthesizer`: :func:`check_table` refuses what
cannot be learned (ties, mixed order types, no sequences), :func:`plan_columns` picks each dynamic
column's representation (level, change, ratio to an anchor column, distance to its bounds).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.metadata._multi_detect import order_type_problem
from simulacra.metadata.detect import read_text_dates, shared_date_format
from simulacra.metadata.temporal import datetime_zone, localize_wall_times, zone_from_name
from simulacra.tabular._sequence_common import event_units
from simulacra.tabular._steps import (
    ENTITY_SIZE_PRIOR,
    LEVEL_AUTOCORR,
    SCALED_MODES,
    ColumnPlan,
    chain_order,
    decimals_of,
    to_repr,
)


def check_table(data: pd.DataFrame, entity: str, order_col: str, *, single_ok: bool = False,
                date_format: str | None = None) -> pd.DataFrame:
    """The table sorted by entity and order, its order column as dates or numbers; bad input refused.
    ``date_format``: the format text dates are read with (a fitted model's), instead of the one they suggest."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"fit expects a pandas DataFrame, got {type(data).__name__}")
    for col, what in ((entity, "entity"), (order_col, "order")):
        if col not in data.columns:
            raise InputError(f"The {what} column '{col}' is not in the table; columns are: "
                             f"{', '.join(map(str, data.columns))}")
    if data[entity].isna().any() or data[order_col].isna().any():
        raise InputError(f"The entity ('{entity}') and order ('{order_col}') columns must have no "
                         "missing values; drop or fill those rows first.")
    order = data[order_col]
    if order.dtype == object:
        # mixed types, dates mixed with numbers, or neither; dates mixing zones, or with and without one
        problem = order_type_problem(order, order_col, lambda o: datetime_zone(o, None, order_col))
        if problem:
            raise InputError(problem)
        # 06/01/2020 beside 13/01/2020: 6 January
        data = data.assign(**{order_col: read_text_dates(order, known=date_format)})
    frame = data.sort_values([entity, order_col], kind="stable").reset_index(drop=True)
    dup = frame.duplicated([entity, order_col])
    if dup.any():
        row = frame[dup].iloc[0]
        raise InputError(
            f"Order column '{order_col}' has ties: {int(dup.sum())} event(s) at the same {order_col} as an earlier "
            f"event of the same entity (e.g. {row[entity]!r} at {row[order_col]}); make (entity, order) unique first."
        )
    if not single_ok and frame[entity].value_counts().max() < 2:
        raise InputError("Every entity has a single event: there are no sequences to learn. Fit a "
                         "single-table model instead.")
    return frame


def written_format(order: pd.Series) -> dict[str, str]:
    """``{"format": F}``: the one strftime format of an order column read as text (``2013-01-01T06:00:00Z``),
    so that a CSV of synthetic histories writes its times as they were read; empty when the column is not
    text or mixes formats.
    """
    fmt = shared_date_format(order) if order.dtype == object and order.notna().all() else None
    return {"format": fmt} if fmt else {}


def to_model_clock(frame: pd.DataFrame, order: str, clock: dict[str, Any] | None = None
                   ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``frame`` with a zone-aware order column as naive times that the model steps on, and that clock.

    Local midnights become the zone's wall-clock days (whole days whatever the offset or summer time);
    other times become UTC moved by one fixed offset (``shift``, the zone's at the first event), so that a
    gap is elapsed time and the hour repeated when clocks go back has no ties, while the times of a zone
    with a constant offset (Asia/Kolkata) keep their wall-clock step. ``clock`` (a fitted model's) reads
    a history: its naive times are taken on the zone's wall clock. Naive orders are left as they are.
    """
    s = frame[order]
    if not pd.api.types.is_datetime64_any_dtype(s.dtype) or (clock is not None and not clock):
        return frame, {}
    if clock is None:
        zone = datetime_zone(s, None, order)
        if zone is None:
            return frame, {}
        wall = s.dt.tz_convert(zone_from_name(zone)).dt.tz_localize(None)
        days = bool((wall == wall.dt.normalize()).all())
        offset = s.iloc[0].utcoffset() if len(s) else None
        clock = {"zone": zone, "shift": None if days else int(offset.total_seconds()) if offset else 0}
    zone = str(clock["zone"])
    if s.dt.tz is None:
        s = localize_wall_times(s, zone)
    if clock["shift"] is None:
        times = s.dt.tz_convert(zone_from_name(zone)).dt.tz_localize(None)
    else:
        times = s.dt.tz_convert("UTC").dt.tz_localize(None) + pd.Timedelta(seconds=int(clock["shift"]))
    return frame.assign(**{order: times}), clock


def from_model_clock(times: pd.Series, clock: dict[str, Any]) -> pd.Series:
    """Naive times on the model's clock (see :func:`to_model_clock`) back in the order column's zone."""
    if not clock.get("zone"):
        return times
    zone = str(clock["zone"])
    if clock.get("shift") is None:
        return localize_wall_times(times, zone)
    utc = (times - pd.Timedelta(seconds=int(clock["shift"]))).dt.tz_localize("UTC")
    return utc.dt.tz_convert(zone_from_name(zone))


def numeric_column(s: pd.Series) -> bool:
    """Numbers, not booleans."""
    return bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def plan_columns(frame: pd.DataFrame, entity: str, numeric: list[str], dynamic: list[str],
                 values: dict[str, np.ndarray], above: dict[str, set[str]]) -> list[ColumnPlan]:
    """How each dynamic column is drawn (see :mod:`simulacra.tabular._steps`), in chain order."""
    order = chain_order(numeric, above) + [c for c in dynamic if c not in numeric]
    plans: list[ColumnPlan] = []
    same = frame[entity].to_numpy()
    persistent = {c: level_mode(values[c], same) for c in numeric}
    persistent = {c: m for c, m in persistent.items() if m != "level"}
    for c in order:
        if c not in numeric:
            plans.append(ColumnPlan(name=c, kind="category"))
            continue
        x = values[c]
        done = [p.name for p in plans if p.kind == "numeric"]
        lower = [b for b in done if b in above[c]]
        upper = [b for b in done if c in above[b]]
        positive = bool(np.nanmin(x) > 0) and all(np.nanmin(values[b]) > 0 for b in lower + upper)
        plan = ColumnPlan(name=c, kind="numeric", decimals=decimals_of(frame[c].to_numpy(dtype=float)),
                          integer=bool(pd.api.types.is_integer_dtype(frame[c])))
        if lower and upper:
            plan.mode, plan.lower, plan.upper = "between", lower, upper
        elif lower or upper:
            plan.mode, plan.lower, plan.upper, plan.log = ("above" if lower else "below"), lower, upper, positive
        else:
            plan.mode = persistent.get(c, "level")
            if plan.mode != "level":
                earlier = [p.name for p in plans if p.name in persistent and p.mode not in ("above", "below", "between")]
                anchor(plan, x, same, earlier, [a for a in persistent if a != c and persistent[a] == plan.mode], values)
        plans.append(plan)
    return plans


def level_mode(x: np.ndarray, entity: np.ndarray) -> str:
    """``logdiff``/``diff`` for a column whose level moves slowly inside entities, else ``level``.

    The lag-1 autocorrelation is measured around each entity's own mean, so that entities at
    different levels (a $30 and a $1,000 stock) do not make any column look persistent.
    """
    positive = bool(np.all(x[np.isfinite(x)] > 0))
    v = np.log(x) if positive else x
    means = pd.Series(v).groupby(entity).transform("mean").to_numpy()
    v = v - means
    same = entity[1:] == entity[:-1]
    a, b = v[1:][same], v[:-1][same]
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 30 or np.std(a[ok]) == 0:
        return "level"
    if np.corrcoef(a[ok], b[ok])[0, 1] >= LEVEL_AUTOCORR:
        return "logdiff" if positive else "diff"
    return "level"


def anchor(plan: ColumnPlan, x: np.ndarray, same: np.ndarray, row_anchors: list[str], lag_anchors: list[str],
            values: dict[str, np.ndarray]) -> None:
    """Make a persistent column relative to another one when that varies less than its own changes.

    Two prices of one stock (open and close) each move like a random walk, but never far apart:
    modelled each by its own changes they would drift apart over a long history. The column is
    drawn relative to whichever varies least: its own previous value, an earlier column of the same
    row (close relative to today's open), or another column of the previous row (today's open
    relative to yesterday's close). It then stays tied to its anchor for the whole history.
    """
    log = plan.mode == "logdiff"
    keep = np.r_[False, same[1:] == same[:-1]]

    def rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a / b) if log else a - b

    def spread(v: np.ndarray) -> float:
        v = v[np.isfinite(v)]
        return float(np.std(v)) if v.size >= 30 else np.inf

    best = spread(rel(x, np.r_[np.nan, x[:-1]])[keep])
    for a in row_anchors:
        s = spread(rel(x, values[a]))
        if s < best:
            best, plan.anchor, plan.mode = s, a, ("ratio" if log else "offset")
    for a in lag_anchors:
        s = spread(rel(x, np.r_[np.nan, values[a][:-1]])[keep])
        if s < best:
            best, plan.anchor, plan.mode = s, a, ("lagratio" if log else "lagoffset")


def set_scales(plans: list[ColumnPlan], entity: np.ndarray, values: dict[str, np.ndarray]) -> None:
    """Set each change or distance column's mean absolute representation over the events after an
    entity's first (rows sorted by entity, then order): the start of its running size."""
    later = np.r_[False, entity[1:] == entity[:-1]]
    prev = {c: np.r_[np.nan, v[:-1]] for c, v in values.items()}
    for p in plans:
        if p.kind != "numeric" or p.mode not in SCALED_MODES:
            continue
        size = np.abs(to_repr(p, values[p.name], prev, values)[later])
        mean = float(np.mean(size[np.isfinite(size)])) if np.isfinite(size).any() else 0.0
        p.scale = mean if mean > 0 else None


def entity_sizes(plans: list[ColumnPlan], entity: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray | None:
    """Each entity's volatility level (rows sorted by entity, then order; entities in order of appearance),
    or None when no column is scaled (:func:`set_scales` first).

    The mean over the entity's events after its first of the mean absolute representation of the scaled
    columns, each in units of its training mean: 1 for an entity as volatile as the training entities
    on average, 2 for one twice as volatile. Shrunk towards 1 by ``ENTITY_SIZE_PRIOR`` events, so that a
    short history gets a size near the average rather than that of its few moves.
    """
    if not any(p.scaled for p in plans):
        return None
    index, names = pd.factorize(entity)  # entities in order of appearance
    later = np.r_[False, entity[1:] == entity[:-1]]
    prev = {c: np.r_[np.nan, v[:-1]] for c, v in values.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        reprs = np.column_stack([to_repr(p, values[p.name], prev, values) if p.scaled else np.full(entity.size, np.nan)
                                 for p in plans])
    per_event = event_units(plans, reprs)[:, 0]  # the event's size, as the common factor measures it
    has = later & np.isfinite(per_event)
    total = np.bincount(index, weights=np.where(has, per_event, 0.0), minlength=names.size)
    count = np.bincount(index, weights=has.astype(float), minlength=names.size)
    return (total + ENTITY_SIZE_PRIOR) / (count + ENTITY_SIZE_PRIOR)


def yes_no(value: Any, name: str) -> bool:
    """A yes/no parameter, also as given on the command line (``-p entity_volatility=true``)."""
    if isinstance(value, (bool, np.bool_)) or value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return value.strip().lower() in ("true", "yes")
    raise InputError(f"{name} must be true or false, got {value!r}")
