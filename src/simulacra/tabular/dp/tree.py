"""A tree-shaped graphical model over column codes, chosen and measured under zCDP (MST-style).

Structure: Kruskal's algorithm where each edge is picked by the exponential mechanism, scored by how
far the pair's true 2-way table is from the product of its own margins (its dependence).
Measurement: each chosen pair's 2-way table with Gaussian noise. Estimation (post-processing): each
column's marginal combines its 1-way release with the sums of the noisy tables it is in; each noisy
table is projected onto non-negative tables and raked (iterative proportional fitting) to those
marginals, so neighbouring tables agree; on a tree that makes the joint distribution exact, and
sampling is ancestral (root, then each child given its parent), with no iterative inference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.privacy.mechanisms import Mechanisms, project_simplex


def pair_table(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> np.ndarray:
    return np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb)


def dependence(table: np.ndarray) -> float:
    """L1 distance of a 2-way count table from the product of its own margins: sum |T - r c^T / N|.

    Its sensitivity is below 4 (adding a row at (a, b) moves the difference by
    N/(N+1) (e_a - p)(e_b - q)^T, whose L1 norm is at most 2 x 2), against 1 for the distance from
    the *released* 1-way marginals; but that one also counts those marginals' noise, which grows with
    the number of codes and can outweigh every real dependence at small epsilon.

    >>> dependence(np.array([[10, 0], [0, 10]]))
    20.0
    >>> dependence(np.array([[5, 5], [5, 5]]))
    0.0
    """
    t = np.asarray(table, dtype=float)
    total = t.sum()
    if total <= 0:
        return 0.0
    return float(np.abs(t - np.outer(t.sum(axis=1), t.sum(axis=0)) / total).sum())


#: Sensitivity of :func:`dependence` (add or remove one row).
DEPENDENCE_SENSITIVITY = 4.0


def select_tree(
    codes: list[np.ndarray], sizes: list[int], mech: Mechanisms, rho: float, names: list[str],
) -> list[tuple[int, int]]:
    """Edges of a spanning tree, each picked by the exponential mechanism (ρ split evenly).

    A pair's score is :func:`dependence` of its true 2-way table.
    """
    d = len(codes)
    if d < 2:
        return []
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
    scores = np.array([dependence(pair_table(codes[i], codes[j], sizes[i], sizes[j])) for i, j in pairs])
    component = list(range(d))

    def root(x: int) -> int:
        while component[x] != x:
            component[x] = component[component[x]]
            x = component[x]
        return x

    edges: list[tuple[int, int]] = []
    step = rho / (d - 1)
    for _ in range(d - 1):
        open_ = [k for k, (i, j) in enumerate(pairs) if root(i) != root(j)]
        pick = open_[mech.select(scores[open_], step, DEPENDENCE_SENSITIVITY, "tree edge")]
        i, j = pairs[pick]
        component[root(i)] = root(j)
        edges.append((i, j))
    return edges


def rake(table: np.ndarray, rows: np.ndarray, cols: np.ndarray, iters: int = 50) -> np.ndarray:
    """Scale ``table`` until its row and column sums equal ``rows`` and ``cols`` (IPF)."""
    t = table + 1e-9 * max(table.sum(), 1.0) / table.size  # empty rows can still be filled
    for _ in range(iters):
        t *= (rows / np.maximum(t.sum(axis=1), 1e-300))[:, None]
        t *= (cols / np.maximum(t.sum(axis=0), 1e-300))[None, :]
        if np.abs(t.sum(axis=1) - rows).max() < 1e-9:
            break
    return t


def measure_edges(
    codes: list[np.ndarray], sizes: list[int], edges: list[tuple[int, int]], mech: Mechanisms, rho: float,
    names: list[str],
) -> list[np.ndarray]:
    """Each edge's 2-way count table with Gaussian noise (ρ split evenly), as measured."""
    per = rho / max(len(edges), 1)
    return [mech.gaussian_counts(pair_table(codes[i], codes[j], sizes[i], sizes[j]), per,
                                 f"pair {names[i]} × {names[j]}") for i, j in edges]


def combine_marginals(
    marginals: list[np.ndarray], variances: list[np.ndarray], edges: list[tuple[int, int]],
    noisy: list[np.ndarray], pair_variance: float, n_rows: float,
) -> list[np.ndarray]:
    """Each column's marginal from every measurement of it: its own 1-way release and the sums of
    the noisy 2-way tables it is in (see :func:`pool_marginals`).

    A 2-way table's sum over a column of ``k`` codes has noise variance ``k * pair_variance``. A numeric
    column's bin adds up many noisy fine cells, so a small table it shares is often the better estimate of its bins.
    """
    sums = []
    for (i, j), t in zip(edges, noisy):
        sums.append((i, t.sum(axis=1), 1.0 / (t.shape[1] * pair_variance)))
        sums.append((j, t.sum(axis=0), 1.0 / (t.shape[0] * pair_variance)))
    return pool_marginals(marginals, variances, sums, n_rows)


