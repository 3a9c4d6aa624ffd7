"""The spec document: pydantic models of tables, and their compilation into checked plans."""

from __future__ import annotations

import datetime as dt
import graphlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulacra.spec.expr import ROW, Expression
from simulacra.spec.kinds.base import ColumnKind, parse_column, stable_key
from simulacra.spec.source import Loc, SpecSource, pydantic_problems, suggest


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    columns: dict[str, Any] = Field(default_factory=dict, description="Column name -> column spec.")
    constraints: list[str | dict[str, Any]] = Field(default_factory=list, description="Rules every row satisfies.")
    description: str | None = None


class RowTable(_Table):
    """Independent rows (``rows`` or ``ratio`` of the main table), or children of a ``parent`` table
    with ``per_parent`` children per parent row."""

    kind: Literal["table"] = "table"
    rows: int | None = Field(None, ge=0)
    ratio: float | None = Field(None, gt=0)
    parent: str | None = None
    per_parent: Any = Field(None, description="A count distribution, e.g. {kind: poisson, lam: 3}.")


class SeriesTable(_Table):
    """``length`` time steps for each of ``entities`` (a number, or a parent table name)."""

    kind: Literal["timeseries"]
    entities: int | str
    length: int = Field(..., ge=1)
    start: dt.date | dt.datetime | str = "2024-01-01"
    freq: str = Field("D", description="pandas frequency: D, h, W, MS, 15min, ...")
    time_column: str = "time"
    entity_column: str = "entity"
    step_column: str | None = Field(None, description="Also output the step number 0..length-1 under this name.")


class GraphTable(_Table):
    """A random graph (networkx) as a node table (this name) and an edge table (``edges_table``)."""

    kind: Literal["graph"]
    model: Literal["erdos_renyi", "barabasi_albert", "watts_strogatz", "stochastic_block"]
    nodes: int | None = Field(None, ge=1)
    p: float | None = Field(None, ge=0, le=1, description="Edge probability (erdos_renyi, watts_strogatz rewiring).")
    m: int | None = Field(None, ge=1, description="Edges per new node (barabasi_albert).")
    k: int | None = Field(None, ge=1, description="Neighbours in the ring (watts_strogatz).")
    sizes: list[int] | None = Field(None, description="Community sizes (stochastic_block).")
    probabilities: list[list[float]] | None = Field(None, description="Edge probability between communities.")
    directed: bool = False
    node_column: str = "node"
    source_column: str = "source"
    target_column: str = "target"
    edges_table: str | None = None
    edge_columns: dict[str, Any] = Field(default_factory=dict)


TABLE_KINDS: dict[str, type[_Table]] = {"table": RowTable, "timeseries": SeriesTable, "graph": GraphTable}


