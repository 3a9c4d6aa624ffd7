"""Metadata for a database of related tables: primary keys, foreign keys, sequence children.

:meth:`MultiTableMetadata.detect` finds, from the data alone,

- each table's **primary key**: one column, unique and never missing, preferring names such as ``id``,
  ``<table>_id`` or ``code`` (and never a decimal column); or a **composite** key when another table
  refers to a unique, never-missing combination of its columns by name (``weather`` keyed by
  ``origin`` + ``time_hour``);
- **foreign keys**: a child column named like a parent's key (``tailnum`` → ``planes.tailnum``,
  ``customer_id`` → ``customers.id``), or a text column whose values are (almost all) values of a
  parent's text key (``flights.dest`` → ``airports.faa``). Orphans (child keys absent from the
  parent) are allowed; their share is measured as :attr:`Relationship.orphan_rate`, and the share of
  missing child keys as :attr:`Relationship.missing_rate`;
- **order columns**: a child table's date/time column that orders its rows within a parent
  (``TableMeta.order``).

A child whose rows are each parent row's *history* is declared a **sequence child**
(:meth:`MultiTableMetadata.set_sequence`, or ``detect(tables, sequences={...})``): its order column and
its **static attributes** (columns constant within every history, ``TableMeta.statics``) are detected,
and ``validate`` checks them (ties in the order, a static column that changes).

The result is plain JSON (:meth:`~MultiTableMetadata.save`), meant to be read and edited.

Examples
--------
>>> import pandas as pd
>>> users = pd.DataFrame({"user_id": [1, 2, 3], "age": [31, 45, 27]})
>>> orders = pd.DataFrame({"order_id": [10, 11, 12, 13], "user_id": [1, 1, 3, 9], "total": [5.0, 7.5, 2.0, 1.0]})
>>> meta = MultiTableMetadata.detect({"users": users, "orders": orders})
>>> meta.tables["orders"].primary_key
('order_id',)
>>> rel = meta.relationships[0]
>>> (rel.parent, rel.parent_key, rel.child, rel.child_key, rel.orphan_rate)
('users', ('user_id',), 'orders', ('user_id',), 0.25)
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from simulacra.errors import MetadataError, ValidationError
from simulacra.metadata._multi_detect import (
    _check_tables,
    _composite_keys,
    _drop_cycles,
    _foreign_keys,
    _order_column,
    _single_key,
    detect_statics,
    near_keys,
    sequence_data_problems,
    sequence_problems,
)
from simulacra.metadata._multi_keys import (
    CONTAINMENT,
    NAMED_CONTAINMENT,
    Relationship,
    _names,
    column_kind,
    key_rates,
)

__all__ = ["CONTAINMENT", "NAMED_CONTAINMENT", "MultiTableMetadata", "Relationship", "TableMeta", "column_kind",
           "key_rates"]

SCHEMA_VERSION = 1


@dataclass
class TableMeta:
    """One table of the database.

    Parameters
    ----------
    primary_key : tuple of str, optional
        The column(s) that identify a row; None for a table nothing refers to by key.
    columns : dict
        Column name -> storage kind (``string``, ``integer``, ``float``, ``datetime``, ``boolean``).
    order : str, optional
        The column ordering a child's rows within their parent (a sequence child), when there is one.
    n_rows : int
        Rows seen when detected.
    sequence : tuple of str, optional
        Declared, not detected: the foreign key whose parent rows are the entities of this table's
        histories (``("tailnum",)``: each plane's flights, ordered by ``order``). The table is then
        modelled as a sequence per parent row (see :meth:`MultiTableMetadata.set_sequence`).
    statics : list of str, optional
        Columns constant within every entity of a sequence table (detected from the data).
    """

    primary_key: tuple[str, ...] | None = None
    columns: dict[str, str] = field(default_factory=dict)
    order: str | None = None
    n_rows: int = 0
    sequence: tuple[str, ...] | None = None
    statics: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"primary_key": None if self.primary_key is None else list(self.primary_key),
                "columns": dict(self.columns), "order": self.order, "n_rows": self.n_rows,
                "sequence": None if self.sequence is None else list(self.sequence),
                "statics": None if self.statics is None else list(self.statics)}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> TableMeta:
        key, seq, statics = payload.get("primary_key"), payload.get("sequence"), payload.get("statics")
        if statics is not None and not isinstance(statics, list):
            raise MetadataError(f"'statics' must be a list of column names, got {statics!r}")
        return cls(primary_key=None if key is None else _names(key),
                   columns={str(k): str(v) for k, v in (payload.get("columns") or {}).items()},
                   order=payload.get("order"), n_rows=int(payload.get("n_rows", 0)),
                   sequence=None if seq is None else _names(seq),
                   statics=None if statics is None else [str(c) for c in statics])


@dataclass
class MultiTableMetadata:
    """Tables, their primary keys and the foreign keys between them (see the module docstring)."""

    tables: dict[str, TableMeta] = field(default_factory=dict)
    relationships: list[Relationship] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    # -- detection -------------------------------------------------------------------------------
    @classmethod
    def detect(cls, tables: dict[str, pd.DataFrame], *,
               sequences: dict[str, str | tuple[str, ...] | list[str]] | None = None) -> MultiTableMetadata:
        """Detect keys and relationships from ``tables`` (name -> DataFrame); nothing is modified.

        ``sequences`` declares sequence children, ``{table: foreign key}`` (``{"flights": "tailnum"}``):
        their order column and static attributes are detected (see :meth:`set_sequence`).
        """
        _check_tables(tables)
        meta = cls(tables={name: TableMeta(columns={str(c): column_kind(df[c]) for c in df.columns},
                                           n_rows=len(df)) for name, df in tables.items()})
        for name, df in tables.items():
            meta.tables[name].primary_key = _single_key(name, df)
        _composite_keys(meta, tables)
        rels: list[Relationship] = []
        for child, df in tables.items():
            rels.extend(_foreign_keys(meta, tables, child, df))
        meta.relationships = _drop_cycles(rels)
        for message in near_keys(meta, tables):
            warnings.warn(message, UserWarning, stacklevel=2)
        for rel in meta.relationships:
            meta.tables[rel.child].order = meta.tables[rel.child].order or _order_column(tables[rel.child], rel)
        for table, key in (sequences or {}).items():
            meta.set_sequence(table, key, tables=tables)
        return meta

    def set_sequence(self, table: str, key: str | tuple[str, ...] | list[str], order: str | None = None, *,
                     tables: dict[str, pd.DataFrame] | None = None) -> MultiTableMetadata:
        """Declare ``table`` a sequence child: each parent row that the foreign key ``key`` refers to has a
        history of rows, ordered by ``order`` (detected when omitted: a date/time column). With ``tables``,
        the static attributes (columns constant within every history) are detected. Returns self.
        """
        if table not in self.tables:
            raise MetadataError(f"Unknown table '{table}'; tables are: {', '.join(self.tables)}")
        names = _names(key)
        rel = next((r for r in self.parents(table) if r.child_key == names), None)
        if rel is None:
            raise MetadataError(f"'{table}' has no foreign key {'+'.join(names)} to a parent table; declare the "
                                "relationship first (add_relationship), then the sequence.")
        meta = self.tables[table]
        if order is None and tables is not None and meta.order is None:
            order = _order_column(tables[table], rel)
        order = order or meta.order
        if order is None:
            raise MetadataError(f"No order column found for the sequence '{table}'; give order= (a date, time "
                                "or number column that orders each history).")
        meta.sequence, meta.order = names, order
        if tables is not None:
            meta.statics = detect_statics(tables[table], names, order)
        return self

    # -- graph -----------------------------------------------------------------------------------
    def parents(self, table: str) -> list[Relationship]:
        """The relationships in which ``table`` is the child."""
        return [r for r in self.relationships if r.child == table]

    def children(self, table: str) -> list[Relationship]:
        """The relationships in which ``table`` is the parent."""
        return [r for r in self.relationships if r.parent == table]

    def roots(self) -> list[str]:
        """Tables with no parent."""
        return [t for t in self.tables if not self.parents(t)]

    def order(self) -> list[str]:
        """Table names, every parent before its children; raises on a cycle."""
        done: list[str] = []
        pending = list(self.tables)
        while pending:
            ready = [t for t in pending if all(r.parent in done for r in self.parents(t))]
            if not ready:
                raise MetadataError(f"The relationships form a cycle among: {', '.join(pending)}; "
                                    "remove one of the foreign keys from the metadata.")
            done.extend(ready)
            pending = [t for t in pending if t not in ready]
        return done

    # -- validation ------------------------------------------------------------------------------
    def problems(self, tables: dict[str, pd.DataFrame] | None = None) -> list[str]:
        """Every problem of the metadata (and of ``tables`` against it, when given)."""
        found: list[str] = []
        for name, table in self.tables.items():
            missing = [c for c in table.primary_key or () if table.columns and c not in table.columns]
            if missing:
                found.append(f"Primary key of '{name}' names unknown column(s): {', '.join(missing)}")
        for rel in self.relationships:
            found.extend(self._relationship_problems(rel))
        for name, table in self.tables.items():
            found.extend(sequence_problems(name, table, self.parents(name)))
        found.extend(_cycle_problems(self))
        if tables is not None:
            found.extend(self._data_problems(tables))
        return found

    def _relationship_problems(self, rel: Relationship) -> list[str]:
        found = []
        for side, table, key in (("parent", rel.parent, rel.parent_key), ("child", rel.child, rel.child_key)):
            if table not in self.tables:
                found.append(f"Foreign key {rel.name}: {side} table '{table}' does not exist; "
                             f"tables are: {', '.join(self.tables)}")
                continue
            cols = self.tables[table].columns
            unknown = [c for c in key if cols and c not in cols]
            if unknown:
                found.append(f"Foreign key {rel.name}: {side} table '{table}' has no column(s) {', '.join(unknown)}")
        if len(rel.parent_key) != len(rel.child_key):
            found.append(f"Foreign key {rel.name}: {len(rel.child_key)} child column(s) for "
                         f"{len(rel.parent_key)} parent column(s)")
        if found:
            return found
        parent, child = self.tables[rel.parent], self.tables[rel.child]
        if parent.primary_key is None or tuple(parent.primary_key) != tuple(rel.parent_key):
            found.append(f"Foreign key {rel.name} points at {'+'.join(rel.parent_key)}, which is not the "
                         f"primary key of '{rel.parent}' ({'+'.join(parent.primary_key or ()) or 'none'})")
        for pc, cc in zip(rel.parent_key, rel.child_key):
            pk, ck = parent.columns.get(pc), child.columns.get(cc)
            if pk and ck and pk != ck:
                found.append(_type_problem(rel, cc, ck, pc, pk))
        return found

    def _data_problems(self, tables: dict[str, pd.DataFrame]) -> list[str]:
        found = []
        for name in self.tables:
            if name not in tables:
                found.append(f"Table '{name}' is in the metadata but not in the data")
        for name, df in tables.items():
            if name not in self.tables:
                found.append(f"Table '{name}' is in the data but not in the metadata; add it or leave it out")
                continue
            key = self.tables[name].primary_key
            if not key or any(c not in df.columns for c in key):
                continue
            cols = list(key)
            nulls = int(df[cols].isna().any(axis=1).sum())
            if nulls:
                found.append(f"Primary key {'+'.join(cols)} of '{name}' is missing in {nulls} row(s); "
                             "fill it in or declare another key")
            dups = int(df[cols].duplicated().sum())
            if dups:
                example = df.loc[df[cols].duplicated(keep=False), cols].iloc[0].tolist()
                found.append(f"Primary key {'+'.join(cols)} of '{name}' is not unique: {dups} repeated value(s), "
                             f"e.g. {example}; de-duplicate the table or declare another key")
        for name, table in self.tables.items():
            if table.sequence and name in tables:
                found.extend(sequence_data_problems(name, table, tables[name]))
        for rel in self.relationships:
            if rel.parent in tables and rel.child in tables:
                for pc, cc in zip(rel.parent_key, rel.child_key):
                    p, c = tables[rel.parent], tables[rel.child]
                    if pc in p.columns and cc in c.columns and c[cc].notna().any() and p[pc].notna().any() \
                            and column_kind(p[pc]) != column_kind(c[cc]):
                        found.append(_type_problem(rel, cc, column_kind(c[cc]), pc, column_kind(p[pc])))
        return found

    def validate(self, tables: dict[str, pd.DataFrame] | None = None) -> None:
        """Raise one :class:`~simulacra.errors.ValidationError` listing every problem, if there is any."""
        found = list(dict.fromkeys(self.problems(tables)))
        if found:
            raise ValidationError(found, subject="database")

    # -- editing ---------------------------------------------------------------------------------
    def add_relationship(self, parent: str, parent_key: str | tuple[str, ...] | list[str], child: str,
                         child_key: str | tuple[str, ...] | list[str]) -> MultiTableMetadata:
        """Declare a foreign key by hand (rates are measured when the model is fitted); returns self."""
        self.relationships.append(Relationship(parent, _names(parent_key), child, _names(child_key)))
        return self

    def remove_relationship(self, child: str, child_key: str | tuple[str, ...] | list[str]) -> MultiTableMetadata:
        """Forget the foreign key ``child.child_key``; returns self."""
        key = _names(child_key)
        self.relationships = [r for r in self.relationships if not (r.child == child and r.child_key == key)]
        return self

    def measured(self, tables: dict[str, pd.DataFrame]) -> MultiTableMetadata:
        """A copy whose orphan and missing rates are measured on ``tables``."""
        rels = []
        for r in self.relationships:
            if r.parent not in tables or r.child not in tables:
                rels.append(r)
                continue
            orphan, missing = key_rates(tables[r.parent], r.parent_key, tables[r.child], r.child_key)
            rels.append(replace(r, orphan_rate=orphan, missing_rate=missing))
        out = MultiTableMetadata(tables={k: replace(t) for k, t in self.tables.items()}, relationships=rels)
        for name, table in out.tables.items():
            if table.sequence and table.order and table.statics is None and name in tables:
                table.statics = detect_statics(tables[name], table.sequence, table.order)
        return out

    # -- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": self.schema_version,
                "tables": {name: t.to_dict() for name, t in self.tables.items()},
                "relationships": [r.to_dict() for r in self.relationships]}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> MultiTableMetadata:
        if not isinstance(payload, dict) or "tables" not in payload:
            raise MetadataError("Multi-table metadata must be a JSON object with 'tables' and 'relationships'.")
        version = payload.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise MetadataError(f"Metadata schema_version {version!r} is newer than this simulacra understands "
                                f"({SCHEMA_VERSION}); upgrade simulacra.")
        try:
            return cls(tables={str(k): TableMeta.from_dict(v) for k, v in payload["tables"].items()},
                       relationships=[Relationship.from_dict(r) for r in payload.get("relationships") or []])
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise MetadataError(f"Invalid multi-table metadata ({type(exc).__name__}: {exc}); "
                                "compare it with the output of `simulacra metadata`.") from None

    def save(self, path: str | Path) -> None:
        """Write the metadata as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> MultiTableMetadata:
        """Read metadata written by :meth:`save` (or by hand)."""
        from simulacra.metadata.table import read_json

        return cls.from_dict(read_json(path))


def _type_problem(rel: Relationship, child_col: str, child_kind: str, parent_col: str, parent_kind: str) -> str:
    # one wording for the metadata's types and the data's, so that the same mismatch is listed once
    return (f"Foreign key {rel.name}: '{rel.child}.{child_col}' holds {child_kind} values but "
            f"'{rel.parent}.{parent_col}' holds {parent_kind}; convert one of them so both have the same type")


def _cycle_problems(meta: MultiTableMetadata) -> list[str]:
    # a foreign key to a table that does not exist is reported on its own: it is no cycle
    known = [r for r in meta.relationships if r.parent in meta.tables and r.child in meta.tables]
    try:
        replace(meta, relationships=known).order()
    except MetadataError as exc:
        return [str(exc)]
    return []
