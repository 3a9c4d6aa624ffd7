"""The :class:`Spec`: a checked spec that generates tables, by chunks, reproducibly."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra._deprecation import renamed
from simulacra.errors import SpecError
from simulacra.spec import structures as st
from simulacra.spec.kinds.base import Values, parse_column
from simulacra.spec.kinds.identity import KeyKind
from simulacra.spec.model import (
    GraphTable, RowTable, SeriesTable, TablePlan, compile_table, parse_document, parse_table,
)
from simulacra.spec.runner import BLOCK_ROWS, blocks_of, make_block, to_frame
from simulacra.spec.source import SpecSource, load_yaml, suggest


class Spec:
    """A generation spec, checked: tables, columns and rules, ready to generate rows.

    >>> spec = Spec.from_yaml('''
    ... tables:
    ...   people:
    ...     rows: 5
    ...     columns:
    ...       id: {kind: sequence}
    ...       height: {kind: normal, mean: 170, std: 10}
    ...       weight: "= 0.9 * height - 90 + normal(0, 5)"
    ... ''')
    >>> frame = spec.generate(random_state=1)["people"]
    >>> list(frame.columns), len(frame)
    (['id', 'height', 'weight'], 5)
    """

    def __init__(self, data: dict[str, Any], source: SpecSource | None = None, *,
                 allow_external_files: bool = False) -> None:
        self.source = source or SpecSource()
        self.source.allow_external_files = self.source.allow_external_files or allow_external_files
        self.document = parse_document(dict(data), self.source)
        self.models: dict[str, Any] = {}
        self.plans: dict[str, TablePlan] = {}
        for name, table in self.document.tables.items():
            model = parse_table(str(name), table, self.source)
            self.models[str(name)] = model
            for plan in compile_table(str(name), model, self.source):
                if plan.name in self.plans:
                    raise self.source.error(plan.loc, f"table name '{plan.name}' is used twice")
                self.plans[plan.name] = plan
        self._per_parent: dict[str, Any] = {}
        self._entity_key: dict[str, str] = {}
        self._totals: dict[tuple[str, int], list[int]] = {}
        self._check_links()
        self.main = next((n for n, m in self.models.items() if isinstance(m, RowTable) and not m.parent), None)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path_or_text: str | Path, *, allow_external_files: bool = False) -> Spec:
        """A spec from a YAML file (path) or YAML text; errors name the file, line and field.

        Files a spec reads (``empirical`` ``file:``) must lie in the spec's folder (the current directory
        for YAML text) unless ``allow_external_files`` is True.
        """
        data, source = load_yaml(path_or_text)
        return cls(data, source, allow_external_files=allow_external_files)

    @classmethod
    def from_dict(cls, data: dict[str, Any], name: str = "<dict>", *, allow_external_files: bool = False) -> Spec:
        """A spec from a Python mapping (as the YAML would load)."""
        return cls(data, SpecSource(name=name), allow_external_files=allow_external_files)

    @property
    def tables(self) -> list[str]:
        """The output tables, in spec order (a graph gives its node table then its edge table)."""
        return list(self.plans)

    def _key_kind(self, ref: str, loc: Any) -> None:
        table, _, col = ref.partition(".")
        if table not in self.plans:
            raise self.source.error(loc, f"references unknown table '{table}'{suggest(table, self.plans)}")
        plan = self.plans[table]
        if isinstance(plan.model, GraphTable) and col == plan.model.node_column:
            return
        kinds = {out: e.kind for e in plan.entries for out in e.outputs}
        if col not in kinds:
            raise self.source.error(loc, f"table '{table}' has no column '{col}'{suggest(col, kinds)}")
        if not isinstance(kinds[col], KeyKind):
            raise self.source.error(loc, f"'{ref}' is not a key: a referenced column must be a sequence, uuid or id")

    def _check_links(self) -> None:
        from simulacra.spec.kinds.categorical import Finite
        from simulacra.spec.kinds.distributions import Distribution
        from simulacra.spec.kinds.identity import ForeignKey

        for plan in self.plans.values():
            for entry in plan.entries:
                if isinstance(entry.kind, ForeignKey):
                    self._key_kind(entry.kind.references, (*entry.loc, "references"))
        for name, model in self.models.items():
            loc = ("tables", name)
            if isinstance(model, RowTable) and model.parent:
                if model.parent not in self.plans:
                    raise self.source.error((*loc, "parent"), f"unknown table '{model.parent}'{suggest(model.parent, self.plans)}")
                if model.per_parent is None:
                    raise self.source.error(loc, "a child table needs 'per_parent', e.g. {kind: poisson, lam: 3}")
                kind = parse_column(model.per_parent, (*loc, "per_parent"), self.source)
                if not isinstance(kind, Distribution) or isinstance(kind, Finite) and not kind.integer and not _numeric(kind):
                    raise self.source.error((*loc, "per_parent"), "per_parent must be a numeric count distribution")
                self._per_parent[name] = kind
            elif isinstance(model, RowTable) and model.per_parent is not None:
                raise self.source.error((*loc, "per_parent"), "per_parent needs a 'parent' table")
            elif isinstance(model, SeriesTable) and isinstance(model.entities, str):
                self._entity_key[name] = self._entity_ref(name, model.entities)
            elif isinstance(model, GraphTable):
                _check_graph(model, loc, self.source)
            if not isinstance(model, RowTable) and model.constraints and isinstance(model, SeriesTable):
                raise self.source.error((*loc, "constraints"), "constraints are not supported in time-series tables (rows are not independent); clip the columns instead")
        self._order()

    def _entity_ref(self, table: str, parent: str) -> str:
        loc = ("tables", table, "entities")
        if parent not in self.plans:
            raise self.source.error(loc, f"unknown table '{parent}'{suggest(parent, self.plans)}")
        plan = self.plans[parent]
        if isinstance(plan.model, GraphTable):
            return f"{parent}.{plan.model.node_column}"
        for entry in plan.entries:
            if isinstance(entry.kind, KeyKind):
                return f"{parent}.{entry.name}"
        raise self.source.error(loc, f"table '{parent}' has no key column (sequence, uuid or id) to identify entities")

    def _order(self) -> None:
        import graphlib

        from simulacra.spec.kinds.identity import ForeignKey

        graph: dict[str, set[str]] = {}
        for plan in self.plans.values():
            deps = {e.kind.target[0] for e in plan.entries if isinstance(e.kind, ForeignKey)}
            model = plan.model
            if isinstance(model, RowTable) and model.parent:
                deps.add(model.parent)
            if isinstance(model, SeriesTable) and isinstance(model.entities, str):
                deps.add(model.entities)
            graph[plan.name] = deps - {plan.name}
        try:
            self.order = list(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as exc:
            raise self.source.error(("tables", exc.args[1][0]), f"tables reference each other in a cycle: {' -> '.join(exc.args[1])}") from None

    # -- sizes ----------------------------------------------------------------------------------
    def row_unit(self, table: str) -> str:
        """What ``start``/``stop`` of :meth:`generate_range` count for ``table``: ``rows``,
        ``parent_rows`` (child tables), ``entities`` (time series) or ``rows`` of a whole graph."""
        model = self._plan(table).model
        if isinstance(model, RowTable) and model.parent:
            return "parent_rows"
        return "entities" if isinstance(model, SeriesTable) else "rows"

    def units(self, table: str, n_rows: int | None = None, *, random_state: int | None = None,
              seed: int | None = None) -> int:
        """How many units (see :meth:`row_unit`) make table ``table`` when the main table has ``n_rows``."""
        seed = self._random_state(random_state, seed, "units")
        n_rows = _n_rows(n_rows)
        model = self._plan(table).model
        if isinstance(model, RowTable):
            if model.parent:
                return self.count(model.parent, n_rows, random_state=seed)
            if table == self.main and n_rows is not None:
                return int(n_rows)
            if model.rows is not None:
                return model.rows
            if model.ratio is not None and self.main and table != self.main:
                return int(round(model.ratio * self.units(self.main, n_rows, random_state=seed)))
            raise self.source.error(("tables", table), "give 'rows' (or 'ratio' of the main table), or pass n_rows")
        if isinstance(model, SeriesTable):
            return model.entities if isinstance(model.entities, int) else self.count(model.entities, n_rows, random_state=seed)
        return st.graph_size(self._plan(table), seed)

    def count(self, table: str, n_rows: int | None = None, *, random_state: int | None = None,
              seed: int | None = None) -> int:
        """The number of rows of ``table`` when the main table has ``n_rows``."""
        seed = self._random_state(random_state, seed, "count")
        plan = self._plan(table)
        units = self.units(table, n_rows, random_state=seed)
        if self.row_unit(table) == "parent_rows":
            return st.child_total(self, plan, seed, units)
        if isinstance(plan.model, SeriesTable):
            return units * plan.model.length
        return units

    def _plan(self, table: str) -> TablePlan:
        if table not in self.plans:
            raise SpecError(f"unknown table '{table}'{suggest(table, self.plans)}; tables: {', '.join(self.plans)}")
        return self.plans[table]

    # -- keys -----------------------------------------------------------------------------------
    def resolve_key(self, ref: str, rows: np.ndarray, seed: int) -> Values:
        """The values of key column ``table.column`` at parent rows ``rows``."""
        table, _, col = ref.partition(".")
        plan = self.plans[table]
        if isinstance(plan.model, GraphTable) and col == plan.model.node_column:
            return rows
        kind = next(e.kind for e in plan.entries if col in e.outputs)
        return kind.at_rows(rows, seed, plan.key, col)  # type: ignore[attr-defined]

    def _context(self, seed: int, n_rows: int | None) -> dict[str, Any]:
        return {
            "resolve_key": lambda ref, rows: self.resolve_key(ref, rows, seed),
            "table_rows": lambda t: self.count(t, n_rows, random_state=seed),
        }

    # -- generation -----------------------------------------------------------------------------
    def generate_range(self, table: str, start: int, stop: int, *, random_state: int | None = None,
                       n_rows: int | None = None, seed: int | None = None) -> pd.DataFrame:
        """Units ``start`` .. ``stop`` of ``table`` (see :meth:`row_unit`) of the infinite, deterministic
        sequence for ``random_state``: the same seed gives the same rows whatever the chunking.

        ``n_rows`` (the main table's size) only matters to foreign keys that pick among parent rows.
        """
        seed = self._random_state(random_state, seed, "generate_range")
        plan = self._plan(table)
        if start < 0 or stop < start:
            raise SpecError(f"invalid range {start}..{stop}: need 0 <= start <= stop")
        context = self._context(seed, n_rows)
        model = plan.model
        if isinstance(model, RowTable) and model.parent:
            return st.child_range(self, plan, start, stop, seed, context)
        if isinstance(model, SeriesTable):
            return st.series_range(self, plan, start, stop, seed, context)
        if isinstance(model, GraphTable):
            return st.graph_range(self, plan, start, stop, seed, context)
        def block(part: tuple[int, int, int]) -> pd.DataFrame:
            k, lo, hi = part
            cols = make_block(plan, self.source, seed=seed, block=k, first_row=k * BLOCK_ROWS, n=hi, context=context)
            return self._frame(plan, {c: _cut(v, lo, hi) for c, v in cols.items()})

        parts = blocks_of(start, stop, BLOCK_ROWS)
        if len(parts) > 1 and (os.cpu_count() or 1) > 1:
            with ThreadPoolExecutor(max_workers=min(len(parts), os.cpu_count() or 1)) as pool:
                return self._concat(plan, list(pool.map(block, parts)))
        return self._concat(plan, [block(p) for p in parts])

    def _frame(self, plan: TablePlan, columns: dict[str, Values]) -> pd.DataFrame:
        return to_frame(columns, plan.outputs)

    def _concat(self, plan: TablePlan, frames: list[pd.DataFrame]) -> pd.DataFrame:
        if not frames:
            return self._empty(plan)
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def _empty(self, plan: TablePlan) -> pd.DataFrame:
        if isinstance(plan.model, (SeriesTable, GraphTable)) or (isinstance(plan.model, RowTable) and plan.model.parent):
            return pd.DataFrame({c: [] for c in plan.outputs})
        cols = make_block(plan, self.source, seed=0, block=0, first_row=0, n=1, context=self._context(0, 1))
        return self._frame(plan, {c: _cut(v, 0, 0) for c, v in cols.items()})

    def generate_table(self, table: str, n_rows: int | None = None, *, random_state: int | None = None,
                       seed: int | None = None) -> pd.DataFrame:
        """The whole of ``table``; ``n_rows`` is the main table's size (default: the spec's ``rows``)."""
        seed = self._random_state(random_state, seed, "generate_table")
        return self.generate_range(table, 0, self.units(table, n_rows, random_state=seed), random_state=seed, n_rows=n_rows)

    def generate(self, n_rows: int | None = None, *, random_state: int | None = None,
                 seed: int | None = None) -> dict[str, pd.DataFrame]:
        """Every table, in spec order; ``n_rows`` overrides the main (first) table's ``rows``.

        ``random_state`` (an integer) picks the rows; None (the default, in every method) means the
        spec's own ``seed:``, or 0 when it has none: a spec gives the same rows on every run.
        """
        seed = self._random_state(random_state, seed, "generate")
        return {t: self.generate_table(t, n_rows, random_state=seed) for t in self.plans}

    def sample(self, n_rows: int | None = None, *, random_state: int | None = None, seed: int | None = None) -> pd.DataFrame:
        """The rows of a single-table spec (or of its main table)."""
        seed = self._random_state(random_state, seed, "sample")
        table = self.main or self.tables[0]
        return self.generate_table(table, n_rows, random_state=seed)

    def generate_to(
        self, path: str | Path, n_rows: int | None = None, *, random_state: int | None = None,
        chunk_rows: int = 4 * BLOCK_ROWS, format: str | None = None, progress: Any = None, seed: int | None = None,
    ) -> Path:
        """Write every table to ``path`` chunk by chunk (bounded memory); a multi-table spec writes a
        folder with one file per table. Files appear only once complete."""
        from simulacra.spec.writer import write_tables

        seed = self._random_state(random_state, seed, "generate_to")
        return write_tables(self, Path(path), _n_rows(n_rows), seed=seed, chunk_rows=chunk_rows, format=format,
                            progress=progress)

    def simulate(self, column: str, n: int = 100_000, *, random_state: int | None = None, table: str | None = None,
                 seed: int | None = None, **options: Any) -> Any:
        """Monte Carlo summary of ``column`` over ``n`` draws (see :func:`simulacra.spec.simulate.summarize`)."""
        from simulacra.spec.simulate import summarize

        seed = self._random_state(random_state, seed, "simulate")
        if _n_rows(n) == 0:
            raise SpecError("simulate needs at least one draw (n >= 1)")
        table = table or next((t for t, p in self.plans.items() if column in p.outputs), None)
        if table is None:
            cols = [c for p in self.plans.values() for c in p.outputs]
            raise SpecError(f"no table has a column '{column}'{suggest(column, cols)}")
        plan = self.plans[table]
        frame = self.generate_range(table, 0, n, random_state=seed, n_rows=n)
        return summarize(frame[column], column=column, **options) if plan else None

    def _random_state(self, random_state: Any, seed: Any, where: str) -> int:
        """The integer seed of a call: ``random_state``, the deprecated ``seed=``, or the spec's own seed."""
        random_state = renamed("seed", "random_state", seed, random_state, f"Spec.{where}")
        if random_state is None:
            random_state = self.document.seed or 0
        return _seed(random_state)

    def describe(self) -> str:
        """A readable plan: tables, sizes, and columns in generation order with their kinds."""
        lines = [f"spec {self.document.name or self.source.name}: {len(self.plans)} table(s)"]
        for name, plan in self.plans.items():
            unit = self.row_unit(name)
            try:
                size = f"{self.units(name):,} {unit}"
            except SpecError:
                size = "rows set at generation (-n)"
            lines.append(f"  {name} [{getattr(plan.model, 'kind', 'table')}] {size}")
            for entry in plan.entries:
                deps = f" <- {', '.join(sorted(entry.deps))}" if entry.deps else ""
                outs = ", ".join(entry.outputs)
                hidden = " (hidden)" if entry.kind.hidden else ""
                lines.append(f"    {outs}: {entry.kind.kind}{deps}{hidden}")
            for _, _, text in plan.constraints:
                lines.append(f"    constraint: {text}")
            for col in plan.unique:
                lines.append(f"    unique: {col}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Spec({self.source.name!r}, tables={self.tables})"


def _cut(values: Values, lo: int, hi: int) -> Values:
    from simulacra.spec.runner import slice_values

    return slice_values(values, lo, hi)


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SpecError(f"random_state (the seed) must be a non-negative integer, got {seed!r}")
    return int(seed)


def _n_rows(n_rows: Any) -> Any:
    """``n_rows`` checked: None, or a whole number >= 0 (a negative count is refused, never clamped)."""
    if n_rows is None:
        return None
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)):
        raise SpecError(f"the number of rows must be a whole number, got {n_rows!r}")
    if n_rows < 0:
        raise SpecError(f"the number of rows must be zero or more, got {n_rows}")
    return int(n_rows)


