"""A common time effect for panels whose entities share a calendar (``SequenceSynthesizer(common_factor=True)``).

Daily prices of many stocks, monthly figures of many firms: the entities' events fall on the same
dates, and what happens on a date moves many entities at once (a market-wide fall, a calm or a
turbulent spell). Entities drawn one by one cannot co-move. With the option, the sequence model

1. finds the **shared calendar**: the order values at which many entities have an event
   (:func:`find_calendar`); a table without one (each plane's own flight times) is left as it is;
2. measures a **market factor** per calendar date (:func:`date_factors`): the cross-sectional mean of
   each signed change column in units of its training mean size, and the log of the mean absolute size
   of all change and distance columns (the market's volatility); each training event sees the mean over
   the *other* entities of its date (leave-one-out), given to the step models as features;
3. models the factor itself as a time series (:class:`FactorModel`: one step model per component, given
   its own lags and running means), so that sampling draws a **new** factor path, never the real one;
4. at sampling, puts every synthetic entity on that calendar (consecutive calendar dates from its drawn
   start) and conditions each of its steps on the drawn factor of the date.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.tabular._steps import ColumnPlan

#: An order value belongs to the shared calendar when at least this many entities have an event at it ...
MIN_SHARED = 5
#: ... and at least this share of the entities whose history spans it.
SHARED_ACTIVE = 0.5
#: A table has a shared calendar when this share of its events falls on calendar values ...
CALENDAR_SHARE = 0.9
#: ... and the calendar has at least this many values (the factor's own model needs a series).
MIN_DATES = 50
#: Representations whose cross-sectional mean is a signed factor component (moves up or down together).
SIGNED_MODES = ("logdiff", "diff", "lagratio", "lagoffset", "ratio", "offset")
#: Lags of every factor component, and weights of the newest value in its two running means.
FACTOR_LAGS = 3
FACTOR_EWM = (0.05, 0.3)
VOLATILITY = "__market_volatility"


#: Entities per unit of ``min_category_count`` below which the entity table cannot keep the floor.
FEW_ENTITIES_PER_FLOOR = 4


def few_entities(n_entities: int, min_count: int) -> str | None:
    """The warning for an entity table too small for the privacy floor to act, or None.

    Each entity is one row of the entity table (its statics, number of events, start and first event);
    with fewer than ``4 * min_count`` rows (20 at the default floor of 5) its values cannot be pooled into
    cells of ``min_count`` or more, and a synthetic entity's first event is drawn as a real entity's.
    """
    needed = FEW_ENTITIES_PER_FLOOR * int(min_count)
    if int(min_count) <= 1 or n_entities >= needed:
        return None
    return (f"Only {n_entities} entities: too few for the privacy floor (min_category_count={min_count}) to act on "
            f"the entity table (one row per entity: statics, number of events, start, first event), so a "
            f"synthetic entity's start and first event can be a real entity's, copied. Fit on {needed} or more "
            "entities before sharing the output, or treat it as the real data.")


def find_calendar(entity: np.ndarray, ordinal: np.ndarray) -> np.ndarray | None:
    """The sorted order values shared by many entities (rows sorted by entity, then order), or None.

    A value is shared when ``MIN_SHARED`` entities, and ``SHARED_ACTIVE`` of those whose history spans
    it, have an event at it; the table has a calendar when ``CALENDAR_SHARE`` of its events fall on
    shared values and there are ``MIN_DATES`` of them.
    """
    ok = np.isfinite(ordinal)
    if not ok.any():
        return None
    values, inverse, counts = np.unique(ordinal[ok], return_inverse=True, return_counts=True)
    new = np.r_[True, entity[1:] != entity[:-1]]
    last = np.r_[entity[1:] != entity[:-1], True]
    first_t, last_t = np.sort(ordinal[new]), np.sort(ordinal[last])
    # entities whose span [first, last] covers each value
    active = np.searchsorted(first_t, values, side="right") - np.searchsorted(last_t, values, side="left")
    shared = (counts >= MIN_SHARED) & (counts >= SHARED_ACTIVE * np.maximum(active, 1))
    if shared.sum() < MIN_DATES or shared[inverse].mean() < CALENDAR_SHARE:
        return None
    return values[shared]


def calendar_index(calendar: np.ndarray, ordinal: np.ndarray) -> np.ndarray:
    """Position of each order value in the calendar, -1 where it is not a calendar value."""
    pos = np.clip(np.searchsorted(calendar, ordinal), 0, calendar.size - 1)
    return np.where(calendar[pos] == ordinal, pos, -1)


def extend_calendar(calendar: np.ndarray, size: int, weekday: bool) -> np.ndarray:
    """The calendar continued to ``size`` values by repeating its own steps (for histories that run past
    its end): from its first value on the weekday of its last one when ``weekday``, so business days
    stay business days."""
    if size <= calendar.size:
        return calendar
    steps = np.diff(calendar)
    if steps.size == 0:
        steps = np.ones(1)
    start = 0
    if weekday:
        day = weekday_of(calendar)
        same = np.flatnonzero(day[:-1] == day[-1])
        start = int(same[0]) if same.size else 0
    steps = steps[start:] if steps[start:].size else steps
    more = np.resize(steps, size - calendar.size)
    return np.r_[calendar, calendar[-1] + np.cumsum(more)]


def weekday_of(ordinal: np.ndarray) -> np.ndarray:
    """The weekday (0 = Monday) of each day ordinal (days since 1970-01-01, a Thursday), as floats."""
    return ((np.round(ordinal).astype(np.int64) + 3) % 7).astype(float)


def factor_names(plans: list[ColumnPlan]) -> list[str]:
    """The factor's components: the market volatility, then one per signed change column (scaled plans)."""
    if not any(p.scaled for p in plans):
        return []
    return [VOLATILITY] + [p.name for p in plans if p.scaled and p.mode in SIGNED_MODES]


