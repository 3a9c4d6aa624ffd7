"""Discovery of functional dependencies and row rules (orderings, clock formats, missing together).

Each function returns ``(rules, discarded)``: the rule dicts kept, and a count of candidates dropped per
reason. The chance test of :mod:`simulacra.rules.stats` decides what is an accident.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from simulacra.rules.stats import (
    CHANCE_LOG10,
    MIN_EXCLUDED,
    MIN_ROWS,
    chance_log10,
    fd_chance_log10,
    smoothed,
    transitive_reduction,
)

#: A determinant with more distinct values than this is not searched (it is close to a key).
MAX_DETERMINANT_VALUES = 5000
#: Two-column determinants are searched among at most this many columns.
MAX_PAIR_DETERMINANTS = 30
#: ... each of at most this many distinct values (a schedule time or a flight number is not a determinant).
MAX_PAIR_VALUES = 200
#: A determinant is nearly a key (and determines nothing useful) when more than this share of the rows
#: hold a value seen fewer than KEYLIKE_COUNT times.
KEYLIKE_SHARE, KEYLIKE_COUNT = 0.2, 5
#: An ordering may be broken in at most this share of the rows (data errors); it is then kept in every
#: synthetic row, and the rule records the real share as ``exceptions``.
MAX_EXCEPTIONS = 0.001
#: Keep at most this many rules of one kind (the best supported).
MAX_RULES = 25


def dependencies(data: pd.DataFrame, columns: list[str], derived: set[str]) -> tuple[list[dict[str, Any]], Counter[str]]:
    """``A -> B`` (each value of ``A`` has one value of ``B``) between categorical-like columns."""
    dropped: Counter[str] = Counter()
    codes = {}
    for c in columns:
        code, uniques = pd.factorize(data[c], use_na_sentinel=True)
        if 2 <= len(uniques) <= MAX_DETERMINANT_VALUES:
            codes[c] = code.astype(np.int64) + 1
    names = list(codes)
    found: dict[tuple[str, str], float] = {}
    matrix = np.column_stack([codes[c] for c in names]) if names else np.zeros((len(data), 0), np.int64)
    for i, a in enumerate(names):
        for j, score in _determined(codes[a], matrix, [i], dropped):
            b = names[j]
            if a in derived or b in derived:
                dropped["dependency involves a derived column"] += 1
            else:
                found[(a, b)] = score
    order = {c: i for i, c in enumerate(columns)}
    edges = set(found)
    for a, b in list(edges):  # one-to-one: keep the direction from the earlier column
        if (b, a) in edges and order[a] > order[b]:
            edges.discard((a, b))
            dropped["dependency is the reverse of a kept one"] += 1
    reduced = transitive_reduction(edges)
    dropped["dependency implied by two others"] += len(edges) - len(reduced)
    parents: dict[str, str] = {}
    for a, b in sorted(reduced, key=lambda e: found[e]):
        if b in parents:
            dropped["dependent already looked up from another column"] += 1
        else:
            parents[b] = a

    def root(c: str) -> str:
        seen = set()
        while c in parents and c not in seen:
            seen.add(c)
            c = parents[c]
        return c

    groups: dict[str, list[str]] = {}
    for b in parents:
        groups.setdefault(root(b), []).append(b)
    rules = [
        {"kind": "dependency", "determinant": [r], "dependent": sorted(deps, key=order.__getitem__)}
        for r, deps in sorted(groups.items(), key=lambda kv: order[kv[0]])
    ]
    rules += _pair_dependencies(codes, matrix, names, {c for r in rules for c in [*r["determinant"], *r["dependent"]]},
                                derived, set(found), dropped)
    if len(rules) > MAX_RULES:
        dropped["more dependencies than shown"] += len(rules) - MAX_RULES
    return rules[:MAX_RULES], dropped


def _determined(key: np.ndarray, matrix: np.ndarray, own: list[int], dropped: Counter[str]) -> list[tuple[int, float]]:
    """Columns of ``matrix`` (codes) with one value per value of ``key``, and the chance of each."""
    counts = np.bincount(key)
    if (counts[key] < KEYLIKE_COUNT).mean() > KEYLIKE_SHARE:
        dropped["dependency on a column that is nearly a key"] += 1
        return []
    by_key = np.argsort(key, kind="stable")  # rows sharing a key are neighbours; a dependent must not change
    within = np.flatnonzero(key[by_key][1:] == key[by_key][:-1])
    sorted_codes = matrix[by_key]
    determined = (sorted_codes[within + 1] == sorted_codes[within]).all(axis=0)
    out = []
    for j in np.flatnonzero(determined):
        if j in own:
            continue
        freq = np.bincount(matrix[:, j]) / len(key)
        score = fd_chance_log10(counts[counts > 0], freq[freq > 0])
        if score >= CHANCE_LOG10:
            dropped["dependency could hold by chance"] += 1
        else:
            out.append((int(j), score))
    return out


def _pair_dependencies(codes: dict[str, np.ndarray], matrix: np.ndarray, names: list[str], used: set[str],
                       derived: set[str], single: set[tuple[str, str]], dropped: Counter[str]) -> list[dict[str, Any]]:
    """``A + B -> C`` where neither ``A`` nor ``B`` alone determines ``C`` (``origin + dest -> distance``).

    Only among columns no single-column dependency uses, so that each column is in one rule.
    """
    free = [i for i, c in enumerate(names) if c not in used and c not in derived
            and int(codes[c].max()) <= MAX_PAIR_VALUES][:MAX_PAIR_DETERMINANTS]
    keys = []
    sample = np.random.default_rng(0).permutation(len(matrix))[:2000]
    for x, i in enumerate(free):
        for k in free[x + 1:]:
            joint = codes[names[i]] * (int(codes[names[k]].max()) + 1) + codes[names[k]]
            js = joint[sample]  # screen on a sample: a dependency must hold there too
            by = np.argsort(js, kind="stable")
            within = np.flatnonzero(js[by][1:] == js[by][:-1])
            held = (matrix[sample][by][within + 1] == matrix[sample][by][within]).all(axis=0)
            held[[i, k]] = False
            if held.any():
                uniq, key = np.unique(joint, return_inverse=True)
                keys.append((uniq.size, i, k, key.astype(np.int64)))
    rules: list[dict[str, Any]] = []
    taken: set[str] = set()
    for _, i, k, key in sorted(keys, key=lambda t: t[:3]):  # the simplest determinants (fewest pairs) first
        a, b = names[i], names[k]
        if {a, b} & taken:
            continue
        deps = [names[j] for j, _ in _determined(key, matrix, [i, k], dropped)
                if names[j] not in used | taken | derived and (a, names[j]) not in single and (b, names[j]) not in single]
        if deps:
            rules.append({"kind": "dependency", "determinant": [a, b], "dependent": deps})
            taken |= {a, b, *deps}
    return rules


def orderings(values: dict[str, np.ndarray], groups: list[list[str]], derived: set[str],
              rows: np.ndarray, rng: np.random.Generator) -> tuple[list[dict[str, Any]], Counter[str]]:
    """``a <= b`` in every row, for pairs of comparable columns, grouped into bounds per column."""
    dropped: Counter[str] = Counter()
    edges: dict[tuple[str, str], float] = {}
    for names in groups:
        if len(names) < 2:
            continue
        X = np.column_stack([values[c] for c in names])
        known = np.isfinite(X)
        counts = known.astype(np.int64).T @ known.astype(np.int64)
        for i, a in enumerate(names):
            with np.errstate(invalid="ignore"):
                broken_rows = ((known[:, [i]] & known) & (X[:, [i]] > X)).sum(axis=0)
            holds = broken_rows <= np.floor(MAX_EXCEPTIONS * counts[i])
            holds[i] = False
            for j in np.flatnonzero(holds):
                b = names[j]
                both = int(counts[i, j])
                if both < MIN_ROWS:
                    continue
                if np.array_equal(X[:, i][known[:, i]], X[:, j][known[:, i]]):
                    continue  # equal columns: a derived copy, not an ordering
                x, y = values[a][rows], rng.permutation(values[b][rows])
                ok = np.isfinite(x) & np.isfinite(y)
                with np.errstate(invalid="ignore"):
                    broken = int((x[ok] > y[ok]).sum())
                p0 = smoothed(int(ok.sum()) - broken, int(ok.sum()))
                if 1.0 - p0 < MIN_EXCLUDED:
                    dropped["ordering follows from the ranges alone"] += 1
                elif chance_log10(p0, both) >= CHANCE_LOG10:
                    dropped["ordering could hold by chance"] += 1
                elif a in derived or b in derived:
                    dropped["ordering involves a derived column"] += 1
                else:
                    edges[(a, b)] = int(broken_rows[j]) / both
    reduced = transitive_reduction(set(edges))
    dropped["ordering implied by two others"] += len(edges) - len(reduced)
    rules = _bounds(reduced)
    for rule in rules:
        pairs = [(a, rule["column"]) for a in rule.get("at_least", [])] + [(rule["column"], b) for b in rule.get("at_most", [])]
        share = sum(edges[p] for p in pairs)
        if share:
            rule["exceptions"] = float(f"{share:.3g}")
    return rules, dropped


def _bounds(edges: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Cover ``a <= b`` edges with one bound per written column, extremes (all-above or all-below) first."""
    todo = set(edges)
    rules = []
    while todo:
        degree: Counter[str] = Counter()
        for a, b in todo:
            degree[a] += 1
            degree[b] += 1

        def key(c: str) -> tuple[int, int, str]:
            up = sum(1 for a, b in todo if b == c)
            down = sum(1 for a, b in todo if a == c)
            return (0 if (up == 0 or down == 0) else 1, -degree[c], c)

        col = min(degree, key=key)
        lows = sorted(a for a, b in todo if b == col)
        highs = sorted(b for a, b in todo if a == col)
        rule: dict[str, Any] = {"kind": "bound", "column": col}
        if lows:
            rule["at_least"] = lows
        if highs:
            rule["at_most"] = highs
        rules.append(rule)
        todo = {(a, b) for a, b in todo if col not in (a, b)}
    return rules[:MAX_RULES]


