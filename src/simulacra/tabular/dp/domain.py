"""Column domains learned under differential privacy: numeric grids and categories.

Each column becomes a small set of codes that the graphical model learns:

- a numeric column (numbers, datetimes and durations as seconds) gets a *range* from a noisy
  histogram over powers of two (or the user's public bounds), a *fine grid* of cells placed where
  that histogram has mass, a noisy histogram on the fine grid (its shape, used to sample values
  inside a bin), and *coarse bins* at the noisy quantiles of that histogram (the model's codes);
- a categorical column keeps the labels whose noisy count clears a threshold that a single row
  passes with probability below δ (or the user's public categories, all kept); the others share
  one code, sampled as ``<rare>``.

Missing values are one more code. Only noisy quantities (and the public declarations) are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulacra.privacy.mechanisms import Mechanisms, gaussian_sigma, project_simplex, threshold_for

#: Edges of the range histogram: 0 and ±2^k for k = -8..62 (143 buckets covering every float64 in use).
_POW = 2.0 ** np.arange(-8, 63)
LOG_EDGES = np.concatenate([-_POW[::-1], [0.0], _POW])


def _native(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class NumericDomain:
    """A numeric column's released domain: fine cells, their noisy probabilities, coarse bins."""

    edges: np.ndarray  # fine cell edges (len = cells + 1)
    probs: np.ndarray  # noisy probabilities of the fine cells, then of "missing" (len = cells + 1)
    bounds: np.ndarray  # coarse bins as fine-cell index boundaries (len = bins + 1)
    integer: bool
    missing: bool
    public: bool = False
    clipped: int = field(default=0, compare=False)  # rows moved into the public bounds (never saved)

    @property
    def n_codes(self) -> int:
        return len(self.bounds) - 1 + int(self.missing)

    def fine_cells(self, values: np.ndarray) -> np.ndarray:
        """Fine cell of each value (NaN: the missing cell); values outside the range go to the end cells."""
        cells = np.searchsorted(self.edges, values, side="right") - 1
        cells = np.clip(cells, 0, len(self.edges) - 2)
        return np.where(np.isnan(values), len(self.edges) - 1, cells)

    def codes(self, values: np.ndarray) -> np.ndarray:
        """Coarse code of each value; missing values get the missing code, or (when missingness was
        not released) the most likely bin."""
        cells = self.fine_cells(values)
        coarse = np.searchsorted(self.bounds, cells, side="right") - 1
        miss = len(self.bounds) - 1 if self.missing else int(np.argmax(self.marginal()))
        return np.where(np.isnan(values), miss, coarse).astype(np.int64)

    def marginal(self) -> np.ndarray:
        """Probabilities of the coarse codes (bins, then missing if kept)."""
        cells = self.probs[:-1]
        out = np.add.reduceat(cells, self.bounds[:-1]) if cells.size else np.zeros(0)
        if self.missing:
            out = np.append(out, self.probs[-1])
        total = out.sum()
        return out / total if total > 0 else np.full(out.size, 1.0 / max(out.size, 1))

    def code_variance(self, cell_variance: float) -> np.ndarray:
        """Noise variance (rows²) of each code's count in :meth:`marginal`: a bin sums its fine cells."""
        out = np.diff(self.bounds).astype(float) * cell_variance
        return np.append(out, cell_variance) if self.missing else out

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values for coarse codes: a fine cell by its noisy probability, then a point inside it."""
        out = np.full(codes.size, np.nan)
        cells = self.probs[:-1]
        for b in range(len(self.bounds) - 1):
            rows = np.flatnonzero(codes == b)
            if rows.size == 0:
                continue
            lo, hi = int(self.bounds[b]), int(self.bounds[b + 1])
            p = cells[lo:hi]
            p = p / p.sum() if p.sum() > 0 else np.full(hi - lo, 1.0 / (hi - lo))
            cell = lo + np.minimum(np.searchsorted(np.cumsum(p), rng.random(rows.size), side="right"), hi - lo - 1)
            left, right = self.edges[cell], self.edges[cell + 1]
            if self.integer:
                out[rows] = left + np.floor(rng.random(rows.size) * (right - left))
            else:
                out[rows] = left + rng.random(rows.size) * (right - left)
        return out

    def get_state(self) -> dict[str, Any]:
        return {"kind": "numeric", "edges": self.edges, "probs": self.probs, "bounds": self.bounds,
                "integer": self.integer, "missing": self.missing, "public": self.public}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NumericDomain:
        return cls(np.asarray(state["edges"], dtype=float), np.asarray(state["probs"], dtype=float),
                   np.asarray(state["bounds"], dtype=np.int64), bool(state["integer"]), bool(state["missing"]),
                   bool(state.get("public", False)))

    def range(self) -> tuple[float, float]:
        hi = self.edges[-1] - (1 if self.integer else 0)
        return float(self.edges[0]), float(hi)


@dataclass
class CategoricalDomain:
    """A categorical column's released domain: kept labels, an "other" code, a missing code."""

    labels: list[Any]
    other: bool
    missing: bool
    public: bool = False
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0))  # noisy counts of the codes

    @property
    def n_codes(self) -> int:
        return len(self.labels) + int(self.other) + int(self.missing)

    def codes(self, series: pd.Series) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.labels)}
        other = len(self.labels) if self.other else int(np.argmax(self.counts[:len(self.labels)])) if self.labels else 0
        miss = len(self.labels) + int(self.other)
        values = series.astype(object).to_numpy()
        isna = pd.isna(series).to_numpy()
        out = np.fromiter((index.get(_native(v), other) for v in values), dtype=np.int64, count=values.size)
        return np.where(isna, miss if self.missing else other, out)

    def marginal(self) -> np.ndarray:
        total = self.counts.sum()
        return self.counts / total if total > 0 else np.full(self.n_codes, 1.0 / max(self.n_codes, 1))

    def code_variance(self, cell_variance: float) -> np.ndarray:
        """Noise variance (rows²) of each code's count: the "other" count is the row count less the kept ones."""
        out = np.full(self.n_codes, cell_variance)
        if self.other:
            out[len(self.labels)] = cell_variance * (len(self.labels) + int(self.missing) + 1)
        return out

    def get_state(self) -> dict[str, Any]:
        return {"kind": "categorical", "labels": list(self.labels), "other": self.other, "missing": self.missing,
                "public": self.public, "counts": self.counts}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CategoricalDomain:
        return cls(list(state["labels"]), bool(state["other"]), bool(state["missing"]), bool(state.get("public")),
                   np.asarray(state["counts"], dtype=float))


