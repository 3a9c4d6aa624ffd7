"""The figures of related tables that no single-table report sees: relationships, cardinality,
referential integrity, parent–child column pair trends through the join, and entity-level privacy.

:func:`simulacra.evaluate.multi_table.evaluate_tables` gathers them in a report; each function here
works on plain dicts of DataFrames and :class:`Link` objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.evaluate.stats import ks_statistic
from simulacra.metadata import Metadata

#: Bins of the children-per-parent histogram kept for the plot (larger counts share the last bin).
CARDINALITY_BINS = 30


@dataclass(frozen=True)
class Link:
    """One relationship: rows of ``child`` point at rows of ``parent`` through ``child_key`` → ``parent_key``."""

    parent: str
    parent_key: tuple[str, ...]
    child: str
    child_key: tuple[str, ...]

    @property
    def name(self) -> str:
        """``child.key → parent.key`` (composite keys joined by commas)."""
        return f"{self.child}.{','.join(self.child_key)} → {self.parent}.{','.join(self.parent_key)}"

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "parent_key": list(self.parent_key), "child": self.child,
                "child_key": list(self.child_key)}


def _key(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InputError(f"A relationship's {what} must be a column name or a list of names, got {value!r}")


def as_links(relationships: Any) -> list[Link]:
    """Relationships as :class:`Link` objects.

    Accepts an object with a ``relationships`` attribute (``MultiTableMetadata``), or a sequence of
    objects or dicts with ``parent``, ``parent_key``, ``child``, ``child_key`` (SDV's
    ``parent_table_name``, ``parent_primary_key``, ``child_table_name``, ``child_foreign_key`` too).

    Examples
    --------
    >>> as_links([{"parent": "users", "parent_key": "id", "child": "orders", "child_key": "user_id"}])[0].name
    'orders.user_id → users.id'
    """
    if relationships is None:
        return []
    if hasattr(relationships, "relationships"):
        relationships = relationships.relationships
    if isinstance(relationships, Mapping) and "relationships" in relationships:
        relationships = relationships["relationships"]
    if isinstance(relationships, (str, bytes)) or not isinstance(relationships, Iterable):
        raise InputError("relationships must be a MultiTableMetadata or a list of relationships "
                         f"(parent, parent_key, child, child_key), got {type(relationships).__name__}")
    out = []
    aliases = (("parent", "parent_table_name"), ("parent_key", "parent_primary_key"),
               ("child", "child_table_name"), ("child_key", "child_foreign_key"))
    for rel in relationships:
        fields = {}
        for name, alias in aliases:
            if isinstance(rel, Mapping):
                value = rel.get(name, rel.get(alias))
            else:
                value = getattr(rel, name, getattr(rel, alias, None))
            if value is None:
                raise InputError(f"A relationship has no '{name}': {rel!r}; give parent, parent_key, child and child_key")
            fields[name] = value
        for name in ("parent", "child"):
            if not isinstance(fields[name], str):
                raise InputError(f"A relationship's {name} must be a table name, got {fields[name]!r}")
        out.append(Link(fields["parent"], _key(fields["parent_key"], "parent_key"), fields["child"],
                        _key(fields["child_key"], "child_key")))
    return out


def check_links(links: list[Link], tables: Mapping[str, Mapping[str, pd.DataFrame]]) -> list[str]:
    """Every problem of the relationships against the tables by role (empty when they fit)."""
    problems = []
    for link in links:
        if len(link.parent_key) != len(link.child_key):
            problems.append(f"relationship {link.name}: the foreign key has {len(link.child_key)} columns "
                            f"and the key it points to {len(link.parent_key)}")
        for table, key in ((link.parent, link.parent_key), (link.child, link.child_key)):
            for role, frames in tables.items():
                if table not in frames:
                    if role != "holdout":
                        problems.append(f"relationship {link.name}: no table '{table}' in the {role} tables")
                    continue
                missing = [c for c in key if c not in frames[table].columns]
                if missing:
                    problems.append(f"relationship {link.name}: the {role} table '{table}' has no column "
                                    f"{', '.join(repr(c) for c in missing)}")
    return list(dict.fromkeys(problems))


# -- keys ---------------------------------------------------------------------------------------
def _key_values(frame: pd.DataFrame, cols: tuple[str, ...], how: list[str]) -> pd.DataFrame:
    """Key columns comparable across tables: numbers that are whole become integers; a column whose
    counterpart holds text becomes text (7 meets '7'), or datetimes when the counterpart holds them."""
    out = {}
    for c, kind in zip(cols, how):
        s = frame[c]
        if pd.api.types.is_float_dtype(s) and np.all(np.mod(s.dropna().to_numpy(), 1) == 0):
            s = s.astype("Int64")
        if kind == "text":
            s = s.astype("string")
        elif kind == "datetime" and not pd.api.types.is_datetime64_any_dtype(s):
            s = pd.to_datetime(s, errors="coerce", utc=True)
        elif kind == "datetime" and getattr(s.dt, "tz", None) is None:
            s = s.dt.tz_localize("UTC")
        out[c] = s
    return pd.DataFrame(out, index=frame.index)


def _aligned_keys(parent: pd.DataFrame, link: Link, child: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    how = []
    for p, c in zip(link.parent_key, link.child_key):
        dates = [pd.api.types.is_datetime64_any_dtype(x) for x in (parent[p], child[c])]
        numbers = [pd.api.types.is_numeric_dtype(x) for x in (parent[p], child[c])]
        how.append("datetime" if any(dates) and not all(dates) or _tz_differ(parent[p], child[c])
                   else "text" if numbers[0] != numbers[1] else "")
    pk = _key_values(parent, link.parent_key, how)
    fk = _key_values(child, link.child_key, how)
    fk.columns = list(link.parent_key)
    return pk, fk


def _tz_differ(a: pd.Series, b: pd.Series) -> bool:
    both = pd.api.types.is_datetime64_any_dtype(a) and pd.api.types.is_datetime64_any_dtype(b)
    return bool(both and (getattr(a.dt, "tz", None) is None) != (getattr(b.dt, "tz", None) is None))


def _index(keys: pd.DataFrame) -> pd.Index:
    return pd.MultiIndex.from_frame(keys) if keys.shape[1] > 1 else pd.Index(keys.iloc[:, 0])


def children_per_parent(parent: pd.DataFrame, link: Link, child: pd.DataFrame) -> np.ndarray:
    """How many child rows point at each parent row (zeros included; missing and orphan keys left out).

    Examples
    --------
    >>> p = pd.DataFrame({"id": [1, 2, 3]})
    >>> c = pd.DataFrame({"pid": [1, 1, 3, None, 9]})
    >>> children_per_parent(p, Link("p", ("id",), "c", ("pid",)), c).tolist()
    [2, 0, 1]
    """
    pk, fk = _aligned_keys(parent, link, child)
    fk = fk[fk.notna().all(axis=1)]
    counts = fk.groupby(list(fk.columns), dropna=True).size() if len(fk) else pd.Series(dtype=float)
    found = counts.reindex(_index(pk)).fillna(0).to_numpy(dtype=float) if len(counts) else np.zeros(len(pk))
    return found.astype(np.int64)


def integrity(parent: pd.DataFrame, link: Link, child: pd.DataFrame) -> dict[str, Any]:
    """Missing, resolving and orphan foreign keys of one relationship in one pair of tables."""
    pk, fk = _aligned_keys(parent, link, child)
    present = fk.notna().all(axis=1).to_numpy()
    n = len(fk)
    keys = _index(pk)
    resolved = _index(fk[present]).isin(keys) if present.any() else np.zeros(0, dtype=bool)
    n_present = int(present.sum())
    return {
        "rows": n,
        "missing_rate": float(1.0 - present.mean()) if n else None,
        "resolved": float(resolved.mean()) if n_present else None,
        "orphan_rate": float(1.0 - resolved.mean()) if n_present else None,
        "orphans": int(n_present - resolved.sum()),
        "duplicate_parent_keys": int(pk.duplicated().sum()),
    }


def cardinality(real: Mapping[str, pd.DataFrame], synthetic: Mapping[str, pd.DataFrame], link: Link) -> dict[str, Any]:
    """Children per parent, real vs synthetic: 1 − KS statistic and summary figures for the report."""
    counts = {role: children_per_parent(t[link.parent], link, t[link.child])
              for role, t in (("real", real), ("synthetic", synthetic))}
    stat = ks_statistic(counts["real"].astype(float), counts["synthetic"].astype(float))
    top = int(max(np.quantile(counts["real"], 0.99), 1)) if counts["real"].size else 1
    edges = np.unique(np.linspace(0, top + 1, min(CARDINALITY_BINS, top + 1) + 1).round())
    hist = {}
    for role, c in counts.items():
        h = np.histogram(np.minimum(c, edges[-1] - 1), bins=edges)[0]
        hist[role] = (h / max(c.size, 1)).round(6).tolist()
    return {
        "score": None if not np.isfinite(stat) else float(1.0 - stat),
        "metric": "KSComplement of children per parent",
        "summary": {role: _describe(c) for role, c in counts.items()},
        "histogram": {"edges": edges.tolist(), **hist},
    }


def _describe(c: np.ndarray) -> dict[str, Any]:
    return {"parents": int(c.size), "mean": float(c.mean()) if c.size else None,
            "max": int(c.max()) if c.size else None, "zero_share": float((c == 0).mean()) if c.size else None}


# -- parent–child pair trends -----------------------------------------------------------------------
def denormalize(tables: Mapping[str, pd.DataFrame], link: Link) -> pd.DataFrame:
    """Each child row beside its parent's columns (``table.column`` names; rows that do not resolve dropped),
    as SDMetrics' intertable trends join them."""
    parent, child = tables[link.parent], tables[link.child]
    pk, fk = _aligned_keys(parent, link, child)
    left = child.add_prefix(f"{link.child}.")
    right = parent.add_prefix(parent_prefix(link))
    on = [f"__key{i}" for i in range(len(link.parent_key))]
    left = left.assign(**{k: fk.iloc[:, i].to_numpy() for i, k in enumerate(on)})
    right = right.assign(**{k: pk.iloc[:, i].to_numpy() for i, k in enumerate(on)})
    left = left[left[on].notna().all(axis=1)]
    return left.merge(right, on=on, how="inner").drop(columns=on)


