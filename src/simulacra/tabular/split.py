"""Train/holdout splits that keep what belongs together on one side.

A holdout is real data the synthesizer never sees: the evaluation measures privacy (is a synthetic row
closer to the training rows than to unseen ones?) and utility (train on synthetic, test on the holdout)
against it. Splitting rows at random is right for one flat table, wrong for histories and databases:

* :func:`split_table` splits one table's rows, optionally stratified by a column, or by **entity** (every
  event of an entity on the same side, so a history is never cut in two);
* :func:`split_tables` splits a database by the rows of its root tables: every child row follows the
  parent row that generates it (the same parent the relational model draws it from, so a sequence child
  follows its entity), lookup tables are copied whole to both sides, and rows without a parent (orphans,
  missing keys) are split at random.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5], "x": range(10)})
>>> train, holdout = split_table(df, 0.2, entity="id", random_state=0)
>>> len(train), len(holdout), set(train["id"]) & set(holdout["id"])
(8, 2, set())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.metadata.multi import MultiTableMetadata


@dataclass
class DatabaseSplit:
    """The two sides of a split database and how each table was split.

    Attributes
    ----------
    train, holdout : dict of DataFrame
        The tables of each side, every table on both (a lookup table whole on both).
    how : dict of str
        Per table: ``"split at random"``, ``"follows <parent>"`` or ``"copied to both sides"``.
    crossing : dict of int
        Per relationship (``child.key -> parent.key``) whose child does not follow that parent: the child
        rows whose parent row is on the other side (their key does not resolve on their side).
    """

    train: dict[str, pd.DataFrame]
    holdout: dict[str, pd.DataFrame]
    how: dict[str, str] = field(default_factory=dict)
    crossing: dict[str, int] = field(default_factory=dict)


def check_share(holdout: float) -> float:
    """The holdout share as a float in (0, 1), or a clear error."""
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or not 0 < holdout < 1:
        raise InputError(f"The holdout share must be a number between 0 and 1 (e.g. 0.2), got {holdout!r}.")
    return float(holdout)


def _seed(random_state: int | np.random.Generator | None) -> np.random.Generator:
    return random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)


def _draw(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """A mask of ``round(n * share)`` holdout positions among ``n``, drawn at random."""
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size=int(round(n * share)), replace=False)] = True
    return mask


def _draw_groups(frame: pd.DataFrame, keys: list[str], share: float, rng: np.random.Generator) -> np.ndarray:
    """A holdout mask that keeps the rows of each value of ``keys`` together."""
    codes = frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    return _draw(int(codes.max()) + 1 if len(codes) else 0, share, rng)[codes]


def _stratified(labels: pd.Series, share: float, rng: np.random.Generator, column: str) -> np.ndarray:
    """A holdout mask with each value of ``labels`` in about the same share on both sides (scikit-learn)."""
    from sklearn.model_selection import train_test_split

    codes = pd.factorize(labels, use_na_sentinel=False)[0]
    idx = np.arange(len(codes))
    try:
        _, test = train_test_split(idx, test_size=share, stratify=codes, random_state=int(rng.integers(2**31)))
    except ValueError as exc:
        counts = pd.Series(labels).value_counts(dropna=False)
        rare = counts[counts < 2]
        if len(rare):
            raise InputError(f"--stratify {column}: the value {rare.index[0]!r} occurs only once; a stratified split "
                             "needs at least two of each value (merge rare values, or split without --stratify).") from exc
        raise InputError(f"Cannot stratify by '{column}' with a holdout share of {share:g}: {exc}") from exc
    mask = np.zeros(len(codes), dtype=bool)
    mask[test] = True
    return mask


def split_table(data: pd.DataFrame, holdout: float = 0.2, *, random_state: int | np.random.Generator | None = 0,
                stratify: str | None = None, entity: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split one table into training rows and holdout rows (each in its original order).

    Parameters
    ----------
    data : DataFrame
        The real table.
    holdout : float
        Share of rows (or of entities, with ``entity``) held out, strictly between 0 and 1.
    random_state : int or Generator, optional
        Seed of the draw; the same seed gives the same split.
    stratify : str, optional
        A column whose values keep their shares on both sides (with ``entity``, a column constant within
        each entity).
    entity : str, optional
        A column naming the entity of each row (a table of histories): all the rows of an entity go to
        the same side, and ``holdout`` is a share of entities.

    Returns
    -------
    (DataFrame, DataFrame)
        The training rows and the holdout rows; together, every row of ``data`` once.
    """
    share = check_share(holdout)
    rng = _seed(random_state)
    for option, col in (("stratify", stratify), ("entity", entity)):
        if col is not None and col not in data.columns:
            raise InputError(f"--{option} {col}: no such column; columns are: {', '.join(map(str, data.columns))}")
    if entity is not None:
        keys = data[entity]
        if keys.isna().any():
            raise InputError(f"The entity column '{entity}' has {int(keys.isna().sum()):,} missing values; every row "
                             "needs its entity (fill them, or drop those rows first).")
        codes, uniques = pd.factorize(keys, sort=_sortable(keys))  # sorted: the split does not depend on row order
        labels = None
        if stratify is not None:
            varying = data.groupby(codes)[stratify].nunique(dropna=False)
            if (varying > 1).any():
                raise InputError(f"--stratify {stratify} changes within {int((varying > 1).sum()):,} entities; with "
                                 f"--entity, stratify by a column constant within each entity.")
            labels = data.groupby(codes)[stratify].first()
        units = _units(len(uniques), share, rng, labels, stratify, "entities")
        mask = units[codes]
    else:
        labels = data[stratify] if stratify is not None else None
        mask = _units(len(data), share, rng, labels, stratify, "rows")
    return data[~mask].reset_index(drop=True), data[mask].reset_index(drop=True)