def fit_numeric(
    values: np.ndarray, mech: Mechanisms, rho_range: float, rho_shape: float, n_rows: float, *,
    integer: bool, bounds: tuple[float, float] | None, cells: int, bins: int, name: str, zoom: bool = False,
) -> NumericDomain:
    """Release a numeric column's domain: range, fine grid, fine histogram and coarse bins.

    ``zoom`` (dates and durations, whose values sit far from zero in a narrow span) splits the range
    budget: the span the powers-of-two histogram finds is cut into equal parts, a second noisy
    histogram on them narrows the range, and the fine cells are spread evenly over it.
    """
    finite = values[np.isfinite(values)]
    clipped = 0
    if bounds is not None:
        lo, hi = bounds
        clipped = int(((finite < lo) | (finite > hi)).sum())
        finite = np.clip(finite, lo, hi)
        right = math.floor(hi) + 1.0 if integer else hi
        left = math.ceil(lo) if integer else lo
        inner = LOG_EDGES[(LOG_EDGES > left) & (LOG_EDGES < right)]
        edges = np.concatenate([[left], inner, [right]])
    else:
        edges = LOG_EDGES
    zoom = zoom and bounds is None
    rho_first = rho_range / 2 if zoom else rho_range
    noisy = mech.gaussian_counts(np.histogram(finite, edges)[0], rho_first, f"range of {name}")
    if integer:  # buckets holding no whole number carry nothing
        width = np.ceil(edges[1:]) - np.ceil(edges[:-1])
        noisy = np.where(width > 0, noisy, -np.inf)
    if bounds is None:
        # only real mass clears this: all empty buckets stay below it with probability 0.999
        tau = gaussian_sigma(rho_first) * math.sqrt(2 * math.log(len(noisy) / 1e-3))
        keep = np.flatnonzero(noisy > tau)
        first, last = (int(keep[0]), int(keep[-1])) if keep.size else (int(np.argmax(noisy)),) * 2
    else:
        usable = np.flatnonzero(np.isfinite(noisy))
        first, last = int(usable[0]), int(usable[-1])
    mass = np.maximum(noisy[first:last + 1], 0.0)
    mass = np.where(np.isfinite(mass), mass, 0.0)
    if zoom:
        edges = _zoomed_edges(finite, edges[first], edges[last + 1], mech, rho_range / 2, cells, integer, name)
    else:
        edges = _fine_edges(edges[first:last + 2], mass, cells, integer)
    grid = NumericDomain(edges, np.zeros(len(edges)), np.zeros(2, dtype=np.int64), integer, True, bounds is not None,
                         clipped)
    counts = np.bincount(grid.fine_cells(values), minlength=len(edges))
    noisy_cells = mech.gaussian_counts(counts, rho_shape, f"shape of {name}")
    sigma = gaussian_sigma(rho_shape)
    missing = bool(noisy_cells[-1] > 3 * sigma)
    if not missing:
        noisy_cells[-1] = 0.0
    # a level that all the empty cells of a tail stay under with probability 0.95
    lo, hi = _solid_span(noisy_cells[:-1], sigma * math.sqrt(2 * math.log(max(len(edges) - 1, 2) / 0.05)))
    keep = np.zeros(len(noisy_cells), dtype=bool)
    keep[lo:hi] = True
    keep[-1] = missing
    grid.probs = np.zeros(len(noisy_cells))
    grid.probs[keep] = project_simplex(noisy_cells[keep], max(n_rows, 1.0))
    grid.probs /= max(grid.probs.sum(), 1e-12)
    grid.missing = missing
    grid.bounds = _coarse_bounds(grid.probs[:-1], bins)
    return grid