def event_units(plans: list[ColumnPlan], reprs: np.ndarray) -> np.ndarray:
    """Each event's contribution to the factor, (len(reprs), len(factor_names)): its mean absolute size over
    the change and distance columns and its signed changes, all in units of the columns' training means."""
    scaled = [j for j, p in enumerate(plans) if p.scaled]
    units = np.column_stack([reprs[:, j] / float(plans[j].scale or 1.0) for j in scaled])
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(units)
        size = np.where(finite, np.abs(units), 0.0).sum(axis=1) / np.where(finite.any(axis=1), finite.sum(axis=1), np.nan)
    signed = [units[:, i] for i, j in enumerate(scaled) if plans[j].mode in SIGNED_MODES]
    return np.column_stack([size, *signed])


def date_factors(date: np.ndarray, units: np.ndarray, n_dates: int) -> tuple[np.ndarray, np.ndarray]:
    """The factor per calendar date (mean over every entity of the date) and per event (mean over the
    *other* entities of its date; NaN off the calendar or where no other entity has a value).

    ``date``: each event's calendar position (-1 off it); ``units``: :func:`event_units`. The volatility
    component (the first) is on the log scale.
    """
    per_date = np.full((n_dates, units.shape[1]), np.nan)
    per_event = np.full(units.shape, np.nan)
    on = date >= 0
    for j in range(units.shape[1]):
        v = units[:, j]
        ok = on & np.isfinite(v)
        total = np.bincount(date[ok], weights=v[ok], minlength=n_dates)
        count = np.bincount(date[ok], minlength=n_dates).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_date[:, j] = np.where(count > 0, total / count, np.nan)
            d = np.where(on, date, 0)
            own = np.where(ok, v, 0.0)
            others = count[d] - ok
            per_event[:, j] = np.where(on & (others > 0), (total[d] - own) / others, np.nan)
    per_date[:, 0] = _log_size(per_date[:, 0])
    per_event[:, 0] = _log_size(per_event[:, 0])
    return per_date, per_event