def _sortable(values: pd.Series) -> bool:
    try:
        np.sort(values.drop_duplicates().to_numpy())
    except TypeError:  # mixed types (numbers and text): entities in order of appearance
        return False
    return True


def _units(n: int, share: float, rng: np.random.Generator, labels: pd.Series | None, stratify: str | None,
           what: str) -> np.ndarray:
    mask = _draw(n, share, rng) if labels is None else _stratified(labels, share, rng, str(stratify))
    if not mask.any() or mask.all():
        raise InputError(f"A holdout share of {share:g} of {n:,} {what} leaves one side empty; give more {what} or "
                         "another share.")
    return mask


def split_tables(tables: dict[str, pd.DataFrame], holdout: float = 0.2, *, metadata: Any = None,
                 fixed: list[str] | None = None, random_state: int | np.random.Generator | None = 0) -> DatabaseSplit:
    """Split a database by the rows of its root tables; every child row follows its parent row.

    Parameters
    ----------
    tables : dict of DataFrame
        The tables by name.
    holdout : float
        Share of each root table's rows held out, strictly between 0 and 1.
    metadata : MultiTableMetadata, dict or path, optional
        Keys and relationships (detected from the tables when not given).
    fixed : list of str, optional
        Lookup tables copied whole to both sides. A table that other tables only refer to (it generates
        no table's rows: airlines, airports, a product catalogue) is copied too.
    random_state : int or Generator, optional
        Seed of the draw.

    Returns
    -------
    DatabaseSplit
        The two databases, how each table was split, and the keys left pointing to the other side.

    Notes
    -----
    A child with several parents follows the one that generates its rows in the relational model
    (its sequence parent, else the parent it refers to through the most distinct rows, at least 20, with at
    most 10 % orphans and missing keys): it follows the root that parent descends from. Its keys to another parent that is split
    too may point to the other side; they are counted in ``crossing``.
    """
    from simulacra.tabular._relational_plan import parent_rows

    share = check_share(holdout)
    rng = _seed(random_state)
    meta = _metadata(metadata, tables)
    unknown = [t for t in fixed or [] if t not in tables]
    if unknown:
        raise InputError(f"--fixed names unknown tables: {', '.join(unknown)}; tables are: {', '.join(tables)}")
    primary, copied = _plan(meta, tables, list(fixed or []))
    side: dict[str, np.ndarray] = {}
    out = DatabaseSplit(train={}, holdout={})
    for name in meta.order():
        frame = tables[name]
        if name in copied:
            out.how[name] = "copied to both sides"
            continue
        rel = primary.get(name)
        if rel is None:
            entity = meta.tables[name].sequence  # histories of a copied parent: each history kept whole
            side[name] = _draw(len(frame), share, rng) if not entity else _draw_groups(frame, list(entity), share, rng)
            out.how[name] = "split at random" + (f" by {'+'.join(entity)}" if entity else "")
            continue
        pos = parent_rows(rel, tables[rel.parent], frame)
        linked = pos >= 0
        mask = np.zeros(len(frame), dtype=bool)
        mask[linked] = side[rel.parent][pos[linked]]
        mask[~linked] = _draw(int((~linked).sum()), share, rng)
        side[name] = mask
        unlinked = f"; {int((~linked).sum()):,} rows without a parent split at random" if (~linked).any() else ""
        out.how[name] = f"follows {rel.parent}{unlinked}"
    for rel in meta.relationships:
        if rel.child in side and rel.parent in side and primary.get(rel.child) is not rel:
            pos = parent_rows(rel, tables[rel.parent], tables[rel.child])
            ok = pos >= 0
            crossing = int((side[rel.child][ok] != side[rel.parent][pos[ok]]).sum())
            if crossing:
                out.crossing[rel.name] = crossing
    for name, mask in side.items():  # a table too small for the share: said, as a table alone is refused
        if len(mask) and (mask.all() or not mask.any()):
            out.how[name] += f"; every row on the {'holdout' if mask.all() else 'training'} side (too few rows)"
    for name, frame in tables.items():
        held = side.get(name)
        out.train[name] = frame.reset_index(drop=True) if held is None else frame[~held].reset_index(drop=True)
        out.holdout[name] = frame.reset_index(drop=True) if held is None else frame[held].reset_index(drop=True)
    return out