#: Integer columns whose released range holds at most this many whole numbers get one cell per number.
MAX_INTEGER_CELLS = 256


#: Equal parts the powers-of-two span is cut into when a column zooms in (dates, durations).
ZOOM_PARTS = 256


def _zoomed_edges(
    finite: np.ndarray, left: float, right: float, mech: Mechanisms, rho: float, cells: int, integer: bool, name: str,
) -> np.ndarray:
    """Fine cell edges spread evenly over the part of [left, right) where a second noisy histogram is solid."""
    parts = np.linspace(left, right, ZOOM_PARTS + 1)
    if integer:
        parts = np.unique(np.ceil(parts))
    noisy = mech.gaussian_counts(np.histogram(np.clip(finite, parts[0], parts[-1]), parts)[0], rho,
                                 f"range (zoom) of {name}")
    lo, hi = _solid_span(noisy, gaussian_sigma(rho) * math.sqrt(2 * math.log(len(noisy) / 1e-3)))
    out = np.linspace(parts[lo], parts[hi], cells + 1)
    return np.unique(np.ceil(out)) if integer else out


def _solid_span(noisy: np.ndarray, level: float) -> tuple[int, int]:
    """The cells from the first to the last one of a noisy histogram that clear ``level``.

    The cells outside get no mass: noise on the empty cells past the data's extremes would otherwise
    leave a thin spread of values out to the end of the released range.
    """
    solid = np.flatnonzero(noisy >= level)
    return (int(solid[0]), int(solid[-1]) + 1) if solid.size else (0, len(noisy))


def _fine_edges(buckets: np.ndarray, mass: np.ndarray, cells: int, integer: bool) -> np.ndarray:
    """Cells inside the range buckets, more where the noisy mass is (at least one per bucket).

    Integer columns of a short range get one cell per whole number, so no cell straddles values
    that the data never takes (a cell [16, 32) would sample 17..31 for a column whose top value is 16).
    """
    if integer and math.ceil(buckets[-1]) - math.ceil(buckets[0]) <= MAX_INTEGER_CELLS:
        return np.arange(math.ceil(buckets[0]), math.ceil(buckets[-1]) + 1, dtype=float)
    share = mass / mass.sum() if mass.sum() > 0 else np.full(mass.size, 1.0 / mass.size)
    per = np.maximum(1, np.round(share * cells)).astype(int)
    out: list[float] = []
    for (a, b), k in zip(zip(buckets[:-1], buckets[1:]), per):
        if integer:
            a, b = math.ceil(a), math.ceil(b)
            if b <= a:
                continue
            k = min(k, b - a)
            out.extend(np.unique(np.round(np.linspace(a, b, k + 1)[:-1])).tolist())
        else:
            out.extend(np.linspace(a, b, k + 1)[:-1].tolist())
    last = math.ceil(buckets[-1]) if integer else float(buckets[-1])
    if not out:
        out = [last - 1.0]
    return np.asarray([*out, last], dtype=float)


