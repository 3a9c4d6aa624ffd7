"""A Gaussian copula over exact empirical marginals, on numpy and scipy."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from simulacra.errors import ConstraintError
from simulacra.tabular.base import BaseSynthesizer, resolve_seed
from simulacra.tabular.registry import register
from simulacra.transform import DiscreteMarginal, EmpiricalMarginal, TableTransformer
from simulacra.transform.datetime import to_datetimes
from simulacra.transform.numerical import to_numbers

_CLIP = 1e-9


def correlation_with_missing(z: np.ndarray) -> np.ndarray:
    """Pairwise-complete correlation of standard-normal scores (NaN = missing), zero-mean assumed."""
    mask = np.isfinite(z)
    z0 = np.where(mask, z, 0.0)
    m = mask.astype(float)
    cross = z0.T @ z0
    sq = (z0 * z0).T @ m  # sq[i, j] = sum of z_i^2 over rows where j is present too
    denom = np.sqrt(sq * sq.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(denom > 0, cross / denom, 0.0)
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def nearest_correlation(corr: np.ndarray, floor: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """A positive-definite correlation matrix near ``corr`` and its Cholesky factor."""
    corr = (corr + corr.T) / 2.0
    try:
        return corr, np.linalg.cholesky(corr + floor * np.eye(len(corr)))
    except np.linalg.LinAlgError:
        pass
    vals, vecs = np.linalg.eigh(corr)
    fixed = (vecs * np.maximum(vals, floor)) @ vecs.T
    d = np.sqrt(np.diag(fixed))
    fixed = fixed / np.outer(d, d)
    np.fill_diagonal(fixed, 1.0)
    return fixed, np.linalg.cholesky(fixed + floor * np.eye(len(corr)))


@register
class GaussianCopulaSynthesizer(BaseSynthesizer):
    """Gaussian copula with exact empirical marginals.

    Each column is mapped to a standard normal score through its own empirical distribution
    (randomized for ties, so discrete and categorical columns map exactly); missing values get a
    latent dimension of their own, so missingness keeps its relations to the other columns. Sampling
    draws correlated normals and maps them back through each column's quantile function.

    Parameters
    ----------
    metadata : Metadata, dict or path, optional
        Column types; detected from the data when omitted.
    random_state : int, optional
        Seed; the same seed gives the same rows.
    min_category_count : int, default 5
        A category (or word of a text column) seen in fewer rows is never reproduced verbatim.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": range(100), "g": ["a", "b"] * 50})
    >>> rows = GaussianCopulaSynthesizer(random_state=0).fit(df).sample(5)
    >>> list(rows.columns), len(rows)
    (['x', 'g'], 5)
    """

    name = "copula"
    supports_conditions = True
    default_rank = 10

    def __init__(self, *, metadata: Any = None, random_state: int | None = None, min_category_count: int = 5) -> None:
        self.metadata = metadata
        self.random_state = random_state
        self.min_category_count = min_category_count

    # -- fit ---------------------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame) -> None:
        self.transformer_ = TableTransformer(self.metadata_, min_category_count=self.min_category_count).fit(data)
        rng = np.random.default_rng(resolve_seed(self.random_state))
        self.marginals_: dict[str, Any] = {}
        dims: list[tuple[str, str]] = []
        scores: list[np.ndarray] = []
        for name, enc in self.transformer_.encoders.items():
            if enc.representation == "generated":
                continue
            x = enc.encode(data[name])
            if enc.representation == "continuous":
                marginal: Any = EmpiricalMarginal().fit(x)
                u = marginal.to_uniform(x, rng)
                marginal.release_data()
            else:
                marginal = DiscreteMarginal(enc.stats_["probabilities"])
                u = marginal.to_uniform(x, rng)
            self.marginals_[name] = marginal
            missing = np.isnan(u)
            if not missing.all():
                dims.append((name, "value"))
                scores.append(ndtri(u))
            rate = float(missing.mean()) if missing.size else 0.0
            if 0.0 < rate < 1.0:
                um = np.where(missing, rng.random(missing.size) * rate, rate + rng.random(missing.size) * (1 - rate))
                dims.append((name, "missing"))
                scores.append(ndtri(np.clip(um, _CLIP, 1 - _CLIP)))
        self.dims_ = dims
        if scores:
            z = np.column_stack(scores)
            corr = correlation_with_missing(z)
            if len(z) < z.shape[1] + 2:
                corr = 0.5 * corr + 0.5 * np.eye(len(corr))  # shrink when rows are too few to trust it
        else:
            corr = np.zeros((0, 0))
        self.correlation_, self._chol = nearest_correlation(corr) if len(corr) else (corr, corr)

    # -- sample ------------------------------------------------------------------------------
    def _sample_block(
        self, n: int, rng: np.random.Generator, first_row: int, conditions: dict[str, Any] | None
    ) -> pd.DataFrame:
        d = len(self.dims_)
        if conditions:
            z = self._conditional_normals(n, rng, conditions)
        elif d:
            z = rng.standard_normal((n, d)) @ self._chol.T
        else:
            z = np.zeros((n, 0))
        u = np.clip(ndtr(z), _CLIP, 1 - _CLIP)
        index = {dim: i for i, dim in enumerate(self.dims_)}
        out: dict[str, pd.Series] = {}
        for name, enc in self.transformer_.encoders.items():
            if enc.representation == "generated":
                values: np.ndarray = np.arange(first_row, first_row + n)
                col = enc.decode(values, rng)
                rate = enc.missing_rate
                if rate > 0:
                    col = col.astype(object) if col.dtype.kind in "iub" else col
                    col[rng.random(n) < rate] = None
                out[name] = col
                continue
            marginal = self.marginals_[name]
            if (name, "value") in index:
                values = marginal.from_uniform(u[:, index[name, "value"]])
            else:
                values = np.full(n, np.nan if enc.representation == "continuous" else -1)
            if (name, "missing") in index:
                miss = u[:, index[name, "missing"]] < enc.missing_rate
                if enc.representation == "continuous":
                    values = np.where(miss, np.nan, values)
                else:
                    values = np.where(miss, -1, values)
            out[name] = enc.decode(values, rng)
        frame = pd.DataFrame(out)
        if conditions:
            for name, cond in conditions.items():
                if cond.get("value") is not None:
                    frame[name] = pd.Series([cond["value"]] * n, dtype=frame[name].dtype)
        return frame

    def _prepare_conditions(self, conditions: dict[str, Any] | None) -> dict[str, Any] | None:
        conds = super()._prepare_conditions(conditions)
        if not conds:
            return None
        return {name: self._condition_interval(name, value) for name, value in conds.items()}

    def _condition_interval(self, name: str, value: Any) -> dict[str, Any]:
        enc = self.transformer_.encoders[name]
        if enc.representation == "generated":
            raise ConstraintError(f"Cannot condition on '{name}': its values are generated, not learned.")
        is_missing = value is None or (isinstance(value, float) and np.isnan(value))
        out: dict[str, Any] = {"value": None if is_missing else value, "intervals": {}}
        rate = enc.missing_rate
        if is_missing:
            if rate <= 0:
                raise ConstraintError(f"Condition {name}=missing is impossible: '{name}' has no missing values.")
            out["intervals"][(name, "missing")] = (0.0, rate) if rate < 1 else None
            return out
        if rate > 0:
            if rate >= 1:
                raise ConstraintError(f"Condition on '{name}' is impossible: the column is always missing.")
            out["intervals"][(name, "missing")] = (rate, 1.0)
        marginal = self.marginals_[name]
        if enc.representation == "discrete":
            raw = pd.Series([value])
            code = int(enc.encode(raw)[0])
            labels = getattr(enc, "labels", None)
            known = labels is None or _in_labels(value, labels)
            if code < 0 or not known:
                shown = ", ".join(repr(v) for v in (labels or [])[:10])
                raise ConstraintError(
                    f"Condition {name}={value!r} is impossible: the model never learned that value "
                    f"(rare values are protected); known values include: {shown}"
                )
            lo, hi = marginal.interval(code)
            out["intervals"][(name, "value")] = (lo, hi)
            out["value"] = enc.decode(np.array([code])).iloc[0]
            return out
        if enc.kind == "datetime":
            number = float(enc.encode(pd.Series([value]))[0])
        else:
            number = float(to_numbers(pd.Series([value]))[0])
        lo_v, hi_v = float(marginal.values_[0]), float(marginal.values_[-1])
        if not np.isfinite(number) or number < lo_v or number > hi_v:
            raise ConstraintError(
                f"Condition {name}={value!r} is impossible: the column ranges from {lo_v:g} to {hi_v:g}."
            )
        if marginal.continuous_:
            p = float(np.interp(number, marginal.values_, marginal.cdf_))
            out["intervals"][(name, "value")] = (p, p)
        else:
            hit = np.flatnonzero(np.isclose(marginal.values_, number))
            if hit.size == 0:
                raise ConstraintError(
                    f"Condition {name}={value!r} is impossible: that value never occurs in '{name}'."
                )
            k = int(hit[0])
            out["intervals"][(name, "value")] = (float(marginal.cdf_[k - 1]) if k else 0.0, float(marginal.cdf_[k]))
        if enc.kind == "datetime":
            out["value"] = to_datetimes(pd.Series([value]), None).iloc[0]
        return out

    def _conditional_normals(self, n: int, rng: np.random.Generator, conditions: dict[str, Any]) -> np.ndarray:
        """Normal scores whose conditioned dimensions fall in their intervals, the rest drawn given them."""
        index = {dim: i for i, dim in enumerate(self.dims_)}
        fixed: list[int] = []
        bounds: list[tuple[float, float]] = []
        for cond in conditions.values():
            for dim, interval in cond["intervals"].items():
                if interval is not None and dim in index:
                    fixed.append(index[dim])
                    bounds.append(interval)
        corr = self.correlation_
        d = len(self.dims_)
        z = np.empty((n, d))
        for k, (i, (a, b)) in enumerate(zip(fixed, bounds)):
            prev = fixed[:k]
            if prev:
                s_pp = corr[np.ix_(prev, prev)]
                w = np.linalg.solve(s_pp + 1e-9 * np.eye(len(prev)), corr[prev, i])
                mu = z[:, prev] @ w
                sd = float(np.sqrt(max(1.0 - corr[i, prev] @ w, 1e-12)))
            else:
                mu, sd = np.zeros(n), 1.0
            lo = ndtri(np.clip(a, _CLIP, 1 - _CLIP))
            hi = ndtri(np.clip(b, _CLIP, 1 - _CLIP))
            if b - a <= 0:
                z[:, i] = lo
                continue
            plo, phi = ndtr((lo - mu) / sd), ndtr((hi - mu) / sd)
            q = plo + rng.random(n) * np.maximum(phi - plo, 0.0)
            z[:, i] = np.clip(mu + sd * ndtri(np.clip(q, _CLIP, 1 - _CLIP)), lo, hi)
        rest = [i for i in range(d) if i not in set(fixed)]
        if rest:
            if fixed:
                s_ff = corr[np.ix_(fixed, fixed)] + 1e-9 * np.eye(len(fixed))
                s_rf = corr[np.ix_(rest, fixed)]
                w = np.linalg.solve(s_ff, s_rf.T).T
                mean = z[:, fixed] @ w.T
                cov = corr[np.ix_(rest, rest)] - w @ s_rf.T
            else:
                mean, cov = np.zeros((n, len(rest))), corr[np.ix_(rest, rest)]
            _, chol = nearest_correlation_cov(cov)
            z[:, rest] = mean + rng.standard_normal((n, len(rest))) @ chol.T
        return z

    # -- persistence and inspection ---------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        marginals = {}
        for name, m in self.marginals_.items():
            if isinstance(m, EmpiricalMarginal):
                marginals[name] = {"type": "empirical", **m.get_state()}
            else:
                marginals[name] = {"type": "discrete", "probabilities": m.probabilities}
        return {
            "encoders": self.transformer_.get_state(),
            "dims": [list(d) for d in self.dims_],
            "marginals": marginals,
            "correlation": self.correlation_,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.transformer_ = TableTransformer.from_state(self.metadata_, state["encoders"])
        self.dims_ = [(str(a), str(b)) for a, b in state["dims"]]
        self.marginals_ = {}
        for name, m in state["marginals"].items():
            if m["type"] == "empirical":
                self.marginals_[name] = EmpiricalMarginal.from_state(m)
            else:
                self.marginals_[name] = DiscreteMarginal(m["probabilities"])
        corr = np.asarray(state["correlation"], dtype=float).reshape(len(self.dims_), len(self.dims_))
        self.correlation_, self._chol = nearest_correlation(corr) if len(corr) else (corr, corr)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        columns = {}
        for name, enc in self.transformer_.encoders.items():
            entry: dict[str, Any] = {"type": enc.kind, "missing_rate": round(enc.missing_rate, 4)}
            m = self.marginals_.get(name)
            if isinstance(m, EmpiricalMarginal):
                qs = np.interp([0.0, 0.25, 0.5, 0.75, 1.0], m.cdf_, m.values_) if m.continuous_ else [
                    m.values_[min(np.searchsorted(m.cdf_, p), m.values_.size - 1)] for p in (0.0, 0.25, 0.5, 0.75, 1.0)
                ]
                entry["quantiles"] = {k: float(v) for k, v in zip(("min", "q25", "median", "q75", "max"), qs)}
            elif isinstance(m, DiscreteMarginal) and hasattr(enc, "labels"):
                labels = enc.labels
                top = np.argsort(-m.probabilities)[:10]
                entry["categories"] = len(labels)
                entry["top"] = {str(labels[i]): round(float(m.probabilities[i]), 4) for i in top}
                if enc.stats_.get("n_rare_categories"):
                    entry["rare_categories_protected"] = enc.stats_["n_rare_categories"]
            columns[name] = entry
        info["columns"] = columns
        pairs = []
        values = [i for i, d in enumerate(self.dims_) if d[1] == "value"]
        for a in range(len(values)):
            for b in range(a + 1, len(values)):
                i, j = values[a], values[b]
                pairs.append((abs(self.correlation_[i, j]), self.dims_[i][0], self.dims_[j][0], self.correlation_[i, j]))
        pairs.sort(reverse=True)
        info["strongest_correlations"] = [
            {"columns": [x, y], "correlation": round(float(c), 3)} for _, x, y, c in pairs[:10]
        ]
        return info


def _in_labels(value: Any, labels: list[Any]) -> bool:
    try:
        return any(value == lab or str(value) == str(lab) for lab in labels)
    except Exception:  # pragma: no cover - exotic comparisons
        return False


def nearest_correlation_cov(cov: np.ndarray, floor: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factor of a covariance matrix, with eigenvalues floored when it is not positive definite."""
    cov = (cov + cov.T) / 2.0
    try:
        return cov, np.linalg.cholesky(cov + floor * np.eye(len(cov)))
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(cov)
        fixed = (vecs * np.maximum(vals, floor)) @ vecs.T
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fixed, np.linalg.cholesky(fixed + floor * np.eye(len(cov)))
