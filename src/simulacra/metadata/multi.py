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
- **sequence children**: a child table with a date/time column that orders its rows within a parent
  (``TableMeta.order``).

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

import itertools
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import MetadataError, ValidationError

SCHEMA_VERSION = 1
#: Smallest share of a text column's non-missing values found among a parent key's values for the
#: column to be taken as a foreign key without a name hint.
CONTAINMENT = 0.9
#: Smallest share for a column whose name says it is the key (``tailnum`` → ``planes.tailnum``).
NAMED_CONTAINMENT = 0.5
_MAX_COMPOSITE = 5
_ORDER_NAMES = re.compile(r"(date|time|timestamp|order|seq|sequence|step|period)", re.I)


@dataclass(frozen=True)
class Relationship:
    """A foreign key: ``child[child_key]`` refers to ``parent[parent_key]``.

    ``orphan_rate`` is the share of non-missing child keys absent from the parent; ``missing_rate``
    the share of child rows whose key is (partly) missing.
    """

    parent: str
    parent_key: tuple[str, ...]
    child: str
    child_key: tuple[str, ...]
    orphan_rate: float = 0.0
    missing_rate: float = 0.0

    @property
    def name(self) -> str:
        """A short label: ``flights.tailnum -> planes.tailnum``."""
        return f"{self.child}.{'+'.join(self.child_key)} -> {self.parent}.{'+'.join(self.parent_key)}"

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "parent_key": list(self.parent_key), "child": self.child,
                "child_key": list(self.child_key), "orphan_rate": self.orphan_rate,
                "missing_rate": self.missing_rate}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Relationship:
        return cls(parent=str(payload["parent"]), parent_key=_names(payload["parent_key"]),
                   child=str(payload["child"]), child_key=_names(payload["child_key"]),
                   orphan_rate=float(payload.get("orphan_rate", 0.0)),
                   missing_rate=float(payload.get("missing_rate", 0.0)))


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
    """

    primary_key: tuple[str, ...] | None = None
    columns: dict[str, str] = field(default_factory=dict)
    order: str | None = None
    n_rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"primary_key": None if self.primary_key is None else list(self.primary_key),
                "columns": dict(self.columns), "order": self.order, "n_rows": self.n_rows}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> TableMeta:
        key = payload.get("primary_key")
        return cls(primary_key=None if key is None else _names(key),
                   columns={str(k): str(v) for k, v in (payload.get("columns") or {}).items()},
                   order=payload.get("order"), n_rows=int(payload.get("n_rows", 0)))


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)) or not value:
        raise MetadataError(f"A key must be a column name or a non-empty list of names, got {value!r}")
    return tuple(str(v) for v in value)


def column_kind(s: pd.Series) -> str:
    """The storage kind of a column, as compared between a foreign key and its primary key."""
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_float_dtype(s):
        non_null = s.dropna()
        return "integer" if len(non_null) and bool((non_null == np.round(non_null)).all()) else "float"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    return "string"


@dataclass
class MultiTableMetadata:
    """Tables, their primary keys and the foreign keys between them (see the module docstring)."""

    tables: dict[str, TableMeta] = field(default_factory=dict)
    relationships: list[Relationship] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    # -- detection -------------------------------------------------------------------------------
    @classmethod
    def detect(cls, tables: dict[str, pd.DataFrame]) -> MultiTableMetadata:
        """Detect keys and relationships from ``tables`` (name -> DataFrame); nothing is modified."""
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
        for rel in meta.relationships:
            meta.tables[rel.child].order = meta.tables[rel.child].order or _order_column(tables[rel.child], rel)
        return meta

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
                found.append(f"Foreign key {rel.name}: column '{cc}' holds {ck} values but '{rel.parent}.{pc}' "
                             f"holds {pk}; convert one of them so both have the same type")
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
        for rel in self.relationships:
            if rel.parent in tables and rel.child in tables:
                for pc, cc in zip(rel.parent_key, rel.child_key):
                    p, c = tables[rel.parent], tables[rel.child]
                    if pc in p.columns and cc in c.columns and c[cc].notna().any() and p[pc].notna().any() \
                            and column_kind(p[pc]) != column_kind(c[cc]):
                        found.append(f"Foreign key {rel.name}: '{rel.child}.{cc}' holds {column_kind(c[cc])} values "
                                     f"but '{rel.parent}.{pc}' holds {column_kind(p[pc])}; convert one of them")
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
        return MultiTableMetadata(tables=dict(self.tables), relationships=rels)

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


# -- detection helpers -----------------------------------------------------------------------------
def _check_tables(tables: Any) -> None:
    if not isinstance(tables, dict) or not tables:
        raise MetadataError("Give the tables as a non-empty dict of name -> DataFrame.")
    bad = [str(k) for k, v in tables.items() if not isinstance(v, pd.DataFrame)]
    if bad:
        raise MetadataError(f"Not DataFrames: {', '.join(bad)}; give each table as a pandas DataFrame.")


def _singular(name: str) -> str:
    return name[:-3] + "y" if name.endswith("ies") else name[:-1] if name.endswith("s") else name


def _key_score(table: str, column: str, position: int) -> tuple[int, int]:
    low = column.lower()
    names = {"id", f"{table.lower()}_id", f"{_singular(table.lower())}_id", f"{_singular(table.lower())}id"}
    hint = 3 if low in names else 2 if low.endswith(("_id", "id", "code", "key", "_no", "num")) else 0
    return (hint, -position)


def _single_key(table: str, df: pd.DataFrame) -> tuple[str, ...] | None:
    """The best single-column key: unique, never missing, not decimal, not a date, not a boolean."""
    candidates = []
    for pos, col in enumerate(df.columns):
        s = df[col]
        stored_as_key = pd.api.types.is_integer_dtype(s) and not pd.api.types.is_bool_dtype(s) \
            or column_kind(s) == "string"
        if len(s) < 2 or not stored_as_key or s.isna().any():
            continue
        if s.is_unique:
            candidates.append((_key_score(table, str(col), pos), str(col)))
    if not candidates:
        return None
    return (max(candidates)[1],)


def _composite_keys(meta: MultiTableMetadata, tables: dict[str, pd.DataFrame]) -> None:
    """Give a keyless table the smallest unique combination of the columns another table shares with it."""
    for name, df in tables.items():
        if meta.tables[name].primary_key is not None:
            continue
        best: tuple[str, ...] | None = None
        for other, odf in tables.items():
            if other == name:
                continue
            shared = [str(c) for c in df.columns if c in odf.columns and column_kind(df[c]) in ("string", "integer", "datetime")
                      and column_kind(odf[c]) == column_kind(df[c]) and not df[c].isna().any()]
            for size in range(2, min(len(shared), _MAX_COMPOSITE) + 1):
                found = [combo for combo in itertools.combinations(shared, size) if _refers_to(odf, df, list(combo))]
                if found:
                    pick = found[0]
                    if best is None or len(pick) < len(best):
                        best = pick
                    break
        meta.tables[name].primary_key = best


def _refers_to(child: pd.DataFrame, parent: pd.DataFrame, cols: list[str]) -> bool:
    """Whether ``cols`` is a key of ``parent`` that ``child`` refers to: unique in the parent, most of the
    child's combinations found there, and the child the many side (repeats, or fewer distinct values)."""
    if parent[cols].duplicated().any() or child[cols].isna().any(axis=1).all():
        return False
    orphan, _ = key_rates(parent, tuple(cols), child, tuple(cols))
    many = bool(child[cols].duplicated().any()) or len(child) < len(parent)
    return orphan <= 1 - NAMED_CONTAINMENT and many


