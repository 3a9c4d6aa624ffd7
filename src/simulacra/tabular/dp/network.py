"""A Bayesian network over column codes with up to ``k`` parents per column, chosen and measured under
zCDP (PrivBayes-style; Zhang et al. 2017), for the budgets where one parent per column is the limit.

Structure: a greedy order. The first step picks a pair (a root and its first child), each later step a
column not yet placed and a set of at most ``k`` placed columns as its parents, both by the exponential
mechanism. A parent enters through a *coarse* code (adjacent numeric bins or rare categories merged) so
that the child × parents table has at most ``max_cells`` cells, a number set from the noise each table
gets: a table finer than its noise is mostly noise.

Score (:func:`network_score`): the 2-way table of child code × combined parent code, scored by its L1
:func:`~simulacra.tabular.dp.tree.dependence` (symmetric: it sees a strong tie from either side) plus its
:func:`gini_gain` (which grows when a second parent sharpens the first one's groups, where the L1
distance often stays flat), each less the part its noise would account for and each divided by its
sensitivity. The combined parent code is one code of a fixed map, built from released quantities only
(the noisy 1-way marginals, ρ, the noisy row count), so one added or removed row moves exactly one cell of
the table by one; each scaled term then moves by at most 1, and the score's sensitivity is 2.

Measurement: each chosen (child × parents) table with Gaussian noise. Estimation (post-processing): the
table is made non-negative, raked to the child's marginal, and each parent cell's conditional is shrunk
towards the one its parents would give one at a time (their single-parent conditionals combined as in
naive Bayes), so a thin or empty cell falls back to the lower-order estimate. Sampling is ancestral.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulacra.privacy.mechanisms import Mechanisms, project_simplex
from simulacra.tabular.dp.tree import (
    DEPENDENCE_SENSITIVITY, dependence, draw_given, draw_marginal, marginal_prob, pool_marginals, rake,
)

#: A table may have about one cell per ``CELL_NOISE`` noise widths of rows (n / (CELL_NOISE σ) cells).
CELL_NOISE = 4.0

#: Weight of the expected noise (sqrt(2/π) σ per cell, its L1 size) against a candidate's dependence.
NOISE_PENALTY = 1.0

#: Strength of the fall-back conditional, in noise widths per child code (see :func:`conditionals`).
SHRINK = 1.0

_HALF_NORMAL = math.sqrt(2.0 / math.pi)


def gini_gain(table: np.ndarray) -> float:
    """How much the column code of a count table tells of its row code: the drop in Gini impurity, in rows.

    ``sum_g ||T[:, g]||² / n_g - ||r||² / N`` (``n_g`` the column sums, ``r`` the row sums). Unlike the
    L1 :func:`~simulacra.tabular.dp.tree.dependence`, it grows whenever a finer column code separates
    rows the coarser one mixed (it adds up over nested codes, like mutual information), so a second
    parent that sharpens the first one's groups scores higher. Sensitivity below 2: for a count vector
    ``v`` of sum ``n``, ``f(v) = ||v||² / n`` moves by ``(n (2 v_a + 1) - ||v||²) / (n (n + 1))`` when a
    row is added at ``a``, which lies in (-1, 1] because ``v_a ≤ n`` and ``v_a² ≤ ||v||² ≤ n²``; one row
    moves one column's ``f`` and the row sums' ``f`` once each.

    >>> gini_gain(np.array([[10, 0], [0, 10]]))
    10.0
    >>> gini_gain(np.array([[5, 5], [5, 5]]))
    0.0
    """
    t = np.asarray(table, dtype=float)
    total = t.sum()
    if total <= 0:
        return 0.0
    cols = t.sum(axis=0)
    inner = float(((t ** 2).sum(axis=0)[cols > 0] / cols[cols > 0]).sum())
    return inner - float((t.sum(axis=1) ** 2).sum() / total)


#: Sensitivity of :func:`gini_gain` (add or remove one row).
GINI_SENSITIVITY = 2.0

#: The structure score: "mix" (the default, below), or the variants measured against it
#: (benchmarks/RESULTS.md): "l1" (``dependence`` alone), "gini" (``gini_gain`` alone), "sym" (the Gini
#: gain both ways: child given parents plus parents given child).
SCORE = "mix"

#: Sensitivity of :func:`network_score` by score: ``dependence / 4`` and ``gini_gain / 2`` move by at most 1 each.
SCORE_SENSITIVITY = {"mix": 2.0, "l1": DEPENDENCE_SENSITIVITY, "gini": GINI_SENSITIVITY, "sym": 2 * GINI_SENSITIVITY}

#: With ``max_parents="auto"``: the most parents that still leave each parent this many coarse codes in a
#: table of a typical child (see :func:`auto_parents`).
AUTO_GROUPS = 4.5


def network_score(table: np.ndarray, sigma: float, parent_rows: np.ndarray) -> float:
    """The structure score of one candidate (child × parents) count table; sensitivity ``SCORE_SENSITIVITY[SCORE]``.

    ``sigma`` is the noise the table will get and ``parent_rows`` the rows expected in each parent cell
    (from released marginals); both are fixed before the data is looked at, so the penalties are
    constants of the candidate: the L1 size of the noise (``sqrt(2/π) σ`` per cell) and the Gini gain the
    noise alone would show (``k_child σ²`` over each parent cell's rows, shrunk as in :func:`conditionals`).
    """
    kc = table.shape[0]
    l1 = dependence(table) - NOISE_PENALTY * _HALF_NORMAL * sigma * table.size
    noise = kc * sigma ** 2 * float((1.0 / (parent_rows + SHRINK * sigma * math.sqrt(kc))).sum())
    if SCORE == "l1":
        return l1
    if SCORE in ("gini", "sym"):
        return gini_gain(table) + (gini_gain(table.T) if SCORE == "sym" else 0.0) - NOISE_PENALTY * noise
    return l1 / DEPENDENCE_SENSITIVITY + (gini_gain(table) - NOISE_PENALTY * noise) / GINI_SENSITIVITY


def auto_parents(n_rows: float, sigma: float, sizes: list[int]) -> int:
    """Parents per column for ``max_parents="auto"``: the largest k in 1..3 whose tables, for a child of
    the median number of codes, still give each of k parents ``AUTO_GROUPS`` coarse codes within the cell
    cap ``n / (CELL_NOISE σ)`` (an analogue of PrivBayes's θ-usefulness: a table finer than its noise is
    mostly noise). From released quantities only: the noisy row count, ρ and the domains' sizes.

    >>> auto_parents(26000, 70.0, [8] * 15), auto_parents(26000, 23.0, [8] * 15), auto_parents(26000, 3.0, [8] * 15)
    (1, 2, 3)
    """
    cap = n_rows / (CELL_NOISE * sigma)
    child = float(np.median(sizes)) if sizes else 2.0
    fits = [k for k in (2, 3) if (cap / child) ** (1.0 / k) >= AUTO_GROUPS]
    return max(fits, default=1)


def group_map(marginal: np.ndarray, groups: int, ordered: bool, missing: bool) -> np.ndarray:
    """A map from a column's codes to at most ``groups`` coarse codes, from its released marginal.

    Ordered codes (numeric bins, then the missing code when ``missing``) merge into runs of about equal
    mass, the missing code kept apart; unordered ones keep the ``groups - 1`` most frequent codes and
    merge the rest.

    >>> group_map(np.array([0.25, 0.25, 0.25, 0.25]), 2, True, False).tolist()
    [0, 0, 1, 1]
    >>> group_map(np.array([0.1, 0.6, 0.3]), 2, False, False).tolist()
    [1, 0, 1]
    """
    k = marginal.size
    if k <= groups:
        return np.arange(k, dtype=np.int64)
    if not ordered:
        top = np.argsort(-marginal, kind="stable")[:groups - 1]
        out = np.full(k, groups - 1, dtype=np.int64)
        out[top] = np.arange(groups - 1)
        return out
    bins = k - int(missing)
    runs = groups - int(missing)
    p = marginal[:bins] / max(marginal[:bins].sum(), 1e-300)
    mid = np.cumsum(p) - p / 2  # each bin goes to the run its middle falls in
    out = np.minimum((mid * runs).astype(np.int64), runs - 1)
    out = np.unique(out, return_inverse=True)[1].astype(np.int64)  # no empty run
    if missing:
        out = np.append(out, out.max() + 1)
    return out


def parent_cell(maps: Sequence[np.ndarray], coarse: Sequence[Any]) -> Any:
    """The combined parent code (mixed radix, first parent most significant) of the parents' coarse codes
    (arrays of rows or one row's ints); ``maps`` are the parents' code maps, which fix each radix."""
    combo: Any = 0
    for m, c in zip(maps, coarse):
        combo = combo * (int(m.max()) + 1) + c
    return combo


@dataclass
class _Columns:
    """What the selection knows of the columns: their codes (private), sizes and released marginals."""

    codes: list[np.ndarray]
    marginals: list[np.ndarray]
    ordered: list[bool]
    missing: list[bool]
    max_cells: float

    def __post_init__(self) -> None:
        # (column, groups): its code map and the rows' coarse codes
        self._coarse: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def size(self, v: int) -> int:
        return int(self.marginals[v].size)

    def allocate(self, child: int, parents: tuple[int, ...], primary: int | None = None) -> list[int]:
        """Groups per parent: the table (child × parents) within ``max_cells``, at least 2 per parent;
        evenly, or with ``primary`` kept as whole as the others' 2 codes each allow."""
        room = self.max_cells / self.size(child)
        out = {}
        if primary is not None:
            g = max(2, min(self.size(primary), int(math.floor(room / 2 ** (len(parents) - 1) + 1e-9))))
            out[primary] = g
            room /= g
        left = list(sorted((p for p in parents if p != primary), key=self.size))
        while left:
            p = left.pop(0)
            g = max(2, min(self.size(p), int(math.floor(room ** (1.0 / (len(left) + 1)) + 1e-9))))
            out[p] = g
            room /= g
        return [out[p] for p in parents]

    def coarse(self, v: int, groups: int) -> tuple[np.ndarray, np.ndarray]:
        key = (v, groups)
        if key not in self._coarse:
            m = group_map(self.marginals[v], groups, self.ordered[v], self.missing[v])
            self._coarse[key] = (m, m[self.codes[v]])
        return self._coarse[key]

    def cell_masses(self, child: int, parents: tuple[int, ...], primary: int | None = None) -> np.ndarray:
        """The parent cells' shares of rows if the parents were independent (from released marginals only)."""
        out = np.ones(1)
        for p, g in zip(parents, self.allocate(child, parents, primary)):
            m, _ = self.coarse(p, g)
            out = np.outer(out, np.bincount(m, weights=self.marginals[p], minlength=int(m.max()) + 1)).ravel()
        return out

    def table(self, child: int, parents: tuple[int, ...], primary: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """The (child code × combined parent code) count table and the parents' maps."""
        groups = self.allocate(child, parents, primary)
        maps, coarse = zip(*(self.coarse(p, g) for p, g in zip(parents, groups)))
        combo = parent_cell(maps, coarse)
        width = math.prod(int(m.max()) + 1 for m in maps)
        kc = self.size(child)
        counts = np.bincount(self.codes[child] * width + combo, minlength=kc * width)
        return counts.reshape(kc, width), list(maps)


#: A candidate: (child, parents, the parent kept whole or None for an even split of the cells).
Candidate = tuple[int, tuple[int, ...], "int | None"]

#: Also offer each parent set with one parent kept as whole as the cell cap allows (the others at 2+ codes).
PRIMARY = False

#: Parent sets per child up to which a step offers every set of at most k placed columns (2,047 sets at
#: 23 placed columns and k = 3: the benchmark tables, 24 columns at most, are searched in full). Past it
#: (wide tables) a step offers every set of up to ``FULL_UP_TO`` placed columns, and larger sets only inside
#: one placed column's family (the column and its chosen parents): fixed by the structure released so far,
#: never by the data. 20,000 rows at ε = 10, k = 3: fit CPU 15 s → 8 s at 40 columns, 80 s → 18 s at 60.
MAX_SETS = 2100
FULL_UP_TO = 2


def select_network(
    cols: _Columns, k: int, mech: Mechanisms, rho: float, sigma: float, n_rows: float,
) -> list[Candidate]:
    """A greedy order with parent sets of at most ``k`` placed columns (ρ split evenly over the steps).

    Returns ``(child, parents, primary)`` in the order chosen; the first entry's parent is the root.
    A set of two or more parents is a candidate with its cells split evenly and, with ``PRIMARY``,
    once more for each parent kept whole (where that differs), so a strong fine-grained parent need not
    be coarsened to make room for a weak second one.
    """
    d = len(cols.codes)
    if d < 2:
        return []
    step = rho / (d - 1)
    scores: dict[Candidate, float] = {}

    def score(cand: Candidate) -> float:
        if cand not in scores:
            c, s, primary = cand
            scores[cand] = network_score(cols.table(c, s, primary)[0], sigma, n_rows * cols.cell_masses(c, s, primary))
        return scores[cand]

    def variants(c: int, s: tuple[int, ...]) -> list[Candidate]:
        out: list[Candidate] = [(c, s, None)]
        if PRIMARY and len(s) > 1:
            even = cols.allocate(c, s)
            out += [(c, s, p) for p in s if cols.allocate(c, s, p) != even]
        return out

    first: list[Candidate] = [(c, (p,), None) for c in range(d) for p in range(d) if c != p]
    pick = first[mech.select(np.array([score(x) for x in first]), step, SCORE_SENSITIVITY[SCORE], "parents (first pair)")]
    chosen = [pick]
    placed = [pick[1][0], pick[0]]
    while len(placed) < d:
        sets = parent_sets(placed, {c: s for c, s, _ in chosen}, k)
        candidates = [x for c in range(d) if c not in placed for s in sets for x in variants(c, s)]
        pick = candidates[mech.select(np.array([score(x) for x in candidates]), step, SCORE_SENSITIVITY[SCORE],
                                      "parents (step)")]
        chosen.append(pick)
        placed.append(pick[0])
    return chosen


def parent_sets(placed: list[int], parents: dict[int, tuple[int, ...]], k: int) -> list[tuple[int, ...]]:
    """The parent sets a step offers: every set of at most ``k`` placed columns while there are at most
    ``MAX_SETS`` of them; beyond, every set of up to ``FULL_UP_TO`` placed columns and the larger ones
    inside one placed column's family (itself and its chosen parents). Built from the released choices
    only (``parents``: each placed child's chosen parents), in a fixed order, so the exponential mechanism
    still chooses among candidates that do not depend on the data.

    >>> parent_sets([0, 1, 2], {1: (0,), 2: (1,)}, 2)
    [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2)]
    """
    ordered = sorted(placed)
    full = sum(math.comb(len(ordered), m) for m in range(1, min(k, len(ordered)) + 1))
    if full <= MAX_SETS:
        return [s for m in range(1, min(k, len(ordered)) + 1) for s in itertools.combinations(ordered, m)]
    found: set[tuple[int, ...]] = set()
    for v in ordered:
        family = sorted({v, *parents.get(v, ())})
        found.update(s for m in range(FULL_UP_TO + 1, min(k, len(family)) + 1) for s in itertools.combinations(family, m))
    small = [s for m in range(1, min(k, FULL_UP_TO) + 1) for s in itertools.combinations(ordered, m)]
    return small + sorted(found, key=lambda s: (len(s), s))


def measure_network(
    cols: _Columns, chosen: list[Candidate], mech: Mechanisms, rho: float, names: list[str],
) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Each chosen (child × parents) table with Gaussian noise (ρ split evenly), and the parents' maps."""
    per = rho / max(len(chosen), 1)
    noisy, maps = [], []
    for c, s, primary in chosen:
        table, m = cols.table(c, s, primary)
        noisy.append(mech.gaussian_counts(table, per, f"table {names[c]} | {', '.join(names[p] for p in s)}"))
        maps.append(m)
    return noisy, maps


def conditionals(noisy: np.ndarray, child: np.ndarray, groups: list[int], n_rows: float, sigma: float) -> np.ndarray:
    """P(child | parent cell) from a noisy (child × parents) table (post-processing).

    The table is projected onto non-negative tables of ``n_rows`` rows and raked to the child's
    marginal. A parent cell's conditional is its column plus ``alpha = SHRINK · σ · sqrt(k_child)``
    rows of a fall-back: for one parent the child's marginal; for several, the product of the
    single-parent conditionals (each shrunk the same way) over the marginal, normalised — the
    conditional if the parents were independent given the child. A cell far above the noise keeps
    its own estimate; an empty one gets the fall-back.
    """
    kc = child.size
    joint = project_simplex(noisy, max(n_rows, 1.0))
    parents_p = joint.sum(axis=0)
    if parents_p.sum() > 0:
        joint = rake(joint, child * joint.sum(), parents_p)
    alpha = SHRINK * sigma * math.sqrt(kc)
    marg = np.maximum(child, 1e-12)
    cube = joint.reshape(kc, *groups)
    if len(groups) == 1:
        prior = np.repeat(marg[:, None], groups[0], axis=1)
    else:
        log_prior = np.zeros(cube.shape)
        for axis, g in enumerate(groups):
            one = cube.sum(axis=tuple(a + 1 for a in range(len(groups)) if a != axis))  # (kc, g)
            cond = (one + alpha * marg[:, None]) / (one.sum(axis=0, keepdims=True) + alpha)
            shape = [kc] + [1] * len(groups)
            shape[axis + 1] = g
            log_prior += np.log(np.maximum(cond, 1e-300)).reshape(shape) - np.log(marg).reshape([kc] + [1] * len(groups))
        log_prior += np.log(marg).reshape([kc] + [1] * len(groups))
        prior = np.exp(log_prior - log_prior.max(axis=0, keepdims=True))
        prior = (prior / prior.sum(axis=0, keepdims=True)).reshape(kc, -1)
    return (joint + alpha * prior) / (joint.sum(axis=0, keepdims=True) + alpha)


class NetworkModel:
    """Ancestral sampling over a Bayesian network: roots from their marginals, each child given its parents."""

    kind = "network"

    def __init__(self, marginals: list[np.ndarray], chosen: list[tuple[int, tuple[int, ...]]],
                 maps: list[list[np.ndarray]], tables: list[np.ndarray]) -> None:
        self.marginals = [np.asarray(m, dtype=float) for m in marginals]
        self.chosen = [(int(c), tuple(int(p) for p in s)) for c, s in chosen]
        self.maps = [[np.asarray(m, dtype=np.int64) for m in ms] for ms in maps]
        self.tables = [np.asarray(t, dtype=float) for t in tables]
        children = {c for c, _ in self.chosen}
        self.order = [v for v in range(len(self.marginals)) if v not in children] + [c for c, _ in self.chosen]
        self.edges = [(p, c) for c, s in self.chosen for p in s]  # for reports: (parent, child)

    def sample(self, n: int, rng: np.random.Generator) -> list[np.ndarray]:
        out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(self.marginals)
        u = rng.random((len(self.marginals), n))
        cdf = {c: np.cumsum(t.T, axis=1) for (c, _), t in zip(self.chosen, self.tables)}  # (parent cells, k)
        plan = {c: (s, m) for (c, s), m in zip(self.chosen, self.maps)}
        for v in self.order:
            if v in plan:
                parents, maps = plan[v]
                cell = parent_cell(maps, [m[out[p]] for p, m in zip(parents, maps)])
                out[v] = draw_given(cdf[v][cell], u[v])
            else:
                out[v] = draw_marginal(self.marginals[v], u[v])
        return out

    def log_prob(self, codes: list[int]) -> float:
        """Log-probability of one row's codes under the model (an attack's view of the released file)."""
        out = 0.0
        plan = {c: (s, m, t) for (c, s), m, t in zip(self.chosen, self.maps, self.tables)}
        for v in self.order:
            if v in plan:
                parents, maps, table = plan[v]
                cell = parent_cell(maps, [int(m[codes[p]]) for p, m in zip(parents, maps)])
                p_v = marginal_prob(table[:, cell], codes[v])
            else:
                p_v = marginal_prob(self.marginals[v], codes[v])
            out += float(np.log(max(p_v, 1e-300)))
        return out

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"kind": self.kind, "chosen": [[c, list(s)] for c, s in self.chosen]}
        for k, m in enumerate(self.marginals):
            state[f"marginal_{k}"] = m
        for k, (t, ms) in enumerate(zip(self.tables, self.maps)):
            state[f"table_{k}"] = t
            for j, m in enumerate(ms):
                state[f"map_{k}_{j}"] = m
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], n_columns: int) -> NetworkModel:
        chosen = [(int(c), tuple(int(p) for p in s)) for c, s in state["chosen"]]
        marginals = [np.asarray(state[f"marginal_{k}"], dtype=float) for k in range(n_columns)]
        tables = [np.asarray(state[f"table_{k}"], dtype=float) for k in range(len(chosen))]
        maps = [[np.asarray(state[f"map_{k}_{j}"], dtype=np.int64) for j in range(len(s))] for k, (_, s) in enumerate(chosen)]
        return cls(marginals, chosen, maps, tables)


def fit_network(
    cols: _Columns, chosen: list[tuple[int, tuple[int, ...]]], noisy: list[np.ndarray], maps: list[list[np.ndarray]],
    variances: list[np.ndarray], n_rows: float, sigma: float,
) -> NetworkModel:
    """The network's marginals and conditionals from the noisy tables (post-processing only).

    Each column's marginal is the inverse-variance average of its own 1-way release and the sums of
    the noisy tables that hold it at full resolution (as child; as the single, uncoarsened parent).
    """
    sums = []
    for (c, s), t, ms in zip(chosen, noisy, maps):
        sums.append((c, t.sum(axis=1), 1.0 / (t.shape[1] * sigma ** 2)))
        if len(s) == 1 and ms[0].size == t.shape[1]:  # an uncoarsened single parent: the table measures it too
            sums.append((s[0], t.sum(axis=0), 1.0 / (t.shape[0] * sigma ** 2)))
    marginals = pool_marginals(cols.marginals, variances, sums, n_rows)
    tables = [conditionals(t, marginals[c], [int(m.max()) + 1 for m in ms], n_rows, sigma)
              for (c, _), t, ms in zip(chosen, noisy, maps)]
    return NetworkModel(marginals, chosen, maps, tables)
