"""Evaluation of related tables: ``evaluate_tables(real, synthetic, relationships)``.

A database is more than its tables: the report scores each table as the single-table report does,
then what only the relations show — how many children each parent has (cardinality), whether the
foreign keys resolve (referential integrity), whether a child's columns follow its parent's as in the
real data (parent–child pair trends through the join) — and, with a holdout, privacy over whole
entities (a parent row with its children aggregated).

The overall quality score is SDMetrics' ``MultiTableQualityReport`` score: the mean of Column Shapes
(every scored column of every table), Column Pair Trends (every related pair within a table),
Cardinality (one score per relationship) and Intertable Trends (related parent–child pairs), each
measured as SDMetrics measures it; docs/relational.md says where the two can differ.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError, SimulacraError
from simulacra.evaluate.context import DETECT_ROWS, EvalOptions
from simulacra.evaluate.multi_report import MultiTableReport
from simulacra.evaluate.relational import (
    Link,
    as_links,
    cardinality,
    check_links,
    entity_frame,
    integrity,
    intertable_trends,
)
from simulacra.evaluate.sequence_children import declared_sequences, sequence_figures
from simulacra.metadata import Metadata

#: Metrics of the per-table reports (plus dcr_share and exact_copies where a holdout table is given).
TABLE_METRICS = ("quality",)
PRIVACY_METRICS = ("dcr_share", "exact_copies")


def _as_tables(data: Any, role: str) -> dict[str, pd.DataFrame]:
    if isinstance(data, (str, Path)):
        from simulacra.io import read_tables

        return read_tables(data)
    if not isinstance(data, Mapping) or not all(isinstance(v, pd.DataFrame) for v in data.values()):
        raise InputError(f"The {role} tables must be a dict of table name → DataFrame or a folder, "
                         f"got {type(data).__name__}; for one table use simulacra.evaluate")
    if not data:
        raise InputError(f"No {role} tables were given")
    return {str(k): v for k, v in data.items()}


def _check_inputs(tables: dict[str, dict[str, pd.DataFrame]], links: list[Link]) -> None:
    problems = []
    real, synthetic = tables["real"], tables["synthetic"]
    missing = [t for t in real if t not in synthetic]
    extra = [t for t in synthetic if t not in real]
    if missing:
        problems.append(f"table(s) missing from the synthetic tables: {', '.join(missing)}")
    if extra:
        problems.append(f"table(s) only in the synthetic tables: {', '.join(extra)}")
    if "holdout" in tables:
        unknown = [t for t in tables["holdout"] if t not in real]
        if unknown:
            problems.append(f"holdout table(s) not among the real tables: {', '.join(unknown)}")
    for role, frames in tables.items():
        for name, frame in frames.items():
            if len(frame) == 0 or frame.shape[1] == 0:
                problems.append(f"the {role} table '{name}' is empty ({len(frame)} rows, {frame.shape[1]} columns)")
    problems += check_links(links, tables)
    if problems:
        raise InputError("Cannot evaluate these tables: " + "; ".join(problems))


def _resolve(relationships: Any, metadata: Any, real: dict[str, pd.DataFrame]
             ) -> tuple[list[Link], dict[str, Any], dict[str, set[str]]]:
    """Relationships, per-table column types and extra key columns from the arguments (relationships
    detected with ``MultiTableMetadata.detect`` when neither argument gives them)."""
    if metadata is None and hasattr(relationships, "tables") and hasattr(relationships, "relationships"):
        metadata = relationships  # a MultiTableMetadata given as the relationships: its primary keys too
    if isinstance(metadata, (str, Path)):
        from simulacra.metadata.multi import MultiTableMetadata

        metadata = MultiTableMetadata.load(metadata)
    per_table: dict[str, Any] = {}
    keys: dict[str, set[str]] = {}
    if isinstance(metadata, Mapping) and "relationships" not in metadata:
        per_table = {str(k): v for k, v in metadata.items()}
    elif metadata is not None and isinstance(getattr(metadata, "tables", None), Mapping):
        for name, table in metadata.tables.items():  # MultiTableMetadata: keys, not column types
            key = getattr(table, "primary_key", None)
            if isinstance(table, (Metadata, dict)):
                per_table[str(name)] = table
            elif key:
                keys[str(name)] = {key} if isinstance(key, str) else set(key)
    has_relationships = hasattr(metadata, "relationships") or isinstance(metadata, Mapping) and "relationships" in metadata
    if relationships is None and metadata is not None and has_relationships:
        relationships = metadata
    if relationships is None:
        from simulacra.metadata.multi import MultiTableMetadata

        detected = MultiTableMetadata.detect(real)
        relationships = detected
        for name, table in detected.tables.items():
            if table.primary_key:
                keys[name] = set(table.primary_key)
    return as_links(relationships), per_table, keys


def _table_metadata(name: str, frame: pd.DataFrame, given: Any, keys: set[str]) -> Metadata:
    """The table's column types (given or detected), with every key column typed as an id (not scored)."""
    if isinstance(given, Metadata):
        meta = given.model_copy(deep=True)
    elif isinstance(given, dict):
        meta = Metadata.from_dict(given)
    elif given is None:
        sample = frame if len(frame) <= DETECT_ROWS else frame.sample(DETECT_ROWS, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            meta = Metadata.detect(sample)
    else:
        raise InputError(f"The metadata of table '{name}' must be a Metadata or its dict, got {type(given).__name__}")
    unknown = [c for c in frame.columns if str(c) not in meta.columns]
    if unknown:
        raise InputError(f"Table '{name}': columns in the data but not in its metadata: {', '.join(map(str, unknown))}")
    for col in keys:
        if col in meta.columns and meta.columns[col].type != "id":
            meta.update_column(col, type="id")
    return meta


def identical(real: pd.DataFrame, synthetic: pd.DataFrame) -> bool:
    """Whether the synthetic table holds exactly the real rows (in any order), as a fixed table does."""
    if real.shape != synthetic.shape or set(map(str, real.columns)) != set(map(str, synthetic.columns)):
        return False
    cols = list(real.columns)
    try:
        hashes = [np.sort(pd.util.hash_pandas_object(f[cols].astype(str), index=False).to_numpy())
                  for f in (real, synthetic)]
    except (TypeError, ValueError):
        return False
    return bool(np.array_equal(hashes[0], hashes[1]))


def fixed_tables(fixed: list[str] | None, tables: dict[str, dict[str, pd.DataFrame]]) -> tuple[dict[str, str], list[str]]:
    """The tables copied whole by choice (name → why) and warnings about copies.

    ``fixed`` names the tables kept as they are at fit (the model's ``--fixed``): left out of the
    privacy measures. A synthetic table identical to its real table that is not named is a complete
    copy: scored, and said so (with how to name it if it was fixed on purpose).
    """
    real, syn = tables["real"], tables["synthetic"]
    unknown = [t for t in fixed or [] if t not in real]
    if unknown:
        raise InputError(f"fixed names table(s) not among the real tables: {', '.join(unknown)}; "
                         f"the tables are: {', '.join(real)}")
    out = {t: "kept as it is at fit (fixed)" for t in fixed or []}
    copies = [t for t in real if t not in out and t in syn and identical(real[t], syn[t])]
    warns = []
    if out:
        warns.append(f"copied whole (fixed): {', '.join(out)}: left out of the privacy measures (a lookup table "
                     "kept as it is at fit is public by choice, not a leak)")
    if copies:
        warns.append(f"table(s) {', '.join(copies)}: the synthetic rows are exactly the real rows, scored as a "
                     "complete copy; if they were kept with --fixed at fit, give the model (--model, or fixed= in "
                     "Python) and they are left out of the privacy measures")
    return out, warns


def _per_table(name: str, tables: dict[str, dict[str, pd.DataFrame]], meta: Metadata, metrics: list[str],
               random_state: int, options: EvalOptions | None, copied: bool = False) -> Any:
    from simulacra.evaluate.core import evaluate

    hold = None if copied else tables.get("holdout", {}).get(name)
    chosen = list(metrics) + ([m for m in PRIVACY_METRICS if m not in metrics] if hold is not None else [])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return evaluate(tables["real"][name], tables["synthetic"][name], holdout=hold, metadata=meta,
                            metrics=chosen, random_state=random_state, options=options)
    except SimulacraError as exc:
        raise type(exc)(f"Table '{name}': {exc}") from None


def _entity_privacy(tables: dict[str, dict[str, pd.DataFrame]], links: list[Link], metas: dict[str, Metadata],
                    random_state: int, options: EvalOptions | None, copied: Mapping[str, str]) -> dict[str, Any]:
    """DCR share and copies over parent rows with their children aggregated, for every parent with a holdout.

    A table copied whole (fixed) is no entity: its rows are the same on every side (children split
    between training and holdout would make its training entities look closest by their counts alone).
    """
    from simulacra.evaluate.core import evaluate

    hold = tables["holdout"]
    out: dict[str, Any] = {}
    for parent in dict.fromkeys(link.parent for link in links):
        mine = [link for link in links if link.parent == parent and link.child in hold and link.child not in copied]
        if parent not in hold or not mine or parent in copied:
            continue
        frames = {role: entity_frame(tables[role], parent, mine, metas) for role in ("real", "synthetic", "holdout")}
        if frames["real"].shape[1] == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = evaluate(frames["real"], frames["synthetic"], holdout=frames["holdout"], metrics=list(PRIVACY_METRICS),
                           random_state=random_state, options=options)
        out[parent] = {"children": [link.child for link in mine], "columns": list(frames["real"].columns),
                       "entities": {r: len(f) for r, f in frames.items()},
                       **{k: rep.scores.get(k) for k in ("dcr_share", "exact_copies", "exact_copies_holdout")}}
    return out


def _mean(values: list[Any]) -> float | None:
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def evaluate_tables(
    real: Mapping[str, pd.DataFrame] | str | Path,
    synthetic: Mapping[str, pd.DataFrame] | str | Path,
    relationships: Any = None,
    *,
    holdout: Mapping[str, pd.DataFrame] | str | Path | None = None,
    metadata: Any = None,
    table_metrics: list[str] | None = None,
    random_state: int = 0,
    options: EvalOptions | None = None,
    progress: Callable[[str], None] | None = None,
    fixed: list[str] | None = None,
) -> MultiTableReport:
    """Compare a synthetic database with the real one: per table, per relationship and overall.

    Parameters
    ----------
    real, synthetic : dict of DataFrames or folder
        The tables by name (the same names on both sides).
    relationships : MultiTableMetadata or list, optional
        Objects or dicts with ``parent``, ``parent_key``, ``child``, ``child_key`` (keys: a column or a
        tuple of columns), or anything with a ``relationships`` attribute. Taken from ``metadata`` when
        it has them, otherwise detected with ``MultiTableMetadata.detect``.
    holdout : dict of DataFrames or folder, optional
        Real rows the synthesizer never saw (any subset of the tables): per-table DCR and copies, and
        privacy over entities (parents with their children aggregated).
    metadata : MultiTableMetadata, dict of table name → Metadata, or path, optional
        Column types per table (detected when not given). Key columns are never scored.
    table_metrics : list of str, optional
        Metrics of each table's single-table report (default: ``quality`` and what it needs).
    random_state : int
        Seed of every sample and model.
    options : EvalOptions, optional
        Sample sizes and thresholds, shared with the single-table report.
    progress : callable, optional
        Called with a short description of each step.
    fixed : list of str, optional
        Tables kept as they are at fit (``RelationalSynthesizer(fixed=...)``; ``list(model.fixed_)``):
        left out of the privacy measures, as copies by design. Any other synthetic table identical to
        its real table is scored, and a warning says so.

    Returns
    -------
    MultiTableReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> users = pd.DataFrame({"id": range(50), "age": rng.integers(18, 80, 50)})
    >>> orders = pd.DataFrame({"user": rng.integers(0, 50, 200), "amount": rng.gamma(2, 10, 200)})
    >>> rel = [{"parent": "users", "parent_key": "id", "child": "orders", "child_key": "user"}]
    >>> rep = evaluate_tables({"users": users, "orders": orders}, {"users": users, "orders": orders}, rel)
    >>> rep.quality, rep.cardinality, rep.fk_resolved
    (1.0, 1.0, 1.0)
    """
    start = time.perf_counter()
    say = progress or (lambda _msg: None)
    tables = {"real": _as_tables(real, "real"), "synthetic": _as_tables(synthetic, "synthetic")}
    if holdout is not None:
        tables["holdout"] = _as_tables(holdout, "holdout")
    links, given, table_keys = _resolve(relationships, metadata, tables["real"])
    _check_inputs(tables, links)
    keys: dict[str, set[str]] = {name: {c for c in table_keys.get(name, set()) if c in frame.columns}
                                 for name, frame in tables["real"].items()}
    for link in links:
        keys[link.parent].update(link.parent_key)
        keys[link.child].update(link.child_key)
    metas = {name: _table_metadata(name, frame, given.get(name), keys[name]) for name, frame in tables["real"].items()}
    chosen = list(table_metrics or TABLE_METRICS)
    copied, copy_warns = fixed_tables(fixed, tables) if "holdout" in tables else ({}, [])
    reports = {}
    for name in tables["real"]:
        say(f"table {name}")
        reports[name] = _per_table(name, tables, metas[name], chosen, random_state, options, name in copied)
    rels = []
    for link in links:
        say(f"relationship {link.name}")
        rels.append({
            **link.to_dict(), "name": link.name,
            "cardinality": cardinality(tables["real"], tables["synthetic"], link),
            "integrity": {role: integrity(tables[role][link.parent], link, tables[role][link.child])
                          for role in ("real", "synthetic")},
            "intertable_trends": intertable_trends(tables["real"], tables["synthetic"], link, metas, options),
        })
    sequences = {}
    for name, seq in declared_sequences(metadata if metadata is not None else relationships).items():
        if name in tables["real"] and name in tables["synthetic"] and \
                all(c in tables["real"][name].columns for c in (*seq["key"], seq["order"])):
            say(f"histories of {name}")
            sequences[name] = sequence_figures(tables["real"][name], tables["synthetic"][name], seq["key"],
                                               seq["order"], seq["statics"])
    entity = {}
    if "holdout" in tables:
        say("privacy over entities")
        entity = _entity_privacy(tables, links, metas, random_state, options, copied)
    scores = _aggregate(reports, rels)
    import simulacra

    info = {
        "tables": {name: {"rows": {role: len(t[name]) for role, t in tables.items() if name in t},
                          "columns": {c: col.type for c, col in metas[name].columns.items()}}
                   for name in tables["real"]},
        "relationships": [link.to_dict() for link in links], "random_state": random_state, "fixed": copied,
        "total_seconds": round(time.perf_counter() - start, 3), "simulacra_version": simulacra.__version__,
    }
    warns = copy_warns + [f"{name}: {w}" for name, rep in reports.items() for w in rep.warnings]
    for r in rels:
        for key, what in (("skipped", "intertable trends not measured"), ("unjoined", "intertable trends meaningless")):
            if r["intertable_trends"].get(key):
                warns.append(f"relationship {r['name']}: {what} ({r['intertable_trends'][key]})")
    return MultiTableReport(scores, tables=reports, relationships=rels, entity_privacy=entity, info=info,
                            warnings=warns, sequences=sequences)


def _aggregate(reports: dict[str, Any], rels: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled property scores as SDMetrics pools them, their mean, and the integrity figures."""
    shape_scores, pair_scores, missing = [], [], []
    for rep in reports.values():
        res = rep.results
        if "column_shapes" in res:
            shape_scores += [c["score"] for c in res["column_shapes"].details.get("columns", {}).values()]
        if "column_pair_trends" in res:
            pair_scores += [p["score"] for p in res["column_pair_trends"].details.get("pairs", [])
                            if p["counts"] and p["score"] is not None]
        if "missing_similarity" in res:
            missing += [1.0 - abs(r["real"] - r["synthetic"]) for r in res["missing_similarity"].details["columns"].values()]
    inter = [p["score"] for r in rels for p in r["intertable_trends"]["pairs"] if p["counts"] and p["score"] is not None]
    props = {"column_shapes": _mean(shape_scores), "column_pair_trends": _mean(pair_scores),
             "cardinality": _mean([r["cardinality"]["score"] for r in rels]), "intertable_trends": _mean(inter)}
    syn = [r["integrity"]["synthetic"] for r in rels]
    real = [r["integrity"]["real"] for r in rels]
    present = sum(s["rows"] * (1 - s["missing_rate"]) for s in syn if s["missing_rate"] is not None)
    resolved = sum(s["rows"] * (1 - s["missing_rate"]) * s["resolved"] for s in syn if s["resolved"] is not None)
    gaps = [abs(s[k] - r[k]) for s, r in zip(syn, real) for k in ("orphan_rate", "missing_rate")
            if s[k] is not None and r[k] is not None]
    return {
        "quality": _mean(list(props.values())), **props,
        "missing_similarity": _mean(missing),
        "fk_resolved": float(resolved / present) if present else None,
        "integrity_gap": float(max(gaps)) if gaps else None,
        "duplicate_keys": int(sum(s["duplicate_parent_keys"] for s in syn)) if syn else None,
    }
