"""The privacy accountant: (ε, δ) to a zCDP budget ρ and back, and the split of ρ between steps.

The conversion is OpenDP's (``make_zCDP_to_approxDP``: the tight privacy profile of a ρ-zCDP
mechanism), so the ρ spent here is the largest that still gives the ε the user asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from simulacra.errors import InputError, require


def _opendp() -> Any:
    dp: Any = require("opendp.prelude", "privacy", "differentially private models")
    dp.enable_features("contrib")
    return dp


@lru_cache(maxsize=256)
def epsilon_for_rho(rho: float, delta: float) -> float:
    """The ε of a ρ-zCDP mechanism at ``delta`` (OpenDP's conversion).

    >>> round(epsilon_for_rho(0.5, 1e-6), 3) < 0.5 + 2 * (0.5 * math.log(1e6)) ** 0.5
    True
    """
    if rho <= 0:
        return 0.0
    dp = _opendp()
    scale = 1.0 / math.sqrt(2.0 * rho)  # a Gaussian of this scale on a sensitivity-1 query is ρ-zCDP
    meas = dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale)
    profile = dp.c.make_zCDP_to_approxDP(meas).map(1.0)
    return float(profile.epsilon(delta))


@lru_cache(maxsize=256)
def rho_for_epsilon(epsilon: float, delta: float) -> float:
    """The largest ρ whose zCDP guarantee converts to (``epsilon``, ``delta``)-DP.

    >>> rho = rho_for_epsilon(1.0, 1e-6)
    >>> 0.015 < rho < 0.03 and epsilon_for_rho(rho, 1e-6) <= 1.0
    True
    """
    lo, hi = 0.0, max(epsilon, 1.0)  # ε(ρ) >= ρ, so ρ = ε is always too much
    for _ in range(60):
        mid = (lo + hi) / 2
        if epsilon_for_rho(mid, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
    return lo


#: Shares of ρ for each step of a marginal-based DP synthesizer (they sum to 1).
DEFAULT_SHARES: dict[str, float] = {"rows": 0.02, "ranges": 0.06, "one_way": 0.27, "selection": 0.10, "pairs": 0.55}


@dataclass
class Budget:
    """A privacy budget (ε, δ), the zCDP ρ it buys, and how ρ is split between steps.

    ``delta_threshold`` is the part of δ kept for releasing category names above a noisy threshold
    (the one step that is not pure zCDP); the rest of δ converts ρ to ε.
    """

    epsilon: float
    delta: float
    delta_threshold: float = 0.0
    shares: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SHARES))

    @property
    def rho(self) -> float:
        return rho_for_epsilon(self.epsilon, self.delta - self.delta_threshold)

    def part(self, step: str) -> float:
        """The ρ of one step."""
        return self.rho * self.shares.get(step, 0.0)

    def as_dict(self) -> dict[str, Any]:
        """JSON form, for the model file and ``simulacra inspect``."""
        rho = self.rho
        return {
            "epsilon": self.epsilon, "delta": self.delta, "rho": rho, "delta_threshold": self.delta_threshold,
            "split": {step: {"share": share, "rho": rho * share} for step, share in self.shares.items()},
        }


def check_budget(epsilon: Any, delta: Any, n_rows: int) -> tuple[float, float]:
    """Validate ε and δ for a table of ``n_rows`` rows; returns them as floats."""
    try:
        eps, dlt = float(epsilon), float(delta)
    except (TypeError, ValueError):
        raise InputError(f"epsilon and delta must be numbers, got epsilon={epsilon!r}, delta={delta!r}") from None
    if not math.isfinite(eps) or eps <= 0:
        raise InputError(f"epsilon must be a positive number (e.g. 1.0), got {epsilon!r}; smaller is more private.")
    if eps > 100:
        raise InputError(f"epsilon={eps:g} gives no meaningful protection; use a value of at most 100 (typically 0.1 to 10).")
    if not math.isfinite(dlt) or dlt <= 0:
        raise InputError(f"delta must be a positive number well below 1/n, got {delta!r}; e.g. 1e-6.")
    if n_rows > 0 and dlt >= 1.0 / n_rows:
        raise InputError(
            f"delta={dlt:g} is not below 1/n = {1.0 / n_rows:.3g} for {n_rows:,} rows: a mechanism could then "
            f"publish a whole row; use delta <= {1.0 / n_rows ** 2:.1e} (1/n²) or smaller."
        )
    return eps, dlt
