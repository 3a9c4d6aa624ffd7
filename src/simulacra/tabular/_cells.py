"""Cells of a numeric column: a discretization that can be sampled back to new values.

A numeric column is cut into *cells* in rank space (``u`` in [0, 1], the empirical CDF). A model
predicts the cell; the value is then drawn inside the cell from the column's own quantile function,
so the marginal distribution is kept exactly while no value has to be copied from a training row.

Columns with few distinct values (each repeated often) get one cell per value; other columns get
``n_bins`` equal-probability cells, with every value that holds more than one cell's worth of
probability (a point mass such as the zeros of ``capital-gain``) kept as a cell of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Knots of the stored quantile function of a continuous column (at most; fewer on small tables).
N_KNOTS = 1001
#: A column is cut per value only if each value repeats this many times on average...
MIN_REPEATS = 5
#: ...and has at most this many distinct values (codes such as zip codes stay exact values).
MAX_LEVELS = 256
#: A continuous cell spanning more than this many typical cell widths is split...
TAIL_WIDTH = 4.0
#: ...as long as each part keeps this many training rows (or 4 × the privacy floor, if larger).
MIN_CELL_ROWS = 20


class NumericCells:
    """Quantile function and cells of one numeric column (missing values excluded).

    Parameters
    ----------
    n_bins : int
        Number of equal-probability cells of a continuous column. A column with at most
        ``max(n_bins, 256)`` distinct values, each repeated ``MIN_REPEATS`` times on average, is cut
        per value instead.
    min_count : int
        Privacy floor: values seen fewer times are never reproduced verbatim (a rare level of a
        discrete column is merged into its nearest frequent neighbour; the quantile function of a
        continuous column is clipped to the ``min_count``-th smallest and largest values).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> cells = NumericCells(n_bins=8, min_count=2).fit(rng.normal(size=1000))
    >>> u = cells.to_uniform(np.array([0.0]), rng)
    >>> int(cells.cell_of(u)[0]) in range(cells.n_cells)
    True
    """

    def __init__(self, n_bins: int = 64, min_count: int = 5) -> None:
        self.n_bins = n_bins
        self.min_count = min_count
        self.values_ = np.zeros(1)  # discrete: the levels; continuous: the quantile knots
        self.cdf_ = np.ones(1)  # cumulative probability at each value / knot
        self.edges_ = np.array([0.0, 1.0])  # cell boundaries in rank space
        self.discrete_ = True

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, x: np.ndarray) -> NumericCells:
        x = np.asarray(x, dtype=float)
        x = np.sort(x[np.isfinite(x)])
        if x.size == 0:
            return self
        uniq, counts = np.unique(x, return_counts=True)
        k = max(int(self.min_count), 1)
        if uniq.size <= max(self.n_bins, MAX_LEVELS) and x.size >= MIN_REPEATS * uniq.size:
            keep = counts >= k
            if not keep.any():
                keep = counts == counts.max()
            kept = uniq[keep]
            # rare levels join their nearest frequent level
            nearest = np.abs(uniq[:, None] - kept[None, :]).argmin(axis=1)
            merged = np.bincount(nearest, weights=counts, minlength=kept.size)
            self.values_ = kept
            self.cdf_ = np.cumsum(merged) / merged.sum()
            self.cdf_[-1] = 1.0
            self.edges_ = np.concatenate([[0.0], self.cdf_])
            self.discrete_ = True
            return self
        self.discrete_ = False
        # each knot spans at least ``min_count`` training values: on a small table the knots would
        # otherwise be the training values themselves, and new values would crowd around them
        levels = np.linspace(0.0, 1.0, int(np.clip(x.size // k, 2, N_KNOTS)))
        knots = np.quantile(x, levels)
        lo, hi = x[min(k - 1, x.size - 1)], x[max(x.size - k, 0)]
        self.values_ = np.clip(knots, lo, hi)
        self.cdf_ = levels
        self.edges_ = self._continuous_edges(x, uniq, counts)
        return self

    def _continuous_edges(self, x: np.ndarray, uniq: np.ndarray, counts: np.ndarray) -> np.ndarray:
        n = x.size
        width = 1.0 / self.n_bins
        edges = list(np.linspace(0.0, 1.0, self.n_bins + 1))
        masses = []
        for v in uniq[counts > width * n]:
            a = np.searchsorted(x, v, side="left") / n
            b = np.searchsorted(x, v, side="right") / n
            masses.append((a, b))
        if masses:
            inside = np.zeros(len(edges), dtype=bool)
            arr = np.asarray(edges)
            for a, b in masses:
                # drop grid edges inside a point mass or too close to its ends
                inside |= (arr > a - width / 4) & (arr < b + width / 4)
            arr = np.concatenate([arr[~inside], [a for a, _ in masses], [b for _, b in masses], [0.0, 1.0]])
            edges = list(arr)
        edges_arr = np.unique(np.clip(np.asarray(edges, dtype=float), 0.0, 1.0))
        return self._refine_tails(x, edges_arr)

    def _refine_tails(self, x: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """Split cells much wider in value than a typical cell (the tails of a skewed column).

        Equal-probability cells are wide in value where the density is thin: the top cell of a price
        column can span millions. A model that predicts that cell then cannot tell a large house from
        a mansion. Such cells are halved (in rank) while they span more than ``TAIL_WIDTH`` typical
        cell widths and each half keeps at least ``MIN_CELL_ROWS`` rows.
        """
        n = x.size
        min_rows = max(MIN_CELL_ROWS, 4 * int(self.min_count))
        for _ in range(12):
            q = x[np.clip((edges * n).astype(np.int64), 0, n - 1)]
            width = np.diff(q)
            positive = width[width > 0]
            if positive.size == 0:
                break
            typical = float(np.median(positive))
            rows = np.diff(edges) * n
            split = (width > TAIL_WIDTH * typical) & (rows >= 2 * min_rows)
            if not split.any():
                break
            mids = (edges[:-1][split] + edges[1:][split]) / 2
            edges = np.unique(np.concatenate([edges, mids]))
        return edges

    # -- mapping -----------------------------------------------------------------------------
    @property
    def n_cells(self) -> int:
        return int(self.edges_.size - 1)

    def to_uniform(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Randomized rank of each value in [0, 1] (ties spread over their mass; NaN stays NaN)."""
        x = np.asarray(x, dtype=float)
        out = np.full(x.shape, np.nan)
        ok = np.isfinite(x)
        xv = x[ok]
        if self.discrete_:
            idx = np.searchsorted(self.values_, xv)
            idx = np.clip(idx, 1, max(self.values_.size - 1, 1))
            if self.values_.size > 1:
                left_closer = np.abs(xv - self.values_[idx - 1]) <= np.abs(self.values_[idx] - xv)
                idx = np.where(left_closer, idx - 1, idx)
            else:
                idx = np.zeros(xv.size, dtype=int)
            lo, hi = self.edges_[idx], self.edges_[idx + 1]
        else:
            first = np.searchsorted(self.values_, xv, side="left")
            last = np.searchsorted(self.values_, xv, side="right") - 1
            mass = last > first
            lo = np.interp(xv, self.values_, self.cdf_)
            hi = lo.copy()
            lo[mass] = self.cdf_[first[mass]]
            hi[mass] = self.cdf_[last[mass]]
        out[ok] = lo + rng.random(xv.size) * (hi - lo)
        return np.clip(out, 0.0, 1.0)

    def cell_of(self, u: np.ndarray) -> np.ndarray:
        """The cell holding each rank (NaN gives -1)."""
        u = np.asarray(u, dtype=float)
        cell = np.searchsorted(self.edges_, u, side="right") - 1
        cell = np.clip(cell, 0, self.n_cells - 1)
        return np.where(np.isfinite(u), cell, -1)

    def draw_in_cell(self, cell: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniform rank inside each cell."""
        lo, hi = self.edges_[cell], self.edges_[cell + 1]
        return lo + rng.random(cell.size) * (hi - lo)

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        """Values at ranks ``u`` (the quantile function)."""
        if self.discrete_:
            idx = np.searchsorted(self.cdf_, u, side="left")
            return self.values_[np.minimum(idx, self.values_.size - 1)]
        return np.interp(u, self.cdf_, self.values_)

    def rank_of(self, x: np.ndarray) -> np.ndarray:
        """The rank of each value of a continuous column (its CDF; 0 below and 1 above the range)."""
        return np.interp(np.asarray(x, dtype=float), self.values_, self.cdf_, left=0.0, right=1.0)

    def rank_interval(self, value: float) -> tuple[float, float] | None:
        """The ranks that give ``value``, or None when the column never has that value."""
        if self.discrete_:
            hit = np.flatnonzero(np.isclose(self.values_, value))
            return (float(self.edges_[hit[0]]), float(self.edges_[hit[0] + 1])) if hit.size else None
        if value < self.values_[0] or value > self.values_[-1]:
            return None
        first = int(np.searchsorted(self.values_, value, side="left"))
        last = int(np.searchsorted(self.values_, value, side="right")) - 1
        if last > first:
            return (float(self.cdf_[first]), float(self.cdf_[last]))
        p = float(np.interp(value, self.values_, self.cdf_))
        return (p, p)

    # -- persistence -------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"kind": "cells", "values": self.values_, "cdf": self.cdf_, "edges": self.edges_,
                "discrete": self.discrete_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NumericCells:
        obj = cls()
        obj.values_ = np.asarray(state["values"], dtype=float)
        obj.cdf_ = np.asarray(state["cdf"], dtype=float)
        obj.edges_ = np.asarray(state["edges"], dtype=float)
        obj.discrete_ = bool(state["discrete"])
        return obj
