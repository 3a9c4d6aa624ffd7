"""Monte Carlo summaries of a column: mean, spread and quantiles, each with its Monte Carlo error."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import SpecError


@dataclass
class MonteCarloSummary:
    """Estimates from ``n`` draws; ``*_se`` are standard errors, ``quantiles`` map p to (value, low, high)
    where low..high is a 95% confidence interval from order statistics."""

    column: str
    n: int
    missing: int
    mean: float
    mean_se: float
    std: float
    std_se: float
    quantiles: dict[float, tuple[float, float, float]] = field(default_factory=dict)
    probability: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["quantiles"] = {str(k): list(v) for k, v in self.quantiles.items()}
        out["probability"] = {k: list(v) for k, v in self.probability.items()}
        return out

    def __str__(self) -> str:
        lines = [
            f"{self.column}: {self.n:,} draws" + (f" ({self.missing:,} missing, ignored)" if self.missing else ""),
            f"  mean  {self.mean:.6g} ± {1.96 * self.mean_se:.3g} (95%, Monte Carlo standard error {self.mean_se:.3g})",
            f"  std   {self.std:.6g} ± {1.96 * self.std_se:.3g}",
        ]
        for p, (v, lo, hi) in self.quantiles.items():
            lines.append(f"  q{p:<5g} {v:.6g}  [95% CI {lo:.6g} .. {hi:.6g}]")
        for name, (pr, se) in self.probability.items():
            lines.append(f"  P({name}) {pr:.6g} ± {1.96 * se:.3g}")
        return "\n".join(lines)


def summarize(
    values: Any, *, column: str = "value", quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95),
    above: float | None = None,
) -> MonteCarloSummary:
    """Summarise Monte Carlo draws with their errors.

    >>> s = summarize(np.random.default_rng(0).normal(10, 2, 100_000))
    >>> bool(abs(s.mean - 10) < 4 * s.mean_se), round(s.std, 1)
    (True, 2.0)
    """
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(x)
    x = np.sort(x[ok])
    n = len(x)
    if n < 2:
        raise SpecError("a Monte Carlo summary needs at least 2 numeric draws")
    mean, std = float(x.mean()), float(x.std(ddof=1))
    m4 = float(np.mean((x - mean) ** 4))
    std_se = float(np.sqrt(max(m4 - std**4 * (n - 3) / (n - 1), 0) / n) / (2 * std)) if std > 0 else 0.0
    out = MonteCarloSummary(column, n, int((~ok).sum()), mean, std / np.sqrt(n), std, std_se)
    for p in quantiles:
        half = 1.96 * np.sqrt(n * p * (1 - p))
        lo, hi = int(max(0, np.floor(n * p - half))), int(min(n - 1, np.ceil(n * p + half)))
        out.quantiles[p] = (float(np.quantile(x, p)), float(x[lo]), float(x[hi]))
    if above is not None:
        pr = float((x > above).mean())
        out.probability[f"> {above:g}"] = (pr, float(np.sqrt(pr * (1 - pr) / n)))
    return out
