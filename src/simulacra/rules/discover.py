"""Find a table's rules: derived columns, functional dependencies and row rules, ranked and tested.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"a": rng.integers(0, 100, 500), "b": rng.integers(0, 100, 500)})
>>> df["total"] = df["a"] + df["b"]
>>> [r["formula"] for r in discover_rules(df).rules if r["kind"] == "derived"]
['a + b']
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulacra.metadata import Metadata
from simulacra.rules.check import as_float, describe_rule, rule_columns, rule_mask, step_of
from simulacra.rules.derive import Candidate, DerivedSearch, accept
from simulacra.rules.formula import Formula
from simulacra.rules.relations import clocks, dependencies, missing_together, orderings
from simulacra.rules.stats import creates_cycle

__all__ = ["KINDS", "Discovery", "add_rules", "discover_rules"]

#: At most this many numeric columns are searched for derived columns and orderings (the first ones).
MAX_NUMERIC = 60
#: At most this many columns are searched for dependencies.
MAX_DEPENDENCY = 120
#: The kinds of rules discovery looks for.
KINDS = ("derived", "dependency", "bound", "clock", "missing_with")


@dataclass
class Discovery:
    """What :func:`discover_rules` found: the rules kept (constraint dicts), and what it dropped and why."""

    rules: list[dict[str, Any]] = field(default_factory=list)
    discarded: dict[str, int] = field(default_factory=dict)
    candidates: int = 0
    seconds: float = 0.0
    rows: int = 0

    def lines(self) -> list[str]:
        """One line per rule kept, with its support, then the discarded counts."""
        out = [f"{describe_rule(r)}    [{r.get('found', '')}]" for r in self.rules]
        dropped = ", ".join(f"{k}: {v}" for k, v in sorted(self.discarded.items(), key=lambda kv: -kv[1]))
        out.append(f"{len(self.rules)} rules kept of {self.candidates} candidates in {self.seconds:.1f} s"
                   + (f"; discarded: {dropped}" if dropped else ""))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"rules": self.rules, "discarded": dict(self.discarded), "candidates": self.candidates,
                "seconds": round(self.seconds, 3), "rows": self.rows}


def _support(spec: dict[str, Any], data: pd.DataFrame) -> str:
    mask = rule_mask(spec, data, data)
    cols = [c for c in rule_columns(spec) if c in data.columns]
    known = data[cols].notna().all(axis=1).to_numpy() if spec["kind"] != "missing_with" else data[cols[0]].isna().to_numpy()
    held = int((mask & known).sum()) if mask is not None else 0
    return f"holds in {held} of {int(known.sum())} rows"


def _choose_derived(cands: list[Candidate], dropped: Counter[str]) -> list[Candidate]:
    """One formula per column, simplest first, never a cycle of derived columns."""
    graph: dict[str, set[str]] = {}
    chosen: dict[str, Candidate] = {}
    for c in sorted(cands, key=lambda c: (c.complexity, -c.rows, c.formula)):
        why = accept(c)
        if why:
            dropped[f"formula {why}"] += 1
        elif c.column in chosen:
            dropped["another formula for a column already derived"] += 1
        elif any(s in chosen and c.column in chosen[s].sources for s in c.sources) or creates_cycle(graph, c.sources, c.column):
            dropped["formula equivalent to a kept one (a cycle)"] += 1
        else:
            chosen[c.column] = c
            for s in c.sources:
                graph.setdefault(s, set()).add(c.column)
    return sorted(chosen.values(), key=lambda c: (c.complexity, c.column))


def discover_rules(
    data: pd.DataFrame,
    metadata: Metadata | None = None,
    *,
    kinds: tuple[str, ...] = KINDS,
    random_state: int = 0,
) -> Discovery:
    """The rules that hold in every row of ``data`` and could not hold by chance.

    ``kinds`` picks among ``derived``, ``dependency``, ``bound``, ``clock`` and ``missing_with``. Each rule
    is a constraint dict in the syntax of the metadata (``{"kind": "derived", "column": "hour",
    "formula": "sched_dep_time // 100"}``) with a ``found`` note giving its support. See
    ``docs/rules.md`` for the grammar and the test against chance.
    """
    start = time.perf_counter()
    meta = metadata if metadata is not None else Metadata.detect(data)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        from simulacra.errors import InputError

        raise InputError(f"Unknown rule kinds: {', '.join(sorted(unknown))}; use some of: {', '.join(KINDS)}")
    types = {name: col.type for name, col in meta.columns.items() if name in data.columns}
    numeric = [c for c, t in types.items() if t == "numerical"]
    stamps = [c for c, t in types.items() if t == "datetime"]
    dropped: Counter[str] = Counter()
    if len(numeric) > MAX_NUMERIC:  # a wide table: the search is quadratic in its columns
        dropped[f"numeric columns beyond the first {MAX_NUMERIC} not searched"] = len(numeric) - MAX_NUMERIC
        numeric = numeric[:MAX_NUMERIC]
    values = {c: as_float(data[c]) for c in numeric + stamps}
    rng = np.random.default_rng(random_state)
    rules: list[dict[str, Any]] = []
    candidates = 0
    search = DerivedSearch(values, {c: step_of(v) for c, v in values.items()}, set(stamps), rng)
    derived: list[Candidate] = []
    if "derived" in kinds and len(data):
        found = search.run()
        candidates += search.tested
        derived = _choose_derived(found, dropped)
    targets = {c.column for c in derived}
    if "missing_with" in kinds:
        found_missing, why = missing_together(data, [c for c in types if types[c] not in ("id",)])
        rules += found_missing
        dropped += why
    rules += [c.spec for c in derived]
    if "dependency" in kinds:
        cols = [c for c, t in types.items() if t in ("categorical", "boolean") or c in numeric][:MAX_DEPENDENCY]
        found_fd, why = dependencies(data, cols, targets)
        rules += found_fd
        dropped += why
        candidates += len(cols) * max(len(cols) - 1, 0)
    if "clock" in kinds:
        # a derived column stays in the model where its inputs are missing but it is not: its format is kept too
        computed = {c.column for c in derived if np.array_equal(
            data[c.column].isna().to_numpy(), data[[s for s in c.sources if s in data]].isna().any(axis=1).to_numpy())}
        found_clock, why = clocks(values, numeric, computed)
        rules += found_clock
        dropped += why
        candidates += len(numeric)
    if "bound" in kinds:
        groups = [numeric, stamps]
        found_bounds, why = orderings(values, groups, targets, search.rows, rng)
        rules += found_bounds
        dropped += why
        candidates += len(numeric) * max(len(numeric) - 1, 0) + len(stamps) * max(len(stamps) - 1, 0)
    for r in rules:
        if r["kind"] == "derived":
            Formula(r["formula"])  # every formula written parses back
        r["found"] = _support(r, data)
    return Discovery(rules=rules, discarded=dict(dropped), candidates=candidates,
                     seconds=time.perf_counter() - start, rows=len(data))


def add_rules(metadata: Metadata, data: pd.DataFrame, **options: Any) -> Discovery:
    """Discover the rules of ``data`` and append them to ``metadata.constraints`` (in place).

    A found rule on a column that a constraint already in the metadata writes (a derived column, a
    bound, a dependent) is left out: the user's own rule wins.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [i % 7 for i in range(100)], "b": [i % 11 for i in range(100)]})
    >>> df["total"] = df["a"] + df["b"]
    >>> meta = Metadata.detect(df)
    >>> found = add_rules(meta, df)
    >>> [r["kind"] for r in meta.constraints]
    ['derived']
    """
    found = discover_rules(data, metadata, **options)
    taken = set()
    for c in metadata.constraints:
        if isinstance(c, dict):
            taken |= {str(c[k]) for k in ("column", "total", "high") if k in c}
            taken |= {str(x) for x in c.get("dependent") or []}
    kept = [r for r in found.rules if not ({str(r[k]) for k in ("column",) if k in r} | set(r.get("dependent") or [])) & taken]
    if len(kept) < len(found.rules):
        found.discarded["column already ruled by a constraint in the metadata"] = len(found.rules) - len(kept)
        found.rules = kept
    metadata.constraints = [*metadata.constraints, *kept]
    return found