def key_rates(parent: pd.DataFrame, parent_key: tuple[str, ...], child: pd.DataFrame,
              child_key: tuple[str, ...]) -> tuple[float, float]:
    """(orphan rate, missing rate) of ``child[child_key]`` against ``parent[parent_key]``."""
    if len(child) == 0:
        return 0.0, 0.0
    ckey = child[list(child_key)]
    missing = ckey.isna().any(axis=1).to_numpy()
    present = ckey[~missing]
    if len(present) == 0:
        return 0.0, float(missing.mean())
    found = _contained(parent, parent_key, present, child_key)
    return float(1.0 - found.mean()), float(missing.mean())


def _contained(parent: pd.DataFrame, parent_key: tuple[str, ...], child: pd.DataFrame,
               child_key: tuple[str, ...]) -> np.ndarray:
    """For each child row, whether its key is a key of the parent."""
    if len(parent_key) == 1:
        return child[child_key[0]].isin(parent[parent_key[0]].dropna().unique()).to_numpy()
    left = pd.MultiIndex.from_frame(child[list(child_key)].astype(object))
    right = pd.MultiIndex.from_frame(parent[list(parent_key)].astype(object))
    return np.asarray(left.isin(right))


def _foreign_keys(meta: MultiTableMetadata, tables: dict[str, pd.DataFrame], child: str,
                  df: pd.DataFrame) -> list[Relationship]:
    rels = []
    own_key = meta.tables[child].primary_key
    for parent, pdf in tables.items():
        key = meta.tables[parent].primary_key
        if parent == child or key is None:
            continue
        if len(key) > 1:
            if all(c in df.columns for c in key) and tuple(key) != own_key:
                orphan, missing = key_rates(pdf, key, df, key)
                if orphan <= 1 - NAMED_CONTAINMENT:
                    rels.append(Relationship(parent, key, child, key, orphan, missing))
            continue
        for col in df.columns:
            col = str(col)
            if (col,) == own_key or not _key_compatible(pdf[key[0]], df[col]):
                continue
            named = _named_like(col, parent, key[0])
            if not named and (column_kind(pdf[key[0]]) != "string" or df[col].nunique() < 2):
                continue
            orphan, missing = key_rates(pdf, key, df, (col,))
            if missing >= 1.0 or orphan > 1 - (NAMED_CONTAINMENT if named else CONTAINMENT):
                continue
            rels.append(Relationship(parent, key, child, (col,), orphan, missing))
    return rels


