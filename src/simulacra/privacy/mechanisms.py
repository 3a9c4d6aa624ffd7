"""The noise of DP measurements: Gaussian counts, exponential-mechanism selection, noisy thresholds.

Every call takes its share ρ of the budget, adds it to a ledger, and returns noisy values only. With
``secure=True`` Gaussian counts come from OpenDP's exact discrete Gaussian sampler and selections from
OpenDP's noisy max (its own cryptographic randomness, so a fit is not repeatable); otherwise both from a
seeded numpy Generator, which makes a seeded fit repeatable (tests, experiments) but uses floating-point
noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulacra.privacy.accounting import _opendp


def gaussian_sigma(rho: float, sensitivity: float = 1.0) -> float:
    """Standard deviation of the Gaussian noise that makes a query of this L2 sensitivity ρ-zCDP."""
    return sensitivity / math.sqrt(2.0 * rho)


@dataclass
class Mechanisms:
    """The mechanisms of one fit, with a ledger of the ρ each step spent.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of selection and count noise when ``secure`` is False.
    secure : bool
        Draw count noise with OpenDP's discrete Gaussian sampler and selections with OpenDP's noisy max.
    """

    rng: np.random.Generator
    secure: bool = False
    ledger: list[dict[str, Any]] = field(default_factory=list)

    def spent(self) -> float:
        """Total ρ spent so far."""
        return float(sum(entry["rho"] for entry in self.ledger))

    def _record(self, step: str, rho: float, **info: Any) -> None:
        self.ledger.append({"step": step, "rho": float(rho), **info})

    def gaussian_counts(self, counts: np.ndarray, rho: float, step: str, sensitivity: float = 1.0) -> np.ndarray:
        """``counts`` plus Gaussian noise, ρ-zCDP. ``sensitivity`` is the L2 change one row can make:
        1 for a histogram (one row changes one cell by 1), √m for m counts that one row may all change by 1."""
        sigma = gaussian_sigma(rho, sensitivity)
        flat = np.asarray(counts, dtype=np.int64).ravel()
        if self.secure:
            dp = _opendp()
            meas = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int), scale=sigma)
            noisy = np.asarray(meas([int(v) for v in flat]), dtype=float)
        else:
            noisy = flat + self.rng.normal(0.0, sigma, size=flat.size)
        extra = {"sensitivity": float(sensitivity)} if sensitivity != 1.0 else {}
        self._record(step, rho, sigma=sigma, cells=int(flat.size), **extra)
        return noisy.reshape(np.shape(counts))

    def select(self, scores: np.ndarray, rho: float, sensitivity: float, step: str) -> int:
        """Index of one candidate by the exponential mechanism (Gumbel-max), ρ-zCDP.

        The exponential mechanism with parameter ε is ε²/8-zCDP (bounded range, Cesar & Rogers
        2021), so ε = sqrt(8ρ); scores of the given sensitivity are weighted by ε / (2·sensitivity).
        """
        eps = math.sqrt(8.0 * rho)
        values = np.asarray(scores, dtype=float)
        self._record(step, rho, epsilon=eps, candidates=int(values.size))
        if self.secure:  # OpenDP's noisy max with Gumbel noise of scale 2·sensitivity/ε: the same mechanism, exact sampling
            dp = _opendp()
            meas = dp.m.make_noisy_max(dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.linf_distance(T=float),
                                       dp.zero_concentrated_divergence(), scale=2.0 * sensitivity / eps)
            cost = meas.map(float(sensitivity))
            if cost > rho * (1.0 + 1e-9):  # OpenDP's own accounting must agree with ours
                raise RuntimeError(f"{step}: OpenDP's noisy max costs {cost} > ρ = {rho}")
            return int(meas([float(v) for v in values]))
        logits = eps / (2.0 * sensitivity) * values
        return int(np.argmax(logits + self.rng.gumbel(size=logits.size)))


def threshold_for(sigma: float, delta: float, n_queries: int) -> float:
    """A noisy-count threshold that a count of 1 passes with probability at most ``delta / n_queries``.

    The sub-Gaussian tail bound P[Z > t] <= exp(-t²/2σ²) holds for the continuous and the discrete
    Gaussian alike.
    """
    return 1.0 + sigma * math.sqrt(2.0 * math.log(max(n_queries, 1) / delta))


def project_simplex(values: np.ndarray, total: float) -> np.ndarray:
    """The nearest (Euclidean) non-negative vector summing to ``total``: a denoiser for noisy histograms.

    >>> project_simplex(np.array([5.0, -1.0, 2.0]), 6.0).tolist()
    [4.5, 0.0, 1.5]
    """
    v = np.asarray(values, dtype=float).ravel()
    if total <= 0 or v.size == 0:
        return np.zeros_like(v)
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - total
    idx = np.arange(1, v.size + 1)
    cond = u - css / idx > 0
    k = int(idx[cond][-1]) if cond.any() else v.size
    theta = css[k - 1] / k
    return np.maximum(v - theta, 0.0).reshape(np.shape(values))
