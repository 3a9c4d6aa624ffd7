"""A Gaussian copula over exact empirical marginals, on numpy and scipy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from simulacra.errors import ConstraintError
from simulacra.tabular.base import BaseSynthesizer, resolve_seed
from simulacra.tabular.latent import LatentGaussian
from simulacra.tabular.registry import register
from simulacra.tabular.scores import fit_scores
from simulacra.transform import DiscreteMarginal, EmpiricalMarginal, TableTransformer
from simulacra.transform.datetime import DatetimeEncoder
from simulacra.transform.numerical import to_numbers

_CLIP = 1e-9


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
        self.transformer_ = TableTransformer(self.model_metadata_, min_category_count=self.min_category_count).fit(data)
        rng = np.random.default_rng(resolve_seed(self.random_state))
        self.dims_, self.marginals_, z = fit_scores(self.transformer_, data, rng)
        self.latent_ = LatentGaussian().fit(z)
        self.normal_cuts_ = _normal_cuts(self.marginals_)

    # -- sample ------------------------------------------------------------------------------
    def _sample_block(
        self, n: int, rng: np.random.Generator, first_row: int, conditions: dict[str, Any] | None
    ) -> pd.DataFrame:
        z = self.latent_.sample(n, rng)  # (dims, n): one contiguous row per latent dimension
        if conditions:
            z = np.ascontiguousarray(self._condition_normals(z.T.copy(), rng, conditions).T)
        index = {dim: i for i, dim in enumerate(self.dims_)}
        out: dict[str, pd.Series] = {}
        for name, enc in self.transformer_.encoders.items():
            if enc.representation == "generated":
                out[name] = enc.generate(first_row, n, rng)
                continue
            marginal = self.marginals_[name]
            if (name, "value") in index:
                values = self._from_normal(name, marginal, z[index[name, "value"]])
            else:
                values = np.full(n, np.nan if enc.representation == "continuous" else -1)
            if (name, "missing") in index:
                miss = z[index[name, "missing"]] < ndtri(enc.missing_rate)
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

    def _from_normal(self, name: str, marginal: Any, z: np.ndarray) -> np.ndarray:
        """Values of a column from its latent normal scores.

        Discrete columns compare the scores with the normal quantiles of their cumulative probabilities
        (``normal_cuts_``, computed once), which gives the same values as mapping to uniforms first,
        without ``ndtr``.
        """
        if isinstance(marginal, EmpiricalMarginal) and marginal.continuous_:
            return marginal.from_uniform(ndtr(z))
        cuts = self.normal_cuts_[name]
        idx = np.searchsorted(cuts, z, side="left")
        size = cuts.size
        if isinstance(marginal, DiscreteMarginal):
            return np.minimum(idx, size - 1)
        return marginal.values_[np.minimum(idx, size - 1)]

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
        if isinstance(enc, DatetimeEncoder):
            out["value"] = enc.dates(pd.Series([value])).iloc[0]
        return out

    def _condition_normals(self, z: np.ndarray, rng: np.random.Generator, conditions: dict[str, Any]) -> np.ndarray:
        """Condition unconditional scores ``z`` on the intervals of the conditioned dimensions.

        The conditioned dimensions are drawn one after the other from truncated normals given the
        previous ones; the others are then moved by Matheron's rule, ``z_r + W (z_f* - z_f)``, which
        gives an exact draw of the Gaussian conditional without factorizing its covariance.
        """
        index = {dim: i for i, dim in enumerate(self.dims_)}
        fixed: list[int] = []
        bounds: list[tuple[float, float]] = []
        for cond in conditions.values():
            for dim, interval in cond["intervals"].items():
                if interval is not None and dim in index:
                    fixed.append(index[dim])
                    bounds.append(interval)
        if not fixed:
            return z
        n = len(z)
        s_ff = self.latent_.block(fixed, fixed) + 1e-9 * np.eye(len(fixed))
        target = np.empty((n, len(fixed)))
        for k, (a, b) in enumerate(bounds):
            if k:
                w = np.linalg.solve(s_ff[:k, :k], s_ff[:k, k])
                mu = target[:, :k] @ w
                sd = float(np.sqrt(max(float(1.0 - s_ff[k, :k] @ w), 1e-12)))
            else:
                mu, sd = np.zeros(n), 1.0
            lo = ndtri(np.clip(a, _CLIP, 1 - _CLIP))
            hi = ndtri(np.clip(b, _CLIP, 1 - _CLIP))
            if b - a <= 0:
                target[:, k] = lo
                continue
            plo, phi = ndtr((lo - mu) / sd), ndtr((hi - mu) / sd)
            q = plo + rng.random(n) * np.maximum(phi - plo, 0.0)
            target[:, k] = np.clip(mu + sd * ndtri(np.clip(q, _CLIP, 1 - _CLIP)), lo, hi)
        rest = [i for i in range(len(self.dims_)) if i not in set(fixed)]
        if rest:
            w = np.linalg.solve(s_ff, self.latent_.block(fixed, rest))
            z[:, rest] += (target - z[:, fixed]) @ w
        z[:, fixed] = target
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
            "latent": self.latent_.get_state(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.transformer_ = TableTransformer.from_state(self.model_metadata_, state["encoders"])
        self.dims_ = [(str(a), str(b)) for a, b in state["dims"]]
        self.marginals_ = {}
        for name, m in state["marginals"].items():
            if m["type"] == "empirical":
                self.marginals_[name] = EmpiricalMarginal.from_state(m)
            else:
                self.marginals_[name] = DiscreteMarginal(m["probabilities"])
        self.latent_ = LatentGaussian.from_state(state["latent"], len(self.dims_))
        self.normal_cuts_ = _normal_cuts(self.marginals_)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        columns = {}
        for name, enc in self.transformer_.encoders.items():
            entry: dict[str, Any] = {"type": enc.kind, "missing_rate": round(enc.missing_rate, 4)}
            m = self.marginals_.get(name)
            if isinstance(m, EmpiricalMarginal):
                qs = np.interp([0.0, 0.25, 0.5, 0.75, 1.0], m.cdf_, m.values_) if m.continuous_ else [
                    m.values_[min(int(np.searchsorted(m.cdf_, p)), m.values_.size - 1)] for p in (0.0, 0.25, 0.5, 0.75, 1.0)
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
        values = [i for i, d in enumerate(self.dims_) if d[1] == "value"][:200]
        corr = self.latent_.block(values, values) if values else np.zeros((0, 0))
        pos = {v: k for k, v in enumerate(values)}
        for a in range(len(values)):
            for b in range(a + 1, len(values)):
                i, j = values[a], values[b]
                c = float(corr[pos[i], pos[j]])
                pairs.append((abs(c), self.dims_[i][0], self.dims_[j][0], c))
        pairs.sort(reverse=True)
        info["strongest_correlations"] = [
            {"columns": [x, y], "correlation": round(float(c), 3)} for _, x, y, c in pairs[:10]
        ]
        return info


def _normal_cuts(marginals: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per discrete column, the normal quantiles of its cumulative probabilities (the cell edges of its scores)."""
    cuts = {}
    for name, marginal in marginals.items():
        if isinstance(marginal, EmpiricalMarginal) and marginal.continuous_:
            continue
        upper = marginal.upper if isinstance(marginal, DiscreteMarginal) else marginal.cdf_
        cuts[name] = ndtri(np.clip(upper, 0.0, 1.0))
    return cuts


def _in_labels(value: Any, labels: list[Any]) -> bool:
    try:
        return any(value == lab or str(value) == str(lab) for lab in labels)
    except Exception:  # pragma: no cover - exotic comparisons
        return False
