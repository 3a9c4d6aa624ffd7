"""How each table of a database is modelled: its primary parent, context, links and counts.

A :class:`TablePlan` is plain data (saved as JSON with the model). It is built from the real tables in
:func:`plan_table`, table by table in parent-first order, and says:

- ``primary``: the relationship whose parent's rows *generate* this table's rows (the count of
  children per parent is a column of the parent's model, ``__n.<i>``), and whose parent's columns
  are the ``context`` the child's rows are drawn given (columns named ``^<parent>.<column>``);
- ``inherited``: child columns that always equal a parent column of the same name (copied, not drawn);
- ``links``: the other foreign keys; each gets the attributes of the referenced parent row
  (``^<fk>.<column>``) as extra columns, and a synthetic row is linked to the synthetic parent row whose
  attributes are nearest to the drawn ones;
- a link to a **fixed** parent (a public lookup table kept as it is) carries the parent's key itself
  (``^<fk>``) as a categorical column instead of attributes: its values are public, and the child's
  columns are then drawn with the very row they refer to (a flight's distance with its destination);
- ``states``: for a foreign key with orphans or missing values, a column ``__state.<fk>`` with ``ok``,
  ``orphan`` or ``missing``, drawn like any other, so both rates are kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata.multi import MultiTableMetadata, Relationship, column_kind

#: Fewest distinct parent rows a child must refer to for that parent to generate its rows: with
#: fewer, the children-per-parent counts fall under the privacy floor (a count seen fewer than
#: ``min_category_count`` times is never reproduced) and the table is modelled as a root instead.
MIN_GROUPS = 20
#: Largest share of a child's rows without a parent (orphan or missing key) for that parent to be primary.
MAX_UNLINKED = 0.1
#: Attributes of a second parent carried by a link (besides its count of children).
MAX_ATTRS = 4
#: Most distinct values of a categorical attribute used for linking.
MAX_LEVELS = 30
#: Most context columns taken from the primary parent.
MAX_CONTEXT = 16
OK, ORPHAN, MISSING = "ok", "orphan", "missing"


def count_column(i: int) -> str:
    return f"__n.{i}"


def state_column(rel: Relationship) -> str:
    return f"__state.{'+'.join(rel.child_key)}"


@dataclass
class Link:
    """A foreign key that is not the primary one: how its parent row is chosen."""

    rel: int
    attrs: dict[str, str] = field(default_factory=dict)  # child model column -> parent model column
    state: str | None = None
    #: For a parent kept fixed (its keys are public): the child model column holding the key itself,
    #: drawn as a category with the child's other columns, so each row names its parent row.
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TablePlan:
    """How one table is modelled and sampled (see the module docstring)."""

    name: str
    columns: list[str]
    dtypes: dict[str, str]
    n_rows: int
    key: list[str] | None = None
    fresh_key: bool = False
    primary: int | None = None
    context: dict[str, str] = field(default_factory=dict)  # child model column -> parent model column
    state: str | None = None
    inherited: dict[str, str] = field(default_factory=dict)  # child column -> context column
    links: list[Link] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # relationships whose count column this table carries
    pools: dict[str, list[Any]] = field(default_factory=dict)
    unlinked: dict[str, float] = field(default_factory=dict)  # share of rows orphan / missing on the primary key
    fixed: bool = False
    order: str | None = None  # a sequence child: its order column (rows drawn as histories of the primary parent)
    identifier_like: list[str] = field(default_factory=list)  # own text columns with about one value per row

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["links"] = [link.to_dict() for link in self.links]
        return out

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> TablePlan:
        body = dict(payload)
        body["links"] = [Link(**link) for link in body.get("links", [])]
        return cls(**body)


def identifier_like(df: pd.DataFrame, keys: set[str]) -> list[str]:
    """Text columns other than keys whose values are (almost) all distinct: names in a lookup table,
    which a model never copies, so they come back fresh (or as a placeholder)."""
    out = []
    for col in df.columns:
        s = df[col].dropna()
        if str(col) not in keys and len(s) >= 2 and column_kind(s) == "string" and s.nunique() >= 0.9 * len(s):
            out.append(str(col))
    return out


def choose_primary(meta: MultiTableMetadata, table: str, fixed: list[str], override: str | None,
                   tables: dict[str, pd.DataFrame]) -> int | None:
    """Index of the relationship whose parent generates ``table``'s rows (None: a root)."""
    best: tuple[int, int] | None = None
    for i, rel in enumerate(meta.relationships):
        if rel.child != table or len(tables[rel.parent]) == 0:
            continue
        if override is not None:
            if rel.parent == override:
                return i
            continue
        groups = int(tables[table][list(rel.child_key)].drop_duplicates().dropna().shape[0])
        if rel.orphan_rate + rel.missing_rate > MAX_UNLINKED or (groups < MIN_GROUPS and rel.parent not in fixed):
            continue
        if best is None or groups > best[0]:
            best = (groups, i)
    return None if best is None else best[1]


def relationship_state(rel: Relationship, parent: pd.DataFrame, child: pd.DataFrame) -> np.ndarray:
    """``ok`` / ``orphan`` / ``missing`` for each child row."""
    from simulacra.metadata._multi_keys import _contained

    key = child[list(rel.child_key)]
    missing = key.isna().any(axis=1).to_numpy()
    found = np.zeros(len(child), dtype=bool)
    if (~missing).any():
        found[~missing] = _contained(parent, rel.parent_key, key[~missing], rel.child_key)
    return np.where(missing, MISSING, np.where(found, OK, ORPHAN)).astype(object)


def parent_rows(rel: Relationship, parent: pd.DataFrame, child: pd.DataFrame) -> np.ndarray:
    """For each child row, the position of its parent row (-1 for none)."""
    left = child[list(rel.child_key)].astype(object)
    right = parent[list(rel.parent_key)].astype(object)
    if len(rel.child_key) == 1:
        index = pd.Index(right.iloc[:, 0])
        return np.asarray(index.get_indexer(left.iloc[:, 0]))
    index = pd.MultiIndex.from_frame(right)
    return np.asarray(index.get_indexer(pd.MultiIndex.from_frame(left)))


def children_per_parent(rel: Relationship, parent: pd.DataFrame, child: pd.DataFrame) -> np.ndarray:
    """How many child rows refer to each parent row."""
    pos = parent_rows(rel, parent, child)
    return np.bincount(pos[pos >= 0], minlength=len(parent)).astype(np.int64)


def attribute_columns(frame: pd.DataFrame, learned: list[str], count: str | None) -> list[str]:
    """The parent columns a link carries: its count of children and a few plain attributes."""
    chosen = [count] if count and count in frame.columns else []
    for col in learned:
        if len(chosen) > MAX_ATTRS or col.startswith(("^", "__")):
            continue
        kind = column_kind(frame[col])
        if kind in ("integer", "float") or (kind in ("string", "boolean") and frame[col].nunique() <= MAX_LEVELS):
            chosen.append(col)
    return chosen


def inherited_columns(child: pd.DataFrame, context: pd.DataFrame, names: dict[str, str], ok: np.ndarray) -> dict[str, str]:
    """Child columns equal to the same-named parent column in at least 99 % of linked rows."""
    out = {}
    for ctx_col, parent_col in names.items():
        if parent_col in child.columns and ok.any():
            a = child[parent_col].to_numpy()[ok]
            b = context[ctx_col].to_numpy()[ok]
            try:
                same = (a == b) | (pd.isna(a) & pd.isna(b))
            except (TypeError, ValueError):
                continue
            if np.mean(same) >= 0.99:
                out[parent_col] = ctx_col
    return out
