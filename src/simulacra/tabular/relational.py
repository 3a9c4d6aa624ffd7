"""A database of related tables: fit every table and relationship, sample a whole new database.

:class:`RelationalSynthesizer` fits one default (autoregressive) model per table, parents first:

1. A table whose rows belong to a **primary parent** is generated from it: the parent's model carries
   the number of children of each parent row as one more column (``__n.<i>``, zeros included), so
   counts agree with the parent's attributes; the child's rows are then drawn *given* their parent's
   columns (the parent's columns start the child's chain, which makes this exact conditional sampling),
   and these include the parent's counts of other children (an aggregate of the siblings).
2. Every **other foreign key** is linked after drawing: the child model also draws the attributes of
   that parent row (a few of its columns and its count of children) and the row is linked to the
   synthetic parent row nearest to them. Orphans and missing keys are drawn as a state column, so
   their real rates are kept; every other key resolves.
3. A table with no parent it could be generated from (none, or one referring to too few parent rows,
   such as weather by three airports) is a **root**: its row count is the real count times ``scale``.

Primary keys made of one column are fresh (same type and shape, e.g. ``N123AB``, never a real value);
composite keys are data (``origin`` + ``time_hour``) and are kept unique by drawing repeated parts
again from the values seen. A table can be kept as it is (``fixed=["airports"]``, a public lookup
table): then its real rows are stored in the model file.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> users = pd.DataFrame({"user_id": np.arange(300), "age": rng.integers(18, 80, 300)})
>>> orders = pd.DataFrame({"order_id": np.arange(900), "user_id": rng.integers(0, 300, 900),
...                        "total": rng.gamma(2, 20, 900).round(2)})
>>> synth = RelationalSynthesizer(random_state=0).fit({"users": users, "orders": orders})
>>> fake = synth.sample(scale=0.5)
>>> len(fake["users"]), bool(fake["orders"]["user_id"].isin(fake["users"]["user_id"]).all())
(150, True)
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.metadata.multi import MultiTableMetadata, Relationship
from simulacra.tabular._composite import CompositeModel
from simulacra.tabular._relational_draw import (
    KeyFormat,
    attribute_matrix,
    match_parents,
    pool_values,
    sample_given,
    unique_keys,
)
from simulacra.tabular._relational_fit import _take, check_tables, fit_tables, restore_dtypes
from simulacra.tabular._relational_plan import MISSING, OK, ORPHAN, Link, TablePlan, count_column
from simulacra.tabular._relational_seq import sample_histories

_PARAMS = ("metadata", "random_state", "fixed", "parents", "max_rows", "min_category_count", "model_params",
           "sequence_params")
#: Parameters of a sequence child's model that ``sequence_params`` may set (the others are the relational model's).
_SEQUENCE_OPTIONS = ("entity_volatility", "common_factor", "min_samples_leaf")


class RelationalSynthesizer(CompositeModel):
    """Fit a database of related tables and sample new ones with every key consistent.

    Parameters
    ----------
    metadata : MultiTableMetadata, dict or path, optional
        Tables, keys and relationships; detected from the data when omitted.
    random_state : int, optional
        Seed of fitting, and of sampling when ``sample`` is given none.
    fixed : list of str, optional
        Tables kept exactly as they are (public lookup tables); their rows are stored in the model.
    parents : dict, optional
        ``{child: parent}``: the parent table that generates a child's rows, overriding the choice
        (the parent the child refers to through the most distinct rows, with few orphans).
    max_rows : int, default 50_000
        Rows of a table used to fit its model (a random subset beyond that; counts use every row).
    min_category_count : int, default 5
        Privacy floor of every table model (values seen in fewer rows are never reproduced).
    model_params : dict, optional
        Extra parameters of every table's :class:`~simulacra.tabular.autoreg.AutoregressiveSynthesizer`.
        A table with a parent is fitted with ``category_depth=None`` unless this sets it: its categorical
        columns depend on the parent's columns through their trees, and the single-table limit cut that.
    sequence_params : dict, optional
        Options of every sequence child's :class:`~simulacra.tabular.sequence.SequenceSynthesizer`
        (``entity_volatility``, ``common_factor``, ``min_samples_leaf``), e.g. ``{"entity_volatility": True}``.
    """

    name: ClassVar[str] = "relational"
    #: The options of the sequence children's model that ``sequence_params`` may set.
    sequence_options: ClassVar[tuple[str, ...]] = _SEQUENCE_OPTIONS
    _fitted_attribute: ClassVar[str] = "plans_"
    _fit_argument: ClassVar[str] = "tables"

    def __init__(self, *, metadata: Any = None, random_state: int | None = None, fixed: list[str] | None = None,
                 parents: dict[str, str] | None = None, max_rows: int = 50_000, min_category_count: int = 5,
                 model_params: dict[str, Any] | None = None, sequence_params: dict[str, Any] | None = None) -> None:
        self.metadata = metadata
        self.random_state = random_state
        self.fixed = fixed
        self.parents = parents
        self.max_rows = max_rows
        self.min_category_count = min_category_count
        self.model_params = model_params
        self.sequence_params = sequence_params

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _PARAMS}

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, tables: dict[str, pd.DataFrame]) -> RelationalSynthesizer:
        """Learn every table and relationship of ``tables`` (name -> DataFrame); returns self.

        The frames are neither modified nor kept (except tables named in ``fixed``).
        """
        check_tables(tables)
        meta = self._metadata(tables)
        meta.validate(tables)
        meta = meta.measured(tables)
        fixed = list(self.fixed or [])
        unknown = [t for t in fixed + list((self.parents or {}).keys()) if t not in tables]
        if unknown:
            raise InputError(f"fixed/parents name unknown tables: {', '.join(unknown)}; tables are: {', '.join(tables)}")
        if isinstance(self.max_rows, bool) or not isinstance(self.max_rows, int) or self.max_rows < 100:
            raise InputError(f"max_rows must be a whole number ≥ 100, got {self.max_rows!r}")
        if self.sequence_params is not None and not isinstance(self.sequence_params, dict):
            raise InputError(f"sequence_params must be a dict of options (e.g. {{'entity_volatility': True}}), "
                             f"got {type(self.sequence_params).__name__}.")
        unknown = sorted(set(self.sequence_params or {}) - set(_SEQUENCE_OPTIONS))
        if unknown:
            raise InputError(f"sequence_params: {', '.join(unknown)} cannot be set for sequence children; the "
                             f"options are {', '.join(_SEQUENCE_OPTIONS)}.")
        self.metadata_ = meta
        self.order_ = meta.order()
        fitted = fit_tables(meta, tables, self.order_, fixed=fixed, parents=dict(self.parents or {}),
                            max_rows=self.max_rows, min_category_count=self.min_category_count,
                            model_params=dict(self.model_params or {}), random_state=self.random_state,
                            sequence_params=dict(self.sequence_params or {}))
        self.plans_, self.models_, self.key_formats_, self.fixed_ = fitted
        if self.sequence_params and not any(plan.order is not None for plan in self.plans_.values()):
            warnings.warn(f"sequence_params ({', '.join(sorted(self.sequence_params))}) had no effect: no table of "
                          "this database is a sequence child (declare one with `simulacra metadata FOLDER --sequence "
                          "TABLE.KEY:ORDER`).", UserWarning, stacklevel=2)
        self._sample_rng_ = np.random.default_rng(self.random_state)
        return self

    def _metadata(self, tables: dict[str, pd.DataFrame]) -> MultiTableMetadata:
        meta = self.metadata
        if meta is None:
            return MultiTableMetadata.detect(tables)
        if isinstance(meta, MultiTableMetadata):
            return meta
        if isinstance(meta, dict):
            return MultiTableMetadata.from_dict(meta)
        if isinstance(meta, (str, Path)):
            return MultiTableMetadata.load(meta)
        raise InputError(f"metadata must be a MultiTableMetadata, a dict or a path, not {type(meta).__name__}")

    # -- sampling --------------------------------------------------------------------------------
    def sample(self, scale: float = 1.0, *, random_state: int | np.random.Generator | None = None
               ) -> dict[str, pd.DataFrame]:
        """A new database: root tables have ``scale`` times their real rows, children follow their parents."""
        self._check_fitted()
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not np.isfinite(scale) or scale < 0:
            raise InputError(f"scale must be a number ≥ 0, got {scale!r}")
        rng = self._rng(random_state)
        frames: dict[str, pd.DataFrame] = {}
        out: dict[str, pd.DataFrame] = {}
        self.dropped_: dict[str, int] = {}
        for name in self.order_:
            trng = np.random.default_rng(int(rng.integers(2**62)))
            frames[name], out[name] = self._sample_table(self.plans_[name], float(scale), frames, out, trng)
        return {name: out[name] for name in self.metadata_.tables}

    def _sample_table(self, plan: TablePlan, scale: float, frames: dict[str, pd.DataFrame],
                      out: dict[str, pd.DataFrame], rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
        if plan.fixed:
            frame = pd.DataFrame(self.fixed_[plan.name])
            return frame, restore_dtypes(frame[plan.columns].copy(), plan)
        model = self.models_.get(plan.name)
        parent_pos = np.zeros(0, dtype=np.int64)
        if plan.n_rows == 0:
            frame = pd.DataFrame(index=pd.RangeIndex(0))
        elif plan.primary is None:
            n = int(round(plan.n_rows * scale))
            frame = model.sample(n, random_state=int(rng.integers(2**62))) if model is not None \
                else pd.DataFrame(index=pd.RangeIndex(n))
        else:
            frame, parent_pos = self._children(plan, model, scale, frames, rng)
        for i in plan.counts:  # a table sampled with no rows still tells its children they have none
            if count_column(i) not in frame.columns:
                frame[count_column(i)] = np.zeros(len(frame), dtype=np.int64)
        table = self._assemble(plan, frame, parent_pos, frames, out, rng)
        if plan.key and not plan.fresh_key and plan.pools:
            keep = unique_keys(table, plan.key, plan.pools, rng)
            if not keep.all():
                self.dropped_[plan.name] = int((~keep).sum())
                table, frame = table[keep].reset_index(drop=True), frame[keep].reset_index(drop=True)
        return frame, restore_dtypes(table, plan)

    def _children(self, plan: TablePlan, model: Any, scale: float, frames: dict[str, pd.DataFrame],
                  rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
        """Rows generated by the primary parent (plus orphan and missing-key rows), given its columns."""
        assert plan.primary is not None
        rel = self.metadata_.relationships[plan.primary]
        parent = frames[rel.parent]
        counts = pd.to_numeric(parent[count_column(plan.primary)], errors="coerce").fillna(0).to_numpy(dtype=float)
        if self.plans_[rel.parent].fixed:
            counts = counts * scale
        counts = np.maximum(np.round(counts), 0).astype(np.int64)
        if plan.order is not None and model is not None:  # a sequence child: each parent row's history
            return sample_histories(plan, model, parent, counts, rng)
        pos = np.repeat(np.arange(len(parent)), counts)
        orphan, missing = plan.unlinked.get(ORPHAN, 0.0), plan.unlinked.get(MISSING, 0.0)
        linked = max(1.0 - orphan - missing, 1e-9)
        n_orphan, n_missing = (int(round(pos.size * share / linked)) for share in (orphan, missing))
        pos = np.concatenate([pos, np.full(n_orphan + n_missing, -1)])
        context = pd.DataFrame({col: _take(parent[src], pos) for col, src in plan.context.items()})
        if plan.state:
            context.insert(0, plan.state, np.array([OK] * (pos.size - n_orphan - n_missing)
                                                   + [ORPHAN] * n_orphan + [MISSING] * n_missing, dtype=object))
        if model is None:
            return context, pos
        if pos.size == 0:  # no rows, but every column a child of this table may read
            return context.reindex(columns=[*context.columns, *(c for c in model.columns_ if c not in context)]), pos
        drawn = sample_given(model, context, rng)
        return pd.concat([context, drawn], axis=1), pos

    def _assemble(self, plan: TablePlan, frame: pd.DataFrame, parent_pos: np.ndarray,
                  frames: dict[str, pd.DataFrame], out: dict[str, pd.DataFrame], rng: np.random.Generator) -> pd.DataFrame:
        """The user-facing table: own columns, fresh keys, foreign keys resolved."""
        n = len(frame)
        table = pd.DataFrame({c: frame[c].to_numpy() if c in frame.columns else np.full(n, np.nan, dtype=object)
                              for c in plan.columns}, index=pd.RangeIndex(n))
        if plan.fresh_key and plan.key:
            table[plan.key[0]] = self.key_formats_[plan.name].make(n, rng)
        for col, ctx in plan.inherited.items():
            table[col] = frame[ctx].to_numpy()
        if plan.primary is not None:
            rel = self.metadata_.relationships[plan.primary]
            states = frame[plan.state].to_numpy() if plan.state else np.full(n, OK, dtype=object)
            self._set_keys(table, rel, parent_pos, states, out, rng)
        for link in plan.links:
            self._link(table, frame, link, frames, out, rng)
        return table

    def _link(self, table: pd.DataFrame, frame: pd.DataFrame, link: Link, frames: dict[str, pd.DataFrame],
              out: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
        rel = self.metadata_.relationships[link.rel]
        n = len(table)
        states = frame[link.state].to_numpy() if link.state else np.full(n, OK, dtype=object)
        parent = frames[rel.parent]
        pos = np.full(n, -1, dtype=np.int64)
        ok = np.flatnonzero(states == OK)
        if ok.size and len(parent) and link.key:
            pos[ok] = _key_positions(frame[link.key].to_numpy(dtype=object)[ok], out[rel.parent][rel.parent_key[0]],
                                     _count_weights(parent, link.rel), rng)
        elif ok.size and len(parent):
            cols = list(link.attrs.values())
            child = frame.iloc[ok][list(link.attrs)].set_axis(cols, axis=1)
            pos[ok] = match_parents(attribute_matrix(child, cols, parent), attribute_matrix(parent, cols, parent),
                                    _count_weights(parent, link.rel), rng)
        elif ok.size:
            states = np.where(states == OK, ORPHAN, states)
        self._set_keys(table, rel, pos, states, out, rng)

    def _set_keys(self, table: pd.DataFrame, rel: Relationship, pos: np.ndarray, states: np.ndarray,
                  out: dict[str, pd.DataFrame], rng: np.random.Generator) -> None:
        """Write the foreign key: the parent row's key, a key absent from the parent, or missing."""
        parent = out[rel.parent]
        linked = (states == OK) & (pos >= 0)
        orphans = np.flatnonzero(~linked & (states != MISSING))
        for pc, cc in zip(rel.parent_key, rel.child_key):
            values = np.full(len(table), None, dtype=object)
            values[linked] = parent[pc].to_numpy(dtype=object)[pos[linked]]
            table[cc] = values
        if orphans.size:
            self._orphan_keys(table, rel, orphans, parent, rng)

    def _orphan_keys(self, table: pd.DataFrame, rel: Relationship, rows: np.ndarray, parent: pd.DataFrame,
                     rng: np.random.Generator) -> None:
        if len(rel.parent_key) == 1:
            taken = set(parent[rel.parent_key[0]].dropna().tolist())
            table.iloc[rows, table.columns.get_loc(rel.child_key[0])] = \
                self.key_formats_[rel.parent].make(rows.size, rng, avoid=taken)
            return
        pools = self.plans_[rel.parent].pools
        if not len(parent):
            return
        base = parent[list(rel.parent_key)].iloc[rng.integers(len(parent), size=rows.size)].reset_index(drop=True)
        free = [pc for pc in rel.parent_key if pc in pools]
        if free:  # the key's data part (a time): a combination of its pool absent from the parent
            taken = pd.MultiIndex.from_frame(parent[list(rel.parent_key)])
            values = {pc: _grid(pool_values(parent[pc], pools[pc])) for pc in free} if len(free) == 1 \
                else {pc: pool_values(parent[pc], pools[pc]) for pc in free}
            todo = np.arange(rows.size)
            for _ in range(20):
                pick = rng.integers(len(values[free[0]]), size=todo.size)
                for pc in free:
                    base.loc[todo, pc] = values[pc][pick]
                todo = todo[np.asarray(pd.MultiIndex.from_frame(base.iloc[todo]).isin(taken))]
                if not todo.size:
                    break  # rows left in ``todo`` resolve: the synthetic parent took every free combination
        for pc, cc in zip(rel.parent_key, rel.child_key):
            table.iloc[rows, table.columns.get_loc(cc)] = base[pc].to_numpy(dtype=object)

    # -- persistence -----------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """The fitted model as plain state (JSON values and numeric arrays); no pickle."""
        self._check_fitted()
        return {
            "class": type(self).__name__, "model": self.name,
            "params": {**self.get_params(), "metadata": None},  # the metadata is saved whole, as the model's
            "metadata": self.metadata_.to_dict(),
            "state": {"order": self.order_, "plans": {k: p.to_dict() for k, p in self.plans_.items()},
                      "models": {k: m.to_state() for k, m in self.models_.items()},
                      "key_formats": {k: f.to_dict() for k, f in self.key_formats_.items()},
                      "fixed": self.fixed_},
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RelationalSynthesizer:
        """Rebuild a fitted model from :meth:`to_state`'s output."""
        from simulacra.tabular.autoreg import AutoregressiveSynthesizer
        from simulacra.tabular.sequence import SequenceSynthesizer

        params = cls._saved_params(state, _PARAMS)
        model = cls(**params)
        body = state["state"]
        model.metadata_ = MultiTableMetadata.from_dict(state["metadata"])
        model.order_ = [str(t) for t in body["order"]]
        model.plans_ = {str(k): TablePlan.from_dict(v) for k, v in body["plans"].items()}
        model.models_ = {str(k): (SequenceSynthesizer if model.plans_[str(k)].order else AutoregressiveSynthesizer)
                         .from_state(v) for k, v in body["models"].items()}
        model.key_formats_ = {str(k): KeyFormat(**v) for k, v in body["key_formats"].items()}
        model.fixed_ = {str(k): {str(c): list(v) for c, v in t.items()} for k, t in body["fixed"].items()}
        model._sample_rng_ = np.random.default_rng(params.get("random_state"))
        return model

    # -- introspection ---------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What the model learned, in JSON-able form."""
        self._check_fitted()
        rels = self.metadata_.relationships
        return {"model": self.name, "tables": {
            name: {"rows": plan.n_rows, "fixed": plan.fixed, "fresh_key": plan.fresh_key,
                   "generated_by": None if plan.primary is None else rels[plan.primary].name,
                   "sequence_order": plan.order, "identifier_like": list(plan.identifier_like),
                   "linked": [rels[link.rel].name for link in plan.links],
                   "inherited": sorted(plan.inherited)}
            for name, plan in self.plans_.items()}}

    def __repr__(self) -> str:
        return f"RelationalSynthesizer(tables={list(getattr(self, 'order_', []))})"


def _count_weights(parent: pd.DataFrame, rel: int) -> np.ndarray:
    """Each parent row's real (or drawn) number of children through ``rel``; ones when not known."""
    col = count_column(rel)
    return pd.to_numeric(parent[col], errors="coerce").fillna(0).to_numpy(dtype=float) if col in parent.columns \
        else np.ones(len(parent))


def _key_positions(drawn: np.ndarray, keys: pd.Series, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions of the drawn keys of a fixed parent; a key the model could not name (a rare one under
    the privacy floor) goes to a parent row drawn in proportion to its children."""
    pos = np.asarray(pd.Index(keys.astype(object)).get_indexer(pd.Index(drawn)), dtype=np.int64)
    lost = pos < 0
    if lost.any():
        p = np.asarray(weights, dtype=float) + 1e-9
        pos[lost] = rng.choice(len(keys), size=int(lost.sum()), p=p / p.sum())
    return pos


def _grid(values: np.ndarray, most: int = 1_000_000) -> np.ndarray:
    """A regular grid over numbers or times (the hours of the year from the hours seen), so that a key
    absent from the parent can be drawn inside its range; other values are returned as they are."""
    if values.dtype.kind not in "iufM" or values.size < 3:
        return values
    ordered = np.unique(values[~pd.isna(values)])
    steps = np.diff(ordered.astype(np.int64) if ordered.dtype.kind == "M" else ordered)
    step = np.median(steps[steps > 0]) if (steps > 0).any() else 0
    if not step or (ordered[-1] - ordered[0]) / (ordered.dtype.type(step) if ordered.dtype.kind != "M" else
                                                   np.timedelta64(int(step), "ns")) > most:
        return values
    if ordered.dtype.kind == "M":
        return np.arange(ordered[0], ordered[-1] + np.timedelta64(int(step), "ns"), np.timedelta64(int(step), "ns"))
    return np.arange(ordered[0], ordered[-1] + step, step)