def pool_marginals(
    marginals: list[np.ndarray], variances: list[np.ndarray], sums: list[tuple[int, np.ndarray, float]],
    n_rows: float,
) -> list[np.ndarray]:
    """Each column's released marginal averaged, by inverse variance, with noisy sums of tables that hold it
    at full resolution (post-processing), then made a distribution.

    ``variances`` are the noise variances (in rows²) of ``n_rows * marginals``; ``sums`` holds
    ``(column, noisy counts of its codes, weight)``, the weight one over their noise variance.
    """
    weight = [1.0 / np.maximum(v, 1e-12) for v in variances]
    total = [w * n_rows * m for w, m in zip(weight, marginals)]
    for v, counts, w in sums:
        total[v] = total[v] + w * counts
        weight[v] = weight[v] + w
    out = []
    for m, tw, w in zip(marginals, total, weight):
        counts = project_simplex(tw / w, max(n_rows, 1.0))
        out.append(counts / counts.sum() if counts.sum() > 0 else np.asarray(m, dtype=float))
    return out


def fit_tables(marginals: list[np.ndarray], edges: list[tuple[int, int]], noisy: list[np.ndarray]) -> list[np.ndarray]:
    """Each noisy 2-way table made non-negative and raked to the 1-way marginals, so neighbours agree."""
    out = []
    for (i, j), t in zip(edges, noisy):
        joint = project_simplex(t, 1.0 * max(t.sum(), 1.0))
        joint = joint / max(joint.sum(), 1e-300)
        out.append(rake(joint, marginals[i], marginals[j]))
    return out


def draw_marginal(marginal: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Codes drawn from an (unnormalised) marginal by inverse CDF, one per uniform in ``u``."""
    cum = np.cumsum(marginal)
    return np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), cum.size - 1)


def draw_given(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Codes drawn from each row's conditional CDF (``cum``: rows × codes, unnormalised), one per
    uniform in ``u``."""
    idx = (cum < (u * cum[:, -1])[:, None]).sum(axis=1)
    return np.minimum(idx, cum.shape[1] - 1)


def marginal_prob(marginal: np.ndarray, code: int) -> float:
    """The probability of ``code`` under an (unnormalised) marginal."""
    return float(marginal[code] / marginal.sum())


class TreeModel:
    """Ancestral sampling over a tree of columns: the root's marginal, then each child given its parent."""

    def __init__(self, marginals: list[np.ndarray], edges: list[tuple[int, int]], tables: list[np.ndarray]) -> None:
        self.marginals = [np.asarray(m, dtype=float) for m in marginals]
        self.edges = [(int(i), int(j)) for i, j in edges]
        self.tables = [np.asarray(t, dtype=float) for t in tables]
        self.order, self.parent, self.conditional = self._orient()

    def _orient(self) -> tuple[list[int], dict[int, int], dict[int, np.ndarray]]:
        d = len(self.marginals)
        links: dict[int, list[tuple[int, np.ndarray]]] = {v: [] for v in range(d)}
        for (i, j), t in zip(self.edges, self.tables):
            links[i].append((j, t))
            links[j].append((i, t.T))
        order, parent, cond, seen = [], {}, {}, set()
        for start in range(d):  # a forest when columns are left unconnected
            if start in seen:
                continue
            seen.add(start)
            queue = [start]
            while queue:
                v = queue.pop(0)
                order.append(v)
                for w, t in links[v]:  # t: rows are v's codes, columns w's
                    if w in seen:
                        continue
                    seen.add(w)
                    parent[w] = v
                    rows = t.sum(axis=1, keepdims=True)
                    c = np.where(rows > 0, t / np.maximum(rows, 1e-300), self.marginals[w][None, :])
                    cond[w] = np.cumsum(c, axis=1)
                    queue.append(w)
        return order, parent, cond

    def sample(self, n: int, rng: np.random.Generator) -> list[np.ndarray]:
        out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(self.marginals)
        u = rng.random((len(self.marginals), n))
        for v in self.order:
            if v in self.parent:
                out[v] = draw_given(self.conditional[v][out[self.parent[v]]], u[v])
            else:
                out[v] = draw_marginal(self.marginals[v], u[v])
        return out

    def log_prob(self, codes: list[int]) -> float:
        """Log-probability of one row's codes under the model (an attack's view of the released file)."""
        out = 0.0
        for v in self.order:
            if v in self.parent:
                cum = self.conditional[v][codes[self.parent[v]]]
                p = np.diff(np.concatenate([[0.0], cum]))[codes[v]] / cum[-1]
            else:
                p = marginal_prob(self.marginals[v], codes[v])
            out += float(np.log(max(p, 1e-300)))
        return out

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"edges": [list(e) for e in self.edges]}
        for k, m in enumerate(self.marginals):
            state[f"marginal_{k}"] = m
        for k, t in enumerate(self.tables):
            state[f"table_{k}"] = t
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], n_columns: int) -> TreeModel:
        edges = [(int(a), int(b)) for a, b in state["edges"]]
        marginals = [np.asarray(state[f"marginal_{k}"], dtype=float) for k in range(n_columns)]
        tables = [np.asarray(state[f"table_{k}"], dtype=float) for k in range(len(edges))]
        return cls(marginals, edges, tables)
