"""Tables of sequences: each entity (a ticker, a customer, a patient) has a history of events.

:class:`SequenceSynthesizer` learns such a table and samples new entities with whole histories:

1. An **entity table** holds one row per entity: its static attributes (columns constant within every
   entity), the number of events, the time of the first event, and the first event's values. It is
   fitted with the single-table default model, privacy floors included, and sampled first (so
   sampling can be conditioned on entity attributes).
2. The **gap** to the previous event and each **dynamic column** are drawn event by event, given the
   entity's attributes and its previous events (see :mod:`simulacra.tabular._steps`). The order column
   is the first event's time plus the drawn gaps, so it strictly increases inside every entity, and
   rules that hold inside every real row (``high ≥ max(open, close)``) are kept by construction.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> rows = [(f"E{e}", t, 100 * np.exp(rng.normal(0, .01, t + 1).sum()), "ab"[e % 2])
...         for e in range(40) for t in range(30)]
>>> df = pd.DataFrame(rows, columns=["entity", "day", "price", "group"])
>>> synth = SequenceSynthesizer(entity="entity", order="day", random_state=0).fit(df)
>>> fake = synth.sample(5)
>>> int(fake["entity"].nunique())
5
>>> bool(fake.groupby("entity")["day"].apply(lambda s: s.is_monotonic_increasing).all())
True
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.rules.relations import row_orderings
from simulacra.tabular._composite import CompositeModel
from simulacra.tabular._sequence_common import MIN_DATES, MIN_SHARED, FactorModel, few_entities, find_calendar
from simulacra.tabular._sequence_common import sample_on_calendar, weekday_of
from simulacra.tabular._sequence_plan import (
    check_table, entity_sizes, from_model_clock, plan_columns, set_scales, to_model_clock, written_format, yes_no,
)
from simulacra.tabular._sequence_plan import numeric_column as _numeric
from simulacra.tabular._steps import ColumnPlan, Roller, StepModel, from_repr, round_like, to_repr

GAP = "__gap"
_OWN_LEVEL = ("level", "logdiff", "diff", "lagratio", "lagoffset")  # representations that need no other column of the row
LENGTH = "__n_events"
START = "__start"
SIZE = "__size"  # the entity's own volatility level (entity table), when some column is scaled
#: The constructor's parameters (:meth:`SequenceSynthesizer.get_params`, and what a saved model may name).
_PARAMS = ("entity", "order", "statics", "min_category_count", "min_samples_leaf", "random_state", "context",
           "entity_volatility", "common_factor")


def _first(name: str) -> str:
    return f"__first_{name}"


class SequenceSynthesizer(CompositeModel):
    """Fit a table of sequences and sample new entities with whole histories.

    Parameters
    ----------
    entity : str
        The column naming the entity each row belongs to.
    order : str
        The column that orders an entity's events (dates, times or numbers; no ties inside an entity).
    statics : list of str, optional
        Columns constant within each entity. Detected when None.
    min_category_count : int
        Privacy floor, as for the single-table models: a value (or category) seen in fewer rows is
        never reproduced verbatim.
    min_samples_leaf : int
        Fewest events in a leaf of the step models.
    random_state : int, optional
        Seed of fitting and of sampling when ``sample`` is given none.
    context : list of str, optional
        Static columns that start the entity model's chain, so that :meth:`sample_given` draws each
        entity given their values (a parent row's columns, when the sequences belong to related tables).
    entity_volatility : bool
        Give each entity its own volatility level, drawn with the entity: its changes and distances start
        at that level and the step models see it, so calm entities stay calm and turbulent ones
        turbulent over a whole history. Off by default: on sp500 it brings the tickers' volatilities
        and the window discriminator closer to the real ones but weakens the clustering of the
        ``close`` and ``low`` changes (``docs/sequences.md``).
    common_factor : bool
        A common time effect for entities that share a calendar (daily prices of many stocks): a
        market factor per date, modelled as its own time series, that every entity's steps are drawn
        given, so that synthetic entities co-move; they are put on the real calendar's dates
        (:mod:`simulacra.tabular._sequence_common`). A table without a shared calendar is fitted without it.
    """

    name: ClassVar[str] = "sequence"
    steps_: dict[str, StepModel]
    _fitted_attribute: ClassVar[str] = "steps_"

    def __init__(self, *, entity: str, order: str, statics: list[str] | None = None,
                 min_category_count: int = 5, min_samples_leaf: int = 20,
                 random_state: int | None = None, context: list[str] | None = None,
                 entity_volatility: bool = False, common_factor: bool = False) -> None:
        self.entity = entity
        self.order = order
        self.statics = statics
        self.min_category_count = min_category_count
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state
        self.context = context
        self.entity_volatility = entity_volatility
        self.common_factor = common_factor

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _PARAMS}

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame) -> SequenceSynthesizer:
        """Learn the sequences of ``data``; returns self. The frame is neither modified nor kept."""
        from simulacra.tabular.autoreg import AutoregressiveSynthesizer

        frame, clock = to_model_clock(check_table(data, self.entity, self.order), self.order)
        # the entity table and the step models name their own columns so: a user's would be overwritten
        reserved = [str(c) for c in data.columns
                    if c in (GAP, LENGTH, START, SIZE) or str(c).startswith(_first(""))]
        if reserved:
            raise InputError(f"Column name(s) {', '.join(reserved)} are reserved by the sequence model "
                             f"({GAP}, {LENGTH}, {START}, {SIZE}, {_first('')}*); rename them before fitting.")
        own_volatility = yes_no(self.entity_volatility, "entity_volatility")
        common = yes_no(self.common_factor, "common_factor")
        leaf = self.min_samples_leaf
        if isinstance(leaf, bool) or not isinstance(leaf, (int, np.integer)) or leaf < 1:
            raise InputError(f"min_samples_leaf must be a whole number ≥ 1 (events per leaf of the step models), got {leaf!r}")
        rng = np.random.default_rng(self.random_state)
        self.columns_ = [str(c) for c in data.columns]
        self.dtypes_ = {c: str(data[c].dtype) for c in self.columns_}
        self.statics_ = self._find_statics(frame)
        dynamic = [c for c in self.columns_ if c not in (self.entity, self.order, *self.statics_)]
        numeric = [c for c in dynamic if _numeric(frame[c])]
        self.categories_ = {c: self._categories(frame[c]) for c in dynamic if c not in numeric}
        groups = frame.groupby(self.entity, sort=False)
        lengths = groups.size().to_numpy()
        self.n_entities_ = int(lengths.size)
        if (few := few_entities(self.n_entities_, self.min_category_count)) is not None:
            warnings.warn(few, UserWarning, stacklevel=2)
        self.n_training_rows_ = int(len(frame))
        self.entity_prefix_ = _entity_prefix(frame[self.entity])
        self.time_ = {**self._order_kind(frame[self.order]), **clock,  # a zone's clock: see to_model_clock
                      **(written_format(data[self.order]) if pd.api.types.is_datetime64_any_dtype(frame[self.order]) else {})}

        values = {c: self._filled(frame, c) for c in numeric}
        self.missing_ = {c: float(frame[c].isna().mean()) for c in dynamic if frame[c].isna().any()}
        # rules are found on the rows where both values are present, as the sequence report checks
        # them: values filled across gaps (a gust measured in one hour of five) can break a rule that
        # every real row keeps
        above = row_orderings({c: frame[c].to_numpy(dtype=float) for c in numeric}, numeric)
        self.plans_ = plan_columns(frame, self.entity, numeric, dynamic, values, above)
        set_scales(self.plans_, frame[self.entity].to_numpy(), values)
        sizes = entity_sizes(self.plans_, frame[self.entity].to_numpy(), values) if own_volatility else None
        self.entity_sizes_ = sizes is not None
        if own_volatility and sizes is None:
            warnings.warn("entity_volatility=True has no effect on this table: no numeric column is modelled "
                          "by its changes from one event to the next (none moves by steps of a typical size), "
                          "so there is no volatility to give each entity. The model is fitted without it.",
                          UserWarning, stacklevel=2)
        self.gap_plan_ = ColumnPlan(name=GAP, kind="numeric", decimals=None)
        ordinal = self._ordinal(frame[self.order])
        gaps = np.diff(ordinal, prepend=np.nan)
        gaps[np.r_[0, np.cumsum(lengths)[:-1]]] = np.nan
        if np.nanmin(gaps, initial=np.inf) <= 0:
            raise InputError(f"Order column '{self.order}' has ties or decreases inside an entity.")
        self.calendar_ = find_calendar(frame[self.entity].to_numpy(), ordinal) if common else None
        self.factor_: FactorModel | None = None
        self.loadings_: dict[str, float] = {}
        if common and self.calendar_ is None:
            warnings.warn("common_factor=True has no effect on this table: its entities do not share a calendar "
                          f"(no {MIN_DATES} values of '{self.order}' at which {MIN_SHARED} or more entities, and half "
                          "of those whose history spans them, have an event). The model is fitted without it.",
                          UserWarning, stacklevel=2)

        # the entity table: statics, length, start and first values
        starts = np.r_[0, np.cumsum(lengths)[:-1]]
        table = frame.iloc[starts][[self.entity, *self.statics_]].reset_index(drop=True)
        table[LENGTH] = lengths
        table[START] = frame[self.order].iloc[starts].to_numpy()
        row0 = {p.name: values[p.name][starts] for p in self.plans_ if p.kind == "numeric"}
        for plan in self.plans_:
            if plan.kind == "category":
                table[_first(plan.name)] = frame[plan.name].iloc[starts].to_numpy()
            elif plan.mode in _OWN_LEVEL:
                table[_first(plan.name)] = row0[plan.name]
            else:  # relative to other columns of the same row: stored as that relation
                table[_first(plan.name)] = to_repr(plan, row0[plan.name], row0, row0)
        if sizes is not None:
            table[SIZE] = sizes
        self.entity_model_ = AutoregressiveSynthesizer(
            min_category_count=self.min_category_count, random_state=self.random_state,
            order=[*self.context, LENGTH] if self.context else None,
        ).fit(table.drop(columns=[self.entity]))

        # step models, fitted on every event after the first
        self.static_codes_ = {c: self._categories(frame[c]) for c in self.statics_ if not _numeric(frame[c])}
        statics = self._encode_statics(table)
        X, Y, V = self._transitions(frame, values, gaps, lengths, statics, sizes)
        self._fit_steps(X, Y, V, statics.shape[1], rng)
        self._sample_rng_ = np.random.default_rng(self.random_state)
        return self

    def _find_statics(self, frame: pd.DataFrame) -> list[str]:
        others = [c for c in frame.columns if c not in (self.entity, self.order)]
        if self.statics is not None:
            unknown = [c for c in self.statics if c not in others]
            if unknown:
                raise InputError(f"statics names unknown columns: {', '.join(map(str, unknown))}")
            return [str(c) for c in self.statics]
        nunique = frame.groupby(self.entity, sort=False)[others].nunique(dropna=False)
        return [str(c) for c in others if (nunique[c] <= 1).all()]

    def _categories(self, s: pd.Series) -> list[Any]:
        counts = s.dropna().value_counts()
        return [v.item() if hasattr(v, "item") else v for v in counts.index[counts >= self.min_category_count]]

    def _order_kind(self, s: pd.Series) -> dict[str, Any]:
        if pd.api.types.is_datetime64_any_dtype(s):
            times = s.to_numpy("datetime64[ns]").astype(np.int64)
            day = 86_400 * 10**9
            unit = day if np.all(times % day == 0) else 10**9
            # the resolution of the real times (whole minutes stay whole minutes), in units of ``unit``
            res = next(r for r in _RESOLUTIONS if np.all(times % r == 0))
            return {"datetime": True, "unit": int(unit), "weekday": bool(unit == day), "step": res / unit}
        if not _numeric(s):
            raise InputError(f"Order column '{self.order}' must hold dates or numbers, not {s.dtype}.")
        integer = bool(pd.api.types.is_integer_dtype(s))
        return {"datetime": False, "unit": 1, "weekday": False, "integer": integer, "step": 1 if integer else None}

    def _snap(self, times: np.ndarray) -> np.ndarray:
        """Event times (entities x events) on the real times' resolution, still strictly increasing."""
        step = self.time_.get("step")  # absent in models saved before: their times are left as drawn
        if not step:
            return times
        snapped = np.floor(times / step + 0.5) * step
        for t in range(1, snapped.shape[1]):  # NaN (past an entity's length) stays NaN
            snapped[:, t] = np.maximum(snapped[:, t], snapped[:, t - 1] + step)
        return snapped

    def _ordinal(self, s: pd.Series) -> np.ndarray:
        if self.time_["datetime"]:
            return (s.to_numpy("datetime64[ns]").astype(np.int64) / self.time_["unit"]).astype(float)
        return s.to_numpy(dtype=float)

    def _filled(self, frame: pd.DataFrame, c: str) -> np.ndarray:
        """A numeric column with gaps filled from the same entity's neighbours (for the lags only)."""
        s = frame[c].astype(float)
        return s.groupby(frame[self.entity], sort=False).transform(lambda g: g.ffill().bfill()).to_numpy()

    def _encode_statics(self, table: pd.DataFrame) -> np.ndarray:
        cols = []
        for c in self.statics_:
            if c in self.static_codes_:
                lookup = {v: i for i, v in enumerate(self.static_codes_[c])}
                cols.append(table[c].map(lookup).to_numpy(dtype=float))
            else:
                cols.append(pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float))
        return np.column_stack(cols) if cols else np.zeros((len(table), 0))

    def _codes(self, c: str, s: pd.Series | np.ndarray) -> np.ndarray:
        lookup = {v: i for i, v in enumerate(self.categories_[c])}
        other = len(self.categories_[c])  # rare and missing values share one code
        # as objects: a categorical column's map stays categorical, which refused the code of rare values
        return pd.Series(s).astype(object).map(lookup).fillna(other).to_numpy(dtype=float)

    def _transitions(self, frame: pd.DataFrame, values: dict[str, np.ndarray], gaps: np.ndarray,
                     lengths: np.ndarray, statics: np.ndarray,
                     sizes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from simulacra.tabular._sequence_fit import transitions

        return transitions(self, frame, values, gaps, lengths, statics, sizes)

    @staticmethod
    def _repr(p: ColumnPlan, row: dict[str, np.ndarray], prev: dict[str, np.ndarray]) -> np.ndarray:
        if p.kind == "category":
            return row[p.name]
        return to_repr(p, row[p.name], prev, row)

    def _fit_steps(self, X: np.ndarray, Y: np.ndarray, V: np.ndarray, n_static: int, rng: np.random.Generator) -> None:
        from simulacra.tabular._sequence_fit import fit_steps

        fit_steps(self, X, Y, V, n_static, rng)

    # -- sampling --------------------------------------------------------------------------------
    def sample(self, n_entities: int, *, random_state: int | np.random.Generator | None = None,
               conditions: dict[str, Any] | None = None) -> pd.DataFrame:
        """``n_entities`` new entities with whole histories, ordered by entity and order.

        ``conditions`` fixes static attributes (or ``__n_events`` for the number of events) of every
        sampled entity, as in single-table conditional sampling.
        """
        self._check_fitted()
        if isinstance(n_entities, bool) or not isinstance(n_entities, (int, np.integer)) or n_entities < 0:
            raise InputError(f"n_entities must be a whole number ≥ 0, got {n_entities!r}")
        if conditions:
            unknown = [c for c in conditions if c not in (*self.statics_, LENGTH)]
            if unknown:
                raise InputError(f"Sequences can be conditioned on static attributes only ({', '.join(self.statics_) or 'none'}"
                                 f", or {LENGTH}); not on {', '.join(unknown)}.")
        rng = self._rng(random_state)
        if n_entities == 0:
            return self._frame({})
        table = self.entity_model_.sample(int(n_entities), random_state=int(rng.integers(2**62)),
                                          conditions=conditions)
        lengths = np.maximum(pd.to_numeric(table[LENGTH]).to_numpy(dtype=np.int64), 1)
        return self._roll(table, lengths, rng)

    def sample_given(self, context: pd.DataFrame, *,
                     random_state: int | np.random.Generator | None = None) -> pd.DataFrame:
        """One entity per row of ``context`` (values of the ``context`` columns, and ``__n_events``),
        drawn given them, in that order; fit with ``context=`` naming those columns."""
        from simulacra.tabular._relational_draw import sample_given

        self._check_fitted()
        rng = self._rng(random_state)
        if not len(context):
            return self._frame({})
        given = context.reset_index(drop=True)
        table = pd.concat([given, sample_given(self.entity_model_, given, rng)], axis=1)
        lengths = np.maximum(pd.to_numeric(table[LENGTH]).to_numpy(dtype=np.int64), 1)
        return self._roll(table, lengths, rng)

    def _roll(self, table: pd.DataFrame, lengths: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        from simulacra.tabular._sequence_forecast import draw_step

        n, T = lengths.size, int(lengths.max())
        plans = self.plans_
        statics = self._encode_statics(table)
        sizes = pd.to_numeric(table[SIZE], errors="coerce").to_numpy(dtype=float) \
            if self.entity_sizes_ and SIZE in table else None
        levels = np.full((n, T, len(plans)), np.nan)
        times = np.full((n, T), np.nan)
        times[:, 0] = self._ordinal(pd.Series(table[START]) if not self.time_["datetime"]
                                    else pd.to_datetime(table[START]))
        common = None
        if self.calendar_ is not None:  # every entity on the shared calendar, given one new factor path
            times, common = sample_on_calendar(self.factor_, self.calendar_, times[:, 0], lengths,
                                               self.time_["weekday"], rng)
        roller = Roller(plans, statics, lengths, self.time_["weekday"], sizes, common)
        rows = np.arange(n)
        first: dict[str, np.ndarray] = {}
        for p in plans:
            col = table[_first(p.name)]
            if p.kind == "category":
                first[p.name] = self._codes(p.name, col)
                continue
            y = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            first[p.name] = round_like(p, y) if p.mode in _OWN_LEVEL else from_repr(p, y, first, first)
        levels[:, 0] = np.column_stack([first[p.name] for p in plans]) if plans else np.zeros((n, 0))
        reprs = np.column_stack([self._repr(p, first, {q.name: np.full(n, np.nan) for q in plans}) for p in plans]) \
            if plans else np.zeros((n, 0))
        roller.push(0, rows, reprs, levels[:, 0], self._weekday(times[:, 0]))
        for t in range(1, T):
            draw_step(self, t, np.flatnonzero(lengths > t), roller, levels, times, rng)
        return self._frame_from(table, lengths, levels, times, rng)

    def _min_gap(self) -> float:
        cells = self.steps_[GAP].cells
        return float(cells.values_[0]) if cells is not None and cells.values_[0] > 0 else 1e-9

    def _weekday(self, ordinal: np.ndarray) -> np.ndarray | None:
        if not self.time_["weekday"]:
            return None
        return weekday_of(ordinal)

    def _frame_from(self, table: pd.DataFrame, lengths: np.ndarray, levels: np.ndarray, times: np.ndarray,
                    rng: np.random.Generator) -> pd.DataFrame:
        n = lengths.size
        step = np.arange(levels.shape[1])
        mask = step[None, :] < lengths[:, None]
        ent, stp = np.nonzero(mask)
        cols: dict[str, Any] = {}
        cols[self.entity] = np.array([f"{self.entity_prefix_}{i + 1:06d}" for i in range(n)], dtype=object)[ent]
        cols[self.order] = self._snap(times)[ent, stp]
        for c in self.statics_:
            cols[c] = table[c].to_numpy()[ent]
        for j, p in enumerate(self.plans_):
            v = levels[ent, stp, j]
            if p.kind == "category":
                labels = np.array([*self.categories_[p.name], None], dtype=object)
                cols[p.name] = labels[np.nan_to_num(v, nan=len(labels) - 1).astype(np.int64)]
            else:
                cols[p.name] = v
        out = self._frame(cols)
        for c, rate in self.missing_.items():
            hole = rng.random(len(out)) < rate
            if hole.any():
                out[c] = out[c].where(~hole)
        return out

    def _frame(self, cols: dict[str, Any]) -> pd.DataFrame:
        out = pd.DataFrame({c: cols.get(c, []) for c in self.columns_})
        if self.time_["datetime"]:
            out[self.order] = from_model_clock(pd.to_datetime(pd.Series(
                np.round(np.asarray(out[self.order], dtype=float) * self.time_["unit"]).astype(np.int64))), self.time_)
        elif self.time_.get("integer"):
            out[self.order] = np.round(np.asarray(out[self.order], dtype=float)).astype(np.int64)
        for c in self.columns_:
            want = self.dtypes_[c]
            if want.startswith(("int", "Int")) and c != self.order:
                s = pd.to_numeric(out[c], errors="coerce")
                out[c] = s.round().astype("Int64" if s.isna().any() else want)
            elif want.startswith("float"):
                out[c] = pd.to_numeric(out[c], errors="coerce").astype(want)
        return out

    # -- continuing real histories ---------------------------------------------------------------
    def forecast(self, history: pd.DataFrame, n_steps: int, *,
                 random_state: int | np.random.Generator | None = None) -> pd.DataFrame:
        """Synthetic futures: ``n_steps`` new events after the end of each entity's given history.

        The history's entities keep their names and static attributes; only the new events are returned.
        """
        from simulacra.tabular._sequence_forecast import continue_histories

        self._check_fitted()
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
            raise InputError(f"n_steps must be a whole number ≥ 1, got {n_steps!r}")
        return continue_histories(self, history, int(n_steps), random_state)

    # -- persistence -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """The fitted model as plain state (JSON values and numeric arrays), as for single-table models."""
        from simulacra.tabular._sequence_state import to_state

        self._check_fitted()
        return to_state(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SequenceSynthesizer:
        """Rebuild a fitted model from :meth:`to_state`'s output."""
        from simulacra.tabular._sequence_state import from_state

        return from_state(cls, state, _PARAMS)

    # -- introspection ---------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What the model learned, in JSON-able form (for ``simulacra inspect``)."""
        self._check_fitted()
        return {
            "model": self.name, "entity": self.entity, "order": self.order,
            "training_rows": self.n_training_rows_, "training_entities": self.n_entities_,
            "statics": self.statics_, "columns": [p.to_dict() for p in self.plans_],
            "entity_volatility": self.entity_sizes_,
            "common_factor": None if self.calendar_ is None else {
                "calendar_values": int(self.calendar_.size),
                "components": self.factor_.names if self.factor_ is not None else [],
                "loadings": self.loadings_,
                # per-date aggregates of the real data kept in the file (docs/sequences.md, step 8)
                "dates_stored": int(self.factor_.shocks.shape[0]) if self.factor_ is not None else 0,
                "min_entities": MIN_SHARED},
            "row_rules": [f"{p.name} >= {b}" for p in self.plans_ for b in p.lower]
            + [f"{p.name} <= {b}" for p in self.plans_ for b in p.upper],
        }

    def __repr__(self) -> str:
        return f"SequenceSynthesizer(entity={self.entity!r}, order={self.order!r})"


# resolutions of a date/time order column, coarsest first, in nanoseconds: day, hour, minute, second, ms, µs, ns
_RESOLUTIONS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)


def _entity_prefix(s: pd.Series) -> str:
    return "entity_" if not isinstance(s.iloc[0], str) else "E"