def clocks(values: dict[str, np.ndarray], candidates: list[str], derived: set[str]) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Whole-number columns written as clock times HHMM: never a minute part of 60 or more.

    Under a null where the last two digits are spread evenly, a value has minutes >= 60 with
    probability 0.4; ``d`` distinct values at or above 100 all below 60 have chance ``0.6 ** d``.
    """
    dropped: Counter[str] = Counter()
    rules = []
    for c in candidates:
        v = values[c][np.isfinite(values[c])]
        if not v.size or not np.all(v == np.round(v)) or v.min() < 0 or v.max() > 2400 or v.max() < 100:
            continue
        if np.any(np.mod(v, 100) >= 60):
            continue
        distinct = int(np.unique(v[v >= 100]).size)
        if chance_log10(0.6, distinct) >= CHANCE_LOG10:
            dropped["clock format could hold by chance"] += 1
        elif c in derived:
            dropped["clock format of a derived column (kept by its formula)"] += 1
        else:
            rules.append({"kind": "clock", "column": c})
    return rules, dropped


def missing_together(data: pd.DataFrame, columns: list[str]) -> tuple[list[dict[str, Any]], Counter[str]]:
    """``if A is missing then B is missing``, from the missing-value masks."""
    dropped: Counter[str] = Counter()
    n = len(data)
    masks = {c: data[c].isna().to_numpy() for c in columns}
    masks = {c: m for c, m in masks.items() if 0 < m.sum() < n}
    names = list(masks)
    classes: dict[str, list[str]] = {}
    rep: dict[str, str] = {}
    for c in names:
        same = next((r for r in classes if np.array_equal(masks[r], masks[c])), None)
        if same is None:
            classes[c] = [c]
            rep[c] = c
        else:
            classes[same].append(c)
            rep[c] = same
    edges = set()
    for a in classes:
        for b in classes:
            if a != b and not np.any(masks[a] & ~masks[b]):
                p = masks[b].sum() / n
                if chance_log10(p, int(masks[a].sum())) < CHANCE_LOG10:
                    edges.add((a, b))
                else:
                    dropped["missing-together could hold by chance"] += 1
    for a, members in classes.items():
        if len(members) > 1 and chance_log10(masks[a].sum() / n, int(masks[a].sum())) >= CHANCE_LOG10:
            dropped["missing-together could hold by chance"] += len(members) - 1
            classes[a] = [a]
    reduced = transitive_reduction(edges)
    rules = []
    for a, members in classes.items():
        then = members[1:] + [m for (x, b) in sorted(reduced) if x == a for m in classes[b]]
        if then:
            rules.append({"kind": "missing_with", "if_missing": a, "then_missing": then})
    # a class of equally missing columns also needs the way back to its first member
    for a, members in classes.items():
        for m in members[1:]:
            rules.append({"kind": "missing_with", "if_missing": m, "then_missing": [a]})
    return rules[:MAX_RULES], dropped


#: A pairwise row ordering (``a >= b``) holds in at least this share of the rows; the few rows that
#: break it are data errors more often than not, and synthetic rows keep it in all rows.
ROW_ORDER_SUPPORT = 0.999


def row_orderings(frame: dict[str, np.ndarray], names: list[str]) -> dict[str, set[str]]:
    """``above[a]`` = the columns ``b`` with ``a >= b`` in at least ``ROW_ORDER_SUPPORT`` of the rows
    where both are present (and ``a > b`` in most), and that the marginals alone do not imply.

    The pairwise form kept by the sequence model and checked by the sequence report (no chance test
    or transitive reduction, unlike :func:`orderings` of table rules).
    """
    above: dict[str, set[str]] = {a: set() for a in names}
    for a in names:
        for b in names:
            if a == b:
                continue
            x, y = frame[a], frame[b]
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() < 30:
                continue
            if np.mean(x[ok] >= y[ok]) >= ROW_ORDER_SUPPORT and np.mean(x[ok] > y[ok]) > 0.5:
                # a rule the marginals imply on their own (volumes in millions >= prices) says
                # nothing about the row: it must fail often when the rows are shuffled
                shuffled = np.random.default_rng(0).permutation(y[ok])
                if np.mean(x[ok] >= shuffled) < 0.95:
                    above[a].add(b)
    return above