def _coarse_bins_at(cum: np.ndarray, bins: int) -> np.ndarray:
    cuts = np.searchsorted(cum, np.arange(1, bins) / bins, side="left") + 1
    return np.unique(np.concatenate([[0], np.clip(cuts, 1, cum.size - 1), [cum.size]]))


def _coarse_bounds(cells: np.ndarray, bins: int) -> np.ndarray:
    """Coarse bins: runs of fine cells of about equal noisy mass (a point mass is its own bin)."""
    total = cells.sum()
    if cells.size <= bins or total <= 0:
        return np.arange(cells.size + 1)
    return _coarse_bins_at(np.cumsum(cells) / total, bins).astype(np.int64)


def fit_categorical(
    series: pd.Series, mech: Mechanisms, rho: float, *, public: list[Any] | None, delta: float, n_columns: int,
    n_rows: float, name: str,
) -> CategoricalDomain:
    """Release a categorical column's labels and their noisy counts.

    With public labels every label (and "missing") is measured. Otherwise only the labels present are
    measured and a label is kept when its noisy count clears :func:`threshold_for` (a label of one row
    passes with probability below ``delta / n_columns``); the rest share one "other" code whose count
    is the noisy row count minus the kept counts.
    """
    isna = pd.isna(series).to_numpy()
    counts = pd.Series(series[~isna].astype(object).map(_native)).value_counts(sort=False)
    n_missing = int(isna.sum())
    sigma = gaussian_sigma(rho)
    if public is not None:
        labels = list(public)
        true = np.array([int(counts.get(label, 0)) for label in labels] + [n_missing])
        noisy = mech.gaussian_counts(true, rho, f"categories of {name}")
        missing = bool(noisy[-1] > 3 * sigma)
        kept = np.maximum(noisy[:-1], 0.0)
        miss = np.maximum(noisy[-1:], 0.0) if missing else np.zeros(0)
        return CategoricalDomain(labels, False, missing, True, np.concatenate([kept, miss]))
    found = list(counts.index) + ([None] if n_missing else [])
    true = np.append(counts.to_numpy(dtype=np.int64), [n_missing] if n_missing else [])
    noisy = mech.gaussian_counts(true, rho, f"categories of {name}")
    tau = threshold_for(sigma, delta, n_columns)
    keep = noisy > tau
    labels = [found[i] for i in np.flatnonzero(keep) if found[i] is not None]
    order = np.argsort([str(x) for x in labels], kind="stable")
    labels = [labels[i] for i in order]
    kept_counts = {found[i]: noisy[i] for i in np.flatnonzero(keep)}
    missing = None in kept_counts
    other_count = max(n_rows - sum(kept_counts.values()), 0.0)
    other = other_count > 3 * sigma * math.sqrt(max(len(kept_counts), 1)) or not labels
    out = [kept_counts[label] for label in labels]
    if other:
        out.append(other_count)
    if missing:
        out.append(kept_counts[None])
    return CategoricalDomain(labels, bool(other), missing, False, np.asarray(out, dtype=float))


def release_step(
    values: np.ndarray, steps: tuple[float, ...], mech: Mechanisms, rho: float, name: str
) -> float:
    """The resolution of a date or duration column (seconds), released under ρ-zCDP.

    For each candidate step (coarsest first) the number of rows that are not a whole multiple of it
    gets Gaussian noise; one row changes each count by at most 1, so the L2 sensitivity is √(number of
    steps). The coarsest step whose noisy count is below 3σ is kept (0, no rounding, when none is):
    a handful of odd rows among thousands no longer turns whole days into seconds.
    """
    finite = values[np.isfinite(values)]
    off = np.array([np.count_nonzero(np.abs(finite / s - np.round(finite / s)) > 1e-6) for s in steps])
    sensitivity = math.sqrt(len(steps))
    noisy = mech.gaussian_counts(off, rho, f"resolution of {name}", sensitivity=sensitivity)
    level = 3.0 * gaussian_sigma(rho, sensitivity)
    return next((float(s) for s, count in zip(steps, noisy) if count < level), 0.0)
