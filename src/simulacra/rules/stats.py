"""The test that separates a table's rules from accidents, and the small graph helpers discovery uses.

A candidate rule holds in every one of the ``n`` rows where its columns are present. It is kept only
when that could not plausibly happen by accident: if the columns were unrelated (each shuffled on its
own), the rule would hold in a single row with probability ``p0``, and in all ``n`` rows with
probability ``p0 ** n``. The rule is kept when ``n · log10(p0) < CHANCE_LOG10`` (one in a billion; low
enough to stay safe after the few thousand candidates a wide table produces) and when it rules out at
least :data:`MIN_EXCLUDED` of the shuffled rows (a rule that almost every row obeys by its ranges alone,
like ``age <= income``, tells nothing).

Examples
--------
>>> round(chance_log10(0.5, 20), 2), round(chance_log10(0.5, 300), 1)
(-6.02, -90.3)
"""

from __future__ import annotations

import numpy as np

#: A rule is kept only when the chance that it holds by accident is below 10 ** CHANCE_LOG10.
CHANCE_LOG10 = -9.0
#: ... and when the columns, shuffled independently, would break it in at least this share of rows.
MIN_EXCLUDED = 0.1
#: A rule needs at least this many rows where its columns are all present.
MIN_ROWS = 30


def chance_log10(p0: float, n: int) -> float:
    """log10 of the chance that a rule holding with probability ``p0`` per row holds in ``n`` rows."""
    return float(n * np.log10(min(max(p0, 1e-300), 1.0)))


def smoothed(hits: int, trials: int) -> float:
    """The probability estimated from ``hits`` of ``trials``, kept away from 0 and 1 (Laplace)."""
    return (hits + 1.0) / (trials + 2.0)


def fd_chance_log10(det_counts: np.ndarray, dep_freq: np.ndarray) -> float:
    """log10 of the chance that ``A -> B`` holds by accident.

    ``det_counts`` are the row counts of the values of ``A``; ``dep_freq`` the frequencies of the values of
    ``B``. Rows sharing a value of ``A`` must all draw the same value of ``B``: for a value seen ``c``
    times, that happens with probability ``sum_b p_b ** c``.

    Examples
    --------
    >>> fd_chance_log10(np.array([1, 1, 1]), np.array([0.5, 0.5]))  # a key determines anything
    0.0
    """
    p = np.asarray(dep_freq, dtype=float)
    total = 0.0
    values, times = np.unique(np.asarray(det_counts, dtype=np.int64), return_counts=True)
    for c, k in zip(values, times):
        if c > 1:
            total += k * float(np.log10(max(np.sum(p ** c), 1e-300)))
    return total


def transitive_reduction(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Drop ``a -> c`` where ``a -> b -> c`` also holds (the edges of an acyclic relation).

    Examples
    --------
    >>> sorted(transitive_reduction({("a", "b"), ("b", "c"), ("a", "c")}))
    [('a', 'b'), ('b', 'c')]
    """
    succ: dict[str, set[str]] = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)
    return {(a, c) for a, c in edges if not any(c in succ.get(b, ()) for b in succ.get(a, ()) if b != c)}


def creates_cycle(graph: dict[str, set[str]], sources: list[str], target: str) -> bool:
    """Would edges ``sources -> target`` close a cycle in ``graph`` (node -> nodes it feeds)?"""
    seen, todo = set(), [target]
    while todo:
        node = todo.pop()
        if node in sources:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False
