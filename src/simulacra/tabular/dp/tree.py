"""A tree-shaped graphical model over column codes, chosen and measured under zCDP (MST-style).

Structure: Kruskal's algorithm where each edge is picked by the exponential mechanism, scored by how
far the pair's true 2-way table is from what the (noisy) 1-way marginals predict (McKenna et al.
2021). Measurement: each chosen pair's 2-way table with Gaussian noise. Estimation: each noisy table
is projected onto non-negative tables and raked (iterative proportional fitting) to the released
1-way marginals, so neighbouring tables agree; on a tree that makes the joint distribution exact,
and sampling is ancestral (root, then each child given its parent), with no iterative inference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulacra.privacy.mechanisms import Mechanisms, project_simplex


def pair_table(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> np.ndarray:
    return np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb)


def select_tree(
    codes: list[np.ndarray], marginals: list[np.ndarray], n_rows: float, mech: Mechanisms, rho: float,
    names: list[str],
) -> list[tuple[int, int]]:
    """Edges of a spanning tree, each picked by the exponential mechanism (ρ split evenly)."""
    d = len(codes)
    if d < 2:
        return []
    sizes = [m.size for m in marginals]
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
    scores = np.empty(len(pairs))
    for k, (i, j) in enumerate(pairs):
        true = pair_table(codes[i], codes[j], sizes[i], sizes[j])
        scores[k] = np.abs(true - n_rows * np.outer(marginals[i], marginals[j])).sum()
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
        # adding or removing a row moves one cell of the true table by one: the L1 score moves by at most 1
        pick = open_[mech.select(scores[open_], step, 1.0, "tree edge")]
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
    codes: list[np.ndarray], marginals: list[np.ndarray], edges: list[tuple[int, int]], mech: Mechanisms,
    rho: float, names: list[str],
) -> list[np.ndarray]:
    """Each edge's 2-way table: noisy, made non-negative, raked to the released 1-way marginals."""
    out = []
    per = rho / max(len(edges), 1)
    for i, j in edges:
        ki, kj = marginals[i].size, marginals[j].size
        true = pair_table(codes[i], codes[j], ki, kj)
        noisy = mech.gaussian_counts(true, per, f"pair {names[i]} × {names[j]}")
        joint = project_simplex(noisy, 1.0 * max(noisy.sum(), 1.0))
        joint = joint / max(joint.sum(), 1e-300)
        out.append(rake(joint, marginals[i], marginals[j]))
    return out


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
            if v not in self.parent:
                cum = np.cumsum(self.marginals[v])
                out[v] = np.minimum(np.searchsorted(cum, u[v] * cum[-1], side="right"), cum.size - 1)
                continue
            cum = self.conditional[v][out[self.parent[v]]]  # (n, k): each row's conditional CDF
            idx = (cum < (u[v] * cum[:, -1])[:, None]).sum(axis=1)
            out[v] = np.minimum(idx, cum.shape[1] - 1)
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