def _log_size(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.maximum(x, 0.0) + 1e-3)


#: Smoothing of the resampled shocks (a share of their spread): no date's shock is drawn as it was.
SHOCK_SMOOTHING = 0.25


def _factor_features(volatility: np.ndarray) -> np.ndarray:
    """Regressors of the market volatility at each date: a constant, its lags and its two running means."""
    D = volatility.size
    X = np.full((D, 1 + FACTOR_LAGS + len(FACTOR_EWM)), np.nan)
    X[:, 0] = 1.0
    lags = np.full(FACTOR_LAGS, np.nan)
    ewm = np.full(len(FACTOR_EWM), np.nan)
    alpha = np.asarray(FACTOR_EWM)
    for i in range(D):
        X[i, 1:] = np.r_[lags, ewm]
        lags, ewm = _push(lags, ewm, alpha, volatility[i])
    return X


def _push(lags: np.ndarray, ewm: np.ndarray, alpha: np.ndarray, value: float) -> tuple[np.ndarray, np.ndarray]:
    if not np.isfinite(value):
        return np.r_[np.nan, lags[:-1]], ewm
    return np.r_[value, lags[:-1]], np.where(np.isnan(ewm), value, (1 - alpha) * ewm + alpha * value)


class FactorModel:
    """A time-series model of the factor path (filtered historical simulation).

    The market volatility (the first component, log scale) follows a linear autoregression on its lags
    and two running means; the signed components are, on each date, the volatility times a shock. A date
    of the new path takes the volatility's innovation and the signed shocks of one training date drawn at
    random, together (so a volatile day's market move keeps its size and sign), smoothed by a small normal
    draw (``SHOCK_SMOOTHING``): the path's order, volatility spells and values are all new.
    """

    def __init__(self, names: list[str], coef: np.ndarray, shocks: np.ndarray, bounds: np.ndarray) -> None:
        self.names = names
        self.coef = coef  # regression of the volatility on :func:`_factor_features`
        self.shocks = shocks  # (dates, components): the volatility's residual, the signed components / exp(volatility)
        self.bounds = bounds  # the volatility's range, widened: a drawn path never leaves it

    @classmethod
    def fit(cls, names: list[str], path: np.ndarray) -> FactorModel:
        """Fit on the real factor path ``path`` (dates × components, NaN where a date has no changes)."""
        vol = path[:, 0]
        X = _factor_features(vol)
        ok = np.isfinite(vol) & np.isfinite(X).all(axis=1)
        if ok.sum() > X.shape[1] + 5:
            coef = np.linalg.lstsq(X[ok], vol[ok], rcond=None)[0]
            resid = vol[ok] - X[ok] @ coef
        else:  # too short a series for the regression: independent draws around the mean
            ok = np.isfinite(vol)
            coef = np.r_[np.nanmean(vol), np.zeros(X.shape[1] - 1)]
            resid = vol[ok] - coef[0]
        shocks = np.column_stack([resid, path[ok, 1:] / np.exp(vol[ok])[:, None]])
        shocks = shocks[np.isfinite(shocks).all(axis=1)]
        finite = vol[np.isfinite(vol)]
        low, high = float(finite.min()), float(finite.max())
        bounds = np.array([low - 0.1 * (high - low), high + 0.1 * (high - low)])
        return cls(names, coef, shocks, bounds)

    def sample(self, size: int, rng: np.random.Generator, given: np.ndarray | None = None) -> np.ndarray:
        """A new path of ``size`` dates (the first left NaN: no entity changes on the calendar's first date).

        ``given`` (size × components) holds values to keep instead of drawing (a real history's factor,
        to continue it); NaN rows are drawn.
        """
        m = len(self.names)
        path = np.full((size, m), np.nan)
        if self.shocks.shape[0] == 0:
            return path
        centre = self.shocks.mean(axis=0)
        spread = self.shocks.std(axis=0)
        pick = self.shocks[rng.integers(0, self.shocks.shape[0], size)]
        noise = rng.normal(size=(size, m)) * spread * SHOCK_SMOOTHING
        shock = centre + (pick - centre + noise) / np.sqrt(1 + SHOCK_SMOOTHING**2)
        lags = np.full(FACTOR_LAGS, np.nan)
        ewm = np.full(len(FACTOR_EWM), np.nan)
        alpha = np.asarray(FACTOR_EWM)
        for i in range(size):
            if given is not None and np.isfinite(given[i]).any():
                path[i] = given[i]
            elif i > 0:
                x = np.r_[1.0, lags, ewm]
                x = np.where(np.isfinite(x), x, np.r_[self.coef[0], np.full(x.size - 1, self._mean())])
                vol = float(np.clip(x @ self.coef + shock[i, 0], *self.bounds))
                path[i] = np.r_[vol, shock[i, 1:] * np.exp(vol)]
            lags, ewm = _push(lags, ewm, alpha, path[i, 0])
        return path

    def _mean(self) -> float:
        """The volatility's long-run mean under the regression (the stand-in for lags not seen yet)."""
        persistence = float(self.coef[1:].sum())
        return float(self.coef[0] / (1 - persistence)) if persistence < 0.999 else float(np.mean(self.bounds))

    def get_state(self) -> dict[str, Any]:
        return {"names": list(self.names), "coef": self.coef, "shocks": self.shocks, "bounds": self.bounds}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FactorModel:
        return cls([str(n) for n in state["names"]], np.asarray(state["coef"], dtype=float),
                   np.asarray(state["shocks"], dtype=float).reshape(-1, len(state["names"])),
                   np.asarray(state["bounds"], dtype=float))


