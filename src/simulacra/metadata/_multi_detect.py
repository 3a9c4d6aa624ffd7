"""Detection of keys, foreign keys and sequence children (see :meth:`MultiTableMetadata.detect`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from simulacra.errors import MetadataError
from simulacra.metadata._multi_keys import (
    _MAX_COMPOSITE,
    _ORDER_NAMES,
    CONTAINMENT,
    NAMED_CONTAINMENT,
    Relationship,
    column_kind,
    key_rates,
)

if TYPE_CHECKING:
    from simulacra.metadata.multi import MultiTableMetadata, TableMeta


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


def near_keys(meta: MultiTableMetadata, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Why a relation by a shared key name was not detected: the parent's column repeats or misses values.

    For a table left without a primary key, each column that another table's column of the same key-like
    name refers to (``flights.tailnum`` → ``planes.tailnum``) as a key would be referred to, but that is
    not unique or has missing values: one message naming the tables, the column and the counts.
    """
    out = []
    for parent, pdf in tables.items():
        if meta.tables[parent].primary_key is not None:
            continue
        for col in map(str, pdf.columns):
            s = pdf[col]
            dups, missing = int(s.dropna().duplicated().sum()), int(s.isna().sum())
            if not (dups or missing) or column_kind(s) not in ("string", "integer") or dups > 0.1 * s.notna().sum():
                continue  # a key, or a column that repeats as a plain attribute does (planes.year)
            children = [child for child, cdf in tables.items() if child != parent and col in cdf.columns
                        and _named_like(col, parent, col) and _key_compatible(s, cdf[col])
                        and key_rates(pdf, (col,), cdf, (col,))[0] <= 1 - NAMED_CONTAINMENT]
            if not children:
                continue
            parts = [f"{missing:,} missing value(s)"] if missing else []
            if dups:
                first = s[s.duplicated() & s.notna()].iloc[0]
                parts.insert(0, f"{dups:,} duplicate value(s), e.g. {first.item() if hasattr(first, 'item') else first!r}")
            why = ", ".join(parts)
            refs = ", ".join(f"{child}.{col}" for child in children)
            out.append(f"No relation to '{parent}' was detected from {refs}: '{parent}.{col}' would be its key but has "
                       f"{why}. De-duplicate '{parent}' on {col} (one row per value, none missing), then detect "
                       "again or declare the relationship (add_relationship, or in the metadata JSON).")
    return out


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


# -- sequence children -----------------------------------------------------------------------------
def detect_statics(df: pd.DataFrame, key: tuple[str, ...], order: str) -> list[str]:
    """Columns constant (missing values included) within every history of ``df`` (rows with the same
    ``key``); none when no history has two rows, where nothing can be told apart."""
    linked = df[df[list(key)].notna().all(axis=1)]
    others = [c for c in df.columns if c not in key and c != order]
    if not others or linked.empty or not linked.duplicated(list(key)).any():
        return []
    nunique = linked.groupby(list(key), sort=False, dropna=False)[others].nunique(dropna=False)
    return [str(c) for c in others if (nunique[c] <= 1).all()]


def sequence_problems(name: str, table: TableMeta, parents: list[Relationship]) -> list[str]:
    """What is wrong with a declared sequence child, from the metadata alone."""
    if table.sequence is None:
        return []
    found = []
    label = "+".join(table.sequence)
    if not any(r.child_key == table.sequence for r in parents):
        found.append(f"Table '{name}' is declared a sequence over {label}, which is not one of its foreign keys; "
                     "declare the relationship or fix 'sequence'")
    if table.order is None:
        found.append(f"Table '{name}' is declared a sequence but has no order column; set 'order'")
    named = [c for c in (table.order, *(table.statics or [])) if c is not None]
    unknown = [c for c in named if table.columns and c not in table.columns]
    if unknown:
        found.append(f"Sequence '{name}' names unknown column(s): {', '.join(unknown)}")
    clash = [c for c in (table.statics or []) if c == table.order or c in table.sequence]
    if clash:
        found.append(f"Sequence '{name}': {', '.join(clash)} cannot be a static attribute (it is the order or the key)")
    return found


def order_type_problem(order: pd.Series, column: str, check: Callable[[pd.Series], Any] | None = None) -> str | None:
    """Why a text order column cannot order events (Python types mixed, dates mixed with numbers as read
    from a CSV, values that are neither), or None: every value a date, or not a text column. ``check`` runs
    on the values once they are known to be of one type, before they are parsed (it may raise)."""
    if order.dtype != object or order.empty:
        return None
    kinds = {type(v).__name__ for v in order.head(10_000)}
    if len(kinds) > 1:
        return f"Order column '{column}' mixes types ({', '.join(sorted(kinds))}); make it all dates or all numbers."
    if check is not None:
        check(order)
    parsed = pd.to_datetime(order, errors="coerce", format="mixed")
    if not parsed.isna().any():
        return None
    bad = order[parsed.isna()]
    if parsed.notna().any() and pd.to_numeric(bad, errors="coerce").notna().all():
        return (f"Order column '{column}' mixes dates (e.g. {order[parsed.notna()].iloc[0]!r}) and numbers "
                f"(e.g. {bad.iloc[0]!r}); make it all dates or all numbers.")
    return f"Order column '{column}' holds values that are neither dates nor numbers (e.g. {bad.iloc[0]!r})."


def sequence_data_problems(name: str, table: TableMeta, df: pd.DataFrame) -> list[str]:
    """Ties or gaps in the order column and statics that change within a history."""
    key, order = list(table.sequence or ()), table.order
    if not key or order is None or any(c not in df.columns for c in (*key, order)):
        return []
    found = []
    linked = df[df[key].notna().all(axis=1)]
    holes = int(linked[order].isna().sum())
    if holes:
        found.append(f"Order column '{order}' of sequence '{name}' is missing in {holes} row(s); fill or drop them")
    kind = order_type_problem(linked[order].dropna(), order)
    if kind:  # ties between values that cannot be compared would say nothing
        found.append(f"{kind} (sequence '{name}')")
    ties = linked[order].notna() & linked.duplicated([*key, order])
    if ties.any() and not kind:
        example = linked.loc[ties, [*key, order]].iloc[0].tolist()
        found.append(f"Order column '{order}' of sequence '{name}' has ties: {int(ties.sum())} row(s) at the same "
                     f"{order} as another of the same {'+'.join(key)} (e.g. {example}); use a finer order column "
                     "or remove the repeats")
    statics = [c for c in table.statics or [] if c in df.columns]
    if statics and len(linked):
        nunique = linked.groupby(key, sort=False)[statics].nunique(dropna=False)
        for col in statics:
            changing = int((nunique[col] > 1).sum())
            if changing:
                found.append(f"Column '{col}' of sequence '{name}' is declared static but changes within "
                             f"{changing} histories; remove it from 'statics'")
    return found