def _named_like(col: str, parent: str, key: str) -> bool:
    low, p, k = col.lower(), parent.lower(), key.lower()
    return low == k and k not in ("id", "name", "code", "key") or low in {
        f"{p}_{k}", f"{_singular(p)}_{k}", f"{p}_id", f"{_singular(p)}_id", f"{_singular(p)}id"}


def _key_compatible(pk: pd.Series, fk: pd.Series) -> bool:
    a, b = column_kind(pk), column_kind(fk)
    return a == b and a in ("string", "integer")


def _drop_cycles(rels: list[Relationship]) -> list[Relationship]:
    """Keep relationships in order of trust (fewest orphans first), leaving out any that closes a cycle."""
    kept: list[Relationship] = []
    for rel in sorted(rels, key=lambda r: (r.orphan_rate, r.missing_rate)):
        if not _reaches(kept, rel.child, rel.parent):
            kept.append(rel)
    order = {id(r): i for i, r in enumerate(rels)}
    return sorted(kept, key=lambda r: order[id(r)])


def _reaches(rels: list[Relationship], start: str, goal: str) -> bool:
    """Whether ``goal`` is ``start`` or a descendant of it."""
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(r.child for r in rels if r.parent == node)
    return False


def _cycle_problems(meta: MultiTableMetadata) -> list[str]:
    try:
        meta.order()
    except MetadataError as exc:
        return [str(exc)]
    return []


def _order_column(df: pd.DataFrame, rel: Relationship) -> str | None:
    """A date/time column (or one named like an order) that orders the child's rows within a parent."""
    for col in df.columns:
        if str(col) in rel.child_key:
            continue
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            return str(col)
        if s.dtype == object and _ORDER_NAMES.search(str(col)):
            sample = s.dropna().head(200)
            if len(sample) and pd.to_datetime(sample, errors="coerce", format="mixed").notna().all():
                return str(col)
    return None