class SpecDocument(BaseModel):
    """The top level of a spec file."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    version: int = Field(1, ge=1, le=1)
    name: str | None = None
    description: str | None = None
    seed: int | None = Field(None, ge=0)
    tables: dict[str, Any] = Field(..., min_length=1)


@dataclass
class Entry:
    name: str
    kind: ColumnKind
    loc: Loc
    outputs: list[str]
    deps: set[str]


@dataclass
class TablePlan:
    """A checked table: column entries in generation order, visible outputs, constraints."""

    name: str
    model: Any
    loc: Loc
    key: int
    entries: list[Entry]
    outputs: list[str]
    constraints: list[tuple[Expression, Loc, str]] = field(default_factory=list)
    structural: list[str] = field(default_factory=list)
    unique: list[str] = field(default_factory=list)


def parse_document(data: dict[str, Any], source: SpecSource) -> SpecDocument:
    """Validate the top level; a file with top-level ``columns`` is a single table named ``data``."""
    if "tables" not in data and "columns" in data:
        table = {k: data.pop(k) for k in list(data) if k not in SpecDocument.model_fields}
        data = {**data, "tables": {"data": table}}
        source.lines = {(("tables", "data", *k) if k and k[0] not in SpecDocument.model_fields else k): v
                        for k, v in source.lines.items()}
    try:
        return SpecDocument.model_validate(data)
    except ValidationError as exc:
        raise pydantic_problems(exc, SpecDocument, (), source) from None


def parse_table(name: str, data: Any, source: SpecSource) -> Any:
    loc: Loc = ("tables", name)
    if not isinstance(data, dict):
        raise source.error(loc, f"a table must be a mapping with 'columns', got {data!r}")
    kind = data.get("kind", "table")
    cls = TABLE_KINDS.get(kind)
    if cls is None:
        raise source.error((*loc, "kind"), f"unknown table kind '{kind}'{suggest(kind, TABLE_KINDS)}; allowed: {', '.join(TABLE_KINDS)}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise pydantic_problems(exc, cls, loc, source) from None


def compile_columns(
    table: str, columns: dict[str, Any], loc: Loc, source: SpecSource, table_kind: str, structural: list[str]
) -> tuple[list[Entry], list[str]]:
    """Parse the columns and order them so that every column comes after those it reads."""
    entries: dict[str, Entry] = {}
    provider: dict[str, str] = {s: "" for s in structural}
    visible: list[str] = []
    for name, spec in columns.items():
        kind = parse_column(spec, (*loc, name), source, table_kind)
        outputs = kind.outputs(str(name))
        for out in outputs:
            if out in provider:
                raise source.error((*loc, name), f"column '{out}' is defined twice in table '{table}'")
            provider[out] = str(name)
            if not kind.hidden:
                visible.append(out)
        entries[str(name)] = Entry(str(name), kind, (*loc, name), outputs, kind.dependencies())
    graph: dict[str, set[str]] = {}
    for entry in entries.values():
        for dep in entry.deps:
            if dep not in provider:
                raise source.error(
                    entry.loc,
                    f"reads column '{dep}', which table '{table}' does not have{suggest(dep, provider)}; "
                    f"columns: {', '.join(provider)}",
                )
        graph[entry.name] = {provider[d] for d in entry.deps if provider[d] and provider[d] != entry.name}
        if any(provider.get(d) == entry.name for d in entry.deps):
            raise source.error(entry.loc, f"column '{entry.name}' reads itself")
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise source.error(
            entries[cycle[0]].loc,
            f"derived columns form a cycle: {' -> '.join(cycle)}; a column cannot depend on itself through others",
        ) from None
    return [entries[n] for n in order], visible


def compile_constraints(plan: TablePlan, source: SpecSource) -> None:
    """Constraints become row formulas (ranges, inequalities) or uniqueness checks."""
    from simulacra.errors import SpecError
    from simulacra.spec.kinds.identity import KeyKind

    kinds = {out: e.kind for e in plan.entries for out in e.outputs}
    for i, item in enumerate(plan.model.constraints):
        loc = (*plan.loc, "constraints", i)
        if isinstance(item, dict) and set(item) == {"unique"}:
            col = item["unique"]
            if col not in kinds:
                raise source.error(loc, f"unknown column '{col}'{suggest(str(col), kinds)}")
            if not isinstance(kinds[col], KeyKind):
                raise source.error(
                    loc, f"uniqueness of '{col}' cannot be guaranteed: make it a sequence, uuid or id column"
                )
            plan.unique.append(col)
            continue
        if isinstance(item, dict):
            text = _range_text(item, loc, source)
        else:
            text = str(item)
        try:
            expr = Expression(text)
        except SpecError as exc:
            raise source.error(loc, str(exc)) from None
        names = set(plan.outputs) | set(kinds) | set(plan.structural)
        for n in expr.names - {ROW}:
            if n not in names:
                raise source.error(loc, f"constraint reads unknown column '{n}'{suggest(n, names)}")
        plan.constraints.append((expr, loc, text))


def _range_text(item: dict[str, Any], loc: Loc, source: SpecSource) -> str:
    unknown = set(item) - {"column", "min", "max"}
    if unknown or "column" not in item:
        raise source.error(loc, "a constraint is a formula ('a <= b'), {unique: col}, or {column, min, max}")
    col, lo, hi = item["column"], item.get("min"), item.get("max")
    if lo is not None and hi is not None and lo > hi:
        raise source.error(loc, f"impossible constraint: min ({lo}) is greater than max ({hi}) for '{col}'")
    parts = [f"{col} >= {lo!r}" if lo is not None else "", f"{col} <= {hi!r}" if hi is not None else ""]
    return " and ".join(p for p in parts if p) or "True"


def structural_columns(name: str, model: Any) -> list[str]:
    if isinstance(model, SeriesTable):
        cols = [model.entity_column, model.time_column, "step"]
        return cols + ([model.step_column] if model.step_column and model.step_column != "step" else [])
    if isinstance(model, GraphTable):
        return [model.node_column, "degree", "community"]
    return []


def compile_table(name: str, model: Any, source: SpecSource) -> list[TablePlan]:
    """One plan per output table (a graph gives two: nodes and edges)."""
    loc: Loc = ("tables", name)
    structural = structural_columns(name, model)
    entries, visible = compile_columns(name, model.columns, (*loc, "columns"), source, model.kind, structural)
    if isinstance(model, SeriesTable):
        visible = [model.entity_column, model.time_column] + ([model.step_column] if model.step_column else []) + visible
    if isinstance(model, GraphTable):
        visible = [model.node_column, *visible]
    plan = TablePlan(name, model, loc, stable_key(name), entries, visible, structural=structural)
    compile_constraints(plan, source)
    plans = [plan]
    if isinstance(model, GraphTable):
        edges = model.edges_table or f"{name}_edges"
        estruct = [model.source_column, model.target_column]
        e_entries, e_visible = compile_columns(edges, model.edge_columns, (*loc, "edge_columns"), source, "edges", estruct)
        plans.append(TablePlan(edges, model, (*loc, "edge_columns"), stable_key(edges), e_entries, [*estruct, *e_visible], structural=estruct))
    return plans
