"""Normal scores of a table (one per column, plus one per column with missing values) and back.

Shared by the mixture model and by imputation: each column goes through its own empirical
distribution to a standard normal score (randomized for ties, so categories map exactly), and back
through the quantile function, so decoded values are always valid values of the column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from simulacra.transform import DiscreteMarginal, EmpiricalMarginal, TableTransformer

_CLIP = 1e-9
Dim = tuple[str, str]


def fit_scores(
    transformer: TableTransformer, data: pd.DataFrame, rng: np.random.Generator
) -> tuple[list[Dim], dict[str, Any], np.ndarray]:
    """Dimensions, marginals and the normal scores of ``data`` (NaN where a value is missing)."""
    marginals: dict[str, Any] = {}
    dims: list[Dim] = []
    scores: list[np.ndarray] = []
    for name, enc in transformer.encoders.items():
        if enc.representation == "generated":
            continue
        x = enc.encode(data[name])
        if enc.representation == "continuous":
            marginal: Any = EmpiricalMarginal(min_count=getattr(enc, "min_count", 1)).fit(x)
            u = marginal.to_uniform(x, rng)
            marginal.release_data()
        else:
            marginal = DiscreteMarginal(enc.stats_["probabilities"])  # type: ignore[attr-defined]
            u = marginal.to_uniform(x, rng)
        marginals[name] = marginal
        missing = np.isnan(u)
        if not missing.all():
            dims.append((name, "value"))
            scores.append(ndtri(u))
        rate = float(missing.mean()) if missing.size else 0.0
        if 0.0 < rate < 1.0:
            um = np.where(missing, rng.random(missing.size) * rate, rate + rng.random(missing.size) * (1 - rate))
            dims.append((name, "missing"))
            scores.append(ndtri(np.clip(um, _CLIP, 1 - _CLIP)))
    z = np.column_stack(scores) if scores else np.zeros((len(data), 0))
    return dims, marginals, z


def observed_scores(
    transformer: TableTransformer, marginals: dict[str, Any], dims: list[Dim], data: pd.DataFrame,
    rng: np.random.Generator,
) -> np.ndarray:
    """Value scores of ``data`` for a fitted model (NaN where missing); missing-dimensions are NaN."""
    z = np.full((len(data), len(dims)), np.nan)
    for j, (name, part) in enumerate(dims):
        if part != "value":
            continue
        enc, marginal = transformer.encoders[name], marginals[name]
        x = enc.encode(data[name])
        if isinstance(marginal, DiscreteMarginal):
            ok = np.asarray(x) >= 0
            c = np.minimum(np.where(ok, x, 0), marginal.probabilities.size - 1).astype(np.int64)
            lo, hi = marginal.lower[c], marginal.upper[c]
        else:
            x = np.asarray(x, dtype=float)
            ok = np.isfinite(x)
            lo, hi = _cdf_interval(marginal, np.where(ok, x, 0.0))
        u = lo + rng.random(len(x)) * (hi - lo)
        z[:, j] = np.where(ok, ndtri(np.clip(u, _CLIP, 1 - _CLIP)), np.nan)
    return z


def _cdf_interval(m: EmpiricalMarginal, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if m.continuous_:
        p = np.interp(x, m.values_, m.cdf_)
        return p, p
    idx = np.clip(np.searchsorted(m.values_, x, side="left"), 0, m.values_.size - 1)
    upper = m.cdf_[idx]
    lower = np.where(idx > 0, m.cdf_[np.maximum(idx - 1, 0)], 0.0)
    return lower, upper


def decode_scores(
    transformer: TableTransformer, marginals: dict[str, Any], dims: list[Dim], z: np.ndarray,
    rng: np.random.Generator, first_row: int,
) -> pd.DataFrame:
    """Rows of the table from normal scores ``z`` (one column per dimension)."""
    n = len(z)
    u = np.clip(ndtr(z), _CLIP, 1 - _CLIP)
    index = {dim: i for i, dim in enumerate(dims)}
    out: dict[str, pd.Series] = {}
    for name, enc in transformer.encoders.items():
        if enc.representation == "generated":
            out[name] = enc.generate(first_row, n, rng)
            continue
        empty = np.nan if enc.representation == "continuous" else -1
        values: np.ndarray = (
            marginals[name].from_uniform(u[:, index[name, "value"]]) if (name, "value") in index else np.full(n, empty)
        )
        if (name, "missing") in index:
            values = np.where(u[:, index[name, "missing"]] < enc.missing_rate, empty, values)
        out[name] = enc.decode(values, rng)
    return pd.DataFrame(out)


def marginals_state(marginals: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"type": "empirical", **m.get_state()} if isinstance(m, EmpiricalMarginal)
        else {"type": "discrete", "probabilities": m.probabilities}
        for name, m in marginals.items()
    }


def marginals_from_state(state: dict[str, Any]) -> dict[str, Any]:
    return {
        name: EmpiricalMarginal.from_state(m) if m["type"] == "empirical" else DiscreteMarginal(m["probabilities"])
        for name, m in state.items()
    }