def _numeric(kind: Any) -> bool:
    try:
        return bool(np.asarray(kind.ppf(np.array([0.5]))).dtype.kind in "fiu")
    except (TypeError, ValueError, AttributeError):
        return False


def _check_graph(model: GraphTable, loc: Any, source: SpecSource) -> None:
    needs = {"erdos_renyi": ("nodes", "p"), "barabasi_albert": ("nodes", "m"), "watts_strogatz": ("nodes", "k", "p"),
             "stochastic_block": ("sizes", "probabilities")}[model.model]
    for name in needs:
        if getattr(model, name) is None:
            raise source.error(loc, f"a {model.model} graph needs '{name}' (it needs: {', '.join(needs)})")
    if model.model == "barabasi_albert" and model.m >= model.nodes:  # type: ignore[operator]
        raise source.error((*loc, "m"), f"m ({model.m}) must be less than nodes ({model.nodes})")
    if model.model == "watts_strogatz" and model.k >= model.nodes:  # type: ignore[operator]
        raise source.error((*loc, "k"), f"k ({model.k}) must be less than nodes ({model.nodes})")
    if model.model == "stochastic_block":
        p = np.asarray(model.probabilities, dtype=float)
        k = len(model.sizes or [])
        if p.shape != (k, k) or np.any((p < 0) | (p > 1)) or (not model.directed and not np.allclose(p, p.T)):
            raise source.error((*loc, "probabilities"), f"need a {k}x{k} matrix of probabilities in [0, 1], symmetric unless directed")
    if model.model in ("barabasi_albert", "watts_strogatz") and model.directed:
        raise source.error((*loc, "directed"), f"{model.model} graphs are undirected")
    _ = math