def parent_prefix(link: Link) -> str:
    """How the parent's columns are named in the join: ``table.``, or ``table[parent].`` when a table
    refers to itself (an employee's manager)."""
    return f"{link.parent}[parent]." if link.parent == link.child else f"{link.parent}."


def joined_metadata(metas: Mapping[str, Metadata], link: Link) -> Metadata:
    """The column types of :func:`denormalize`'s table."""
    columns = {f"{link.child}.{c}": col for c, col in metas[link.child].columns.items()}
    columns.update({f"{parent_prefix(link)}{c}": col for c, col in metas[link.parent].columns.items()})
    return Metadata(columns=columns)


def intertable_trends(real: Mapping[str, pd.DataFrame], synthetic: Mapping[str, pd.DataFrame], link: Link,
                      metas: Mapping[str, Metadata], options: Any = None) -> dict[str, Any]:
    """Pair trends of every (parent column, child column) pair over the joined rows (SDMetrics' intertable trends)."""
    import warnings

    from simulacra.evaluate.context import prepare
    from simulacra.evaluate.fidelity.pair_trends import pair_scores

    joined = {"real": denormalize(real, link), "synthetic": denormalize(synthetic, link)}
    rows = {r: len(f) for r, f in joined.items()}
    if rows["real"] < 2:
        return {"pairs": [], "score": None, "joined_rows": rows, "skipped": "fewer than 2 real child rows resolve to a parent"}
    unjoined = rows["synthetic"] == 0
    meta = joined_metadata(metas, link)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = prepare(joined["real"], joined["real" if unjoined else "synthetic"], metadata=meta, options=options)
    pairs = product([f"{parent_prefix(link)}{c}" for c in metas[link.parent].columns],
                    [f"{link.child}.{c}" for c in metas[link.child].columns])
    records = pair_scores(ctx, pairs)
    if unjoined:
        # No synthetic child row has a parent: as SDMetrics scores a pair against an empty table,
        # a contingency pair scores 1 − ½·Σ real shares = 0.5 and a correlation pair cannot be scored.
        for rec in records:
            rec["synthetic"] = None
            rec["score"] = 0.5 if rec["metric"] == "ContingencySimilarity" else None
    counted = [r["score"] for r in records if r["counts"] and r["score"] is not None]
    out: dict[str, Any] = {"pairs": records, "score": float(np.mean(counted)) if counted else None,
           "n_counted": len(counted), "joined_rows": rows}
    if unjoined:
        out["unjoined"] = "no synthetic child row resolves to a parent: pairs scored against an empty table, as SDMetrics does"
    return out