def fit_factor(plans: list[ColumnPlan], calendar: np.ndarray, ordinal: np.ndarray, reprs: np.ndarray,
               entity: np.ndarray, step: np.ndarray, shape: tuple[int, int]) -> tuple[FactorModel | None, np.ndarray | None]:
    """The factor's model and each training event's factor features, (n entities, T steps, components).

    ``reprs``: every event's representations (rows in the table's order; NaN for an entity's first event,
    which contributes nothing), ``entity``/``step``: each row's entity and step. (None, None) when no
    column is a change or a distance (nothing to co-move).
    """
    names = factor_names(plans)
    if not names:
        return None, None
    date = calendar_index(calendar, ordinal)
    units = event_units(plans, reprs)
    units[step == 0] = np.nan
    per_date, per_event = date_factors(date, units, calendar.size)
    # the model file keeps one value per date: only means over at least MIN_SHARED entities (a calendar
    # date has that many events, but an entity's first event has no change to give)
    given = np.bincount(date[(date >= 0) & np.isfinite(units[:, 0])], minlength=calendar.size)
    per_date[given < MIN_SHARED] = np.nan
    model = FactorModel.fit(names, per_date)
    common = np.full((*shape, len(names)), np.nan)
    common[entity, step] = per_event
    return model, common


def sample_on_calendar(factor: FactorModel | None, calendar: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                       weekday: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """Times of every synthetic entity's events on the calendar, (n, T), and their factor features
    (n, T, components) from one new factor path; entities start at the first calendar value at or after
    their drawn start, moved earlier where the history would otherwise run past the calendar's end."""
    n, T = lengths.size, int(lengths.max())
    first = np.clip(np.searchsorted(calendar, starts), 0, calendar.size - 1)
    first = np.where(np.isfinite(starts), first, 0)
    first = np.maximum(np.minimum(first, calendar.size - lengths), 0)
    cal = extend_calendar(calendar, int((first + lengths).max()), weekday)
    index = first[:, None] + np.arange(T)[None, :]
    inside = np.arange(T)[None, :] < lengths[:, None]
    index = np.where(inside, index, 0)
    times = np.where(inside, cal[index], np.nan)
    if factor is None:
        return times, None
    path = factor.sample(cal.size, rng)
    return times, np.where(inside[:, :, None], path[index], np.nan)


def loadings(plans: list[ColumnPlan], names: list[str], reprs: np.ndarray, market: np.ndarray) -> dict[str, float]:
    """Each signed change column's loading on its factor component: the regression slope of its change
    (in units of its training mean) on the market's (the other entities' mean) over the training events.
    ``reprs``: the events' representations, one column per plan; ``market``: their factor, one column per
    component (:func:`factor_names`)."""
    out: dict[str, float] = {}
    for j, p in enumerate(plans):
        if p.name not in names[1:]:
            continue
        f = market[:, names.index(p.name)]
        u = reprs[:, j] / float(p.scale or 1.0)
        ok = np.isfinite(f) & np.isfinite(u)
        if ok.sum() < 30 or np.var(f[ok]) <= 0:
            continue
        out[p.name] = float(np.cov(f[ok], u[ok])[0, 1] / np.var(f[ok], ddof=1))
    return out


def market_move(plan: ColumnPlan, names: list[str], market: np.ndarray) -> np.ndarray:
    """The market's move of a signed change column at each event, in the column's own units (0 where unknown)."""
    return np.nan_to_num(market[:, names.index(plan.name)]) * float(plan.scale or 1.0)


def own_part(plans: list[ColumnPlan], names: list[str], loads: dict[str, float], reprs: np.ndarray,
             market: np.ndarray) -> np.ndarray:
    """The representations less the market's move of each loaded column (last axes: plans, components):
    what the entity's running size follows."""
    out = reprs.copy()
    for j, p in enumerate(plans):
        if p.name in loads:
            out[..., j] = reprs[..., j] - loads[p.name] * np.nan_to_num(market[..., names.index(p.name)]) * float(p.scale or 1.0)
    return out


def continue_on_calendar(factor: FactorModel | None, loads: dict[str, float], plans: list[ColumnPlan],
                         calendar: np.ndarray, weekday: bool, times: np.ndarray, reprs: np.ndarray,
                         known: np.ndarray, wanted: np.ndarray,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """For forecasts: the times of the new events (the calendar values after each history's last event),
    the factor features of every event (the given histories' own factor over their dates, a new path
    continuing it after them) and the representations less the market's moves.

    ``times``/``reprs``: the histories' events, (n, T) and (n, T, k), NaN beyond them; ``known``: the
    given events, ``wanted``: every event, given or new, (n, T) masks.
    """
    n, T = known.shape
    new = wanted & ~known
    hist_len = known.sum(axis=1)
    last = times[np.arange(n), np.maximum(hist_len - 1, 0)]
    cal = calendar  # continued past the newest history (given histories may run past the training's end)
    while np.isfinite(last).any() and cal[-1] <= np.nanmax(last):
        cal = extend_calendar(calendar, 2 * cal.size, weekday)
    pos = np.searchsorted(cal, last, side="right") - 1  # the last calendar value at or before it
    index = pos[:, None] + np.arange(T)[None, :] - hist_len[:, None] + 1
    cal = extend_calendar(calendar, max(cal.size, int(np.where(new, index, 0).max()) + 1), weekday)
    out_times = times.copy()
    out_times[new] = cal[index[new]]
    if factor is None:
        return out_times, None, reprs
    units = event_units(plans, reprs[known])
    units[np.broadcast_to(np.arange(T), (n, T))[known] == 0] = np.nan  # an entity's first event has no change
    per_date, per_event = date_factors(calendar_index(cal, times[known]), units, cal.size)
    path = factor.sample(cal.size, rng, given=per_date)
    common = np.full((n, T, len(factor.names)), np.nan)
    common[known] = per_event
    common[new] = path[index[new]]
    return out_times, common, own_part(plans, factor.names, loads, reprs, common)
