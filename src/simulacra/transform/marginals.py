"""Univariate distributions with a randomized probability integral transform, for copula models.

``to_uniform`` maps values to (0, 1) so that the result is exactly uniform even for discrete values
(ties are spread uniformly over their probability mass); ``from_uniform`` is the quantile function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Above this many distinct values a numeric column is treated as continuous (interpolated quantiles).
DISCRETE_MAX_VALUES = 256
#: A column is discrete only if its values repeat this many times on average; otherwise every value
#: would be stored (and reproduced) verbatim.
MIN_REPEATS = 5
#: Number of quantile knots kept for a continuous column.
N_KNOTS = 1001
_EPS = 1e-9


class EmpiricalMarginal:
    """The distribution of a numeric column (missing values excluded).

    With ``min_count = k > 1`` no value seen in fewer than ``k`` rows is kept verbatim: a rare level
    of a discrete column joins its nearest frequent level, and each quantile knot of a continuous
    column spans at least ``k`` training values (on a small table the knots would otherwise be the
    training values themselves).

    Examples
    --------
    >>> m = EmpiricalMarginal(min_count=3).fit(np.array([1.0] * 10 + [2.0] * 10 + [7.0]))
    >>> m.values_.tolist(), m.continuous_
    ([1.0, 2.0], False)
    """

    def __init__(self, min_count: int = 1) -> None:
        self.min_count = min_count
        self.values_: np.ndarray = np.zeros(0)
        self.cdf_: np.ndarray = np.zeros(0)
        self.continuous_: bool = False

    def fit(self, x: np.ndarray) -> EmpiricalMarginal:
        x = np.asarray(x, dtype=float)
        x = x[np.isfinite(x)]
        if x.size == 0:
            self.values_, self.cdf_, self.continuous_ = np.zeros(1), np.ones(1), False
            return self
        uniq, counts = np.unique(x, return_counts=True)
        k = max(int(self.min_count), 1)
        if uniq.size <= DISCRETE_MAX_VALUES and x.size >= MIN_REPEATS * uniq.size:
            keep = counts >= k
            if not keep.any():
                keep = counts == counts.max()
            # rare levels join their nearest frequent level
            nearest = _nearest(uniq[keep], uniq)
            merged = np.bincount(nearest, weights=counts, minlength=int(keep.sum()))
            self.values_ = uniq[keep]
            self.cdf_ = np.cumsum(merged) / x.size
            self.cdf_[-1] = 1.0
            self.continuous_ = False
        else:
            probs = np.linspace(0.0, 1.0, int(np.clip(x.size // k, 2, N_KNOTS)))
            self.values_ = np.quantile(x, probs)
            self.cdf_ = probs
            self.continuous_ = True
            self._sorted = np.sort(x)
        return self

    def to_uniform(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Randomized PIT of ``x`` (NaN stays NaN); uses the exact empirical CDF of the fitted data."""
        x = np.asarray(x, dtype=float)
        out = np.full(x.shape, np.nan)
        ok = np.isfinite(x)
        if self.continuous_:
            # the training values while fitting; the quantile knots once they are released
            ref = self.__dict__.get("_sorted", self.values_)
            lo = np.searchsorted(ref, x[ok], side="left") / ref.size
            hi = np.searchsorted(ref, x[ok], side="right") / ref.size
        else:  # the exact step CDF is the summary itself; a rare level counts as its nearest kept level
            below = np.concatenate([[0.0], self.cdf_])
            xv = self.values_[_nearest(self.values_, x[ok])]
            lo = below[np.searchsorted(self.values_, xv, side="left")]
            hi = below[np.searchsorted(self.values_, xv, side="right")]
        out[ok] = lo + rng.random(int(ok.sum())) * (hi - lo)
        return np.clip(out, _EPS, 1 - _EPS)

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        if self.continuous_:
            return np.interp(u, self.cdf_, self.values_)
        idx = np.searchsorted(self.cdf_, u, side="left")
        return self.values_[np.minimum(idx, self.values_.size - 1)]

    def release_data(self) -> None:
        """Forget the training values (only the summary stays)."""
        self.__dict__.pop("_sorted", None)

    def get_state(self) -> dict[str, Any]:
        return {"values": self.values_, "cdf": self.cdf_, "continuous": self.continuous_}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EmpiricalMarginal:
        obj = cls()
        obj.values_ = np.asarray(state["values"], dtype=float)
        obj.cdf_ = np.asarray(state["cdf"], dtype=float)
        obj.continuous_ = bool(state["continuous"])
        return obj


def _nearest(levels: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Index of the nearest of the sorted ``levels`` for each value of ``x`` (ties go to the lower)."""
    idx = np.clip(np.searchsorted(levels, x), 1, max(levels.size - 1, 1))
    if levels.size < 2:
        return np.zeros(x.shape, dtype=np.int64)
    lower_closer = np.abs(x - levels[idx - 1]) <= np.abs(levels[idx] - x)
    return np.where(lower_closer, idx - 1, idx)


class DiscreteMarginal:
    """The distribution of integer codes ``0..K-1`` given their probabilities."""

    def __init__(self, probabilities: np.ndarray | list[float]) -> None:
        p = np.asarray(probabilities, dtype=float)
        if p.size == 0:
            p = np.ones(1)
        self.probabilities = p / p.sum()
        self.upper = np.cumsum(self.probabilities)
        self.upper[-1] = 1.0
        self.lower = np.concatenate([[0.0], self.upper[:-1]])

    def to_uniform(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        codes = np.asarray(codes)
        out = np.full(codes.shape, np.nan)
        ok = codes >= 0
        c = np.minimum(codes[ok], self.probabilities.size - 1)
        out[ok] = self.lower[c] + rng.random(c.size) * self.probabilities[c]
        return np.clip(out, _EPS, 1 - _EPS)

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.upper, u, side="left")
        return np.minimum(idx, self.probabilities.size - 1)

    def interval(self, code: int) -> tuple[float, float]:
        return float(self.lower[code]), float(self.upper[code])