def _metadata(metadata: Any, tables: dict[str, pd.DataFrame]) -> MultiTableMetadata:
    if metadata is None:
        meta = MultiTableMetadata.detect(tables)
    elif isinstance(metadata, MultiTableMetadata):
        meta = metadata
    elif isinstance(metadata, dict):
        meta = MultiTableMetadata.from_dict(metadata)
    else:
        meta = MultiTableMetadata.load(metadata)
    meta.validate(tables)
    return meta.measured(tables)


def _plan(meta: MultiTableMetadata, tables: dict[str, pd.DataFrame], fixed: list[str]) -> tuple[dict[str, Any], set[str]]:
    """Each split table's generating relationship (absent: split at random), and the tables copied whole.

    The generating parent is the relational model's choice among the parents not copied (a parent referred
    to through fewer than 20 distinct rows generates nothing: weather by its three airports stays a root,
    split by its own rows). A table that generates no other table's rows but is referred to (a lookup) is
    copied whole.
    """
    from dataclasses import replace

    from simulacra.tabular._relational_plan import choose_primary
    from simulacra.tabular._relational_seq import sequence_index

    kept = replace(meta, relationships=[r for r in meta.relationships if r.parent not in fixed])
    primary: dict[str, Any] = {}
    for name in meta.tables:
        if name in fixed:
            continue
        index = sequence_index(kept, name)
        if index is None:
            index = choose_primary(kept, name, fixed, None, tables)
        if index is not None:
            primary[name] = kept.relationships[index]
    generating = {rel.parent for rel in primary.values()}
    lookups = {name for name in meta.tables if name not in fixed and name not in primary and name not in generating
               and meta.children(name)}
    return primary, set(fixed) | lookups