# -- entities -----------------------------------------------------------------------------------------
def entity_frame(tables: Mapping[str, pd.DataFrame], parent: str, links: list[Link],
                 metas: Mapping[str, Metadata]) -> pd.DataFrame:
    """One row per parent row: its own columns (keys left out) and, for each child table, the number of
    its children and the mean of their numerical columns."""
    table = tables[parent]
    own = [c for c, col in metas[parent].columns.items() if col.type not in ("id", "text")]
    out = table[own].reset_index(drop=True).copy()
    for link in links:
        if link.parent != parent or link.child not in tables:
            continue
        child = tables[link.child]
        pk, fk = _aligned_keys(table, link, child)
        idx = _index(pk)
        out[f"{link.child}:count"] = children_per_parent(table, link, child)
        numeric = [c for c, col in metas[link.child].columns.items()
                   if col.type == "numerical" and c not in link.child_key]
        if numeric:
            values = child[numeric].apply(pd.to_numeric, errors="coerce")
            means = values.groupby([fk[c] for c in fk.columns]).mean()
            if fk.shape[1] == 1:
                means.index = pd.Index(means.index)
            aligned = means.reindex(idx)
            for c in numeric:
                out[f"{link.child}:{c}:mean"] = aligned[c].to_numpy(dtype=float)
    return out
