"""Groups of columns: correlated marginals (Gaussian copula) and fixed sums (Dirichlet, exact in cents)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
from pydantic import Field, PrivateAttr

from simulacra.spec.kinds.base import Block, ColumnKind, Values, apply_nulls, parse_column, register
from simulacra.spec.kinds.categorical import Finite
from simulacra.spec.kinds.distributions import Distribution
from simulacra.spec.source import Loc, SpecSource


def nearest_correlation(a: np.ndarray, iterations: int = 200, tol: float = 1e-10) -> np.ndarray:
    """The nearest correlation matrix to ``a`` (Higham's alternating projections).

    >>> m = nearest_correlation(np.array([[1, .9, -.9], [.9, 1, .9], [-.9, .9, 1]]))
    >>> bool(np.linalg.eigvalsh(m).min() > -1e-9), np.allclose(np.diag(m), 1)
    (True, True)
    """
    y = a.copy()
    ds = np.zeros_like(a)
    for _ in range(iterations):
        r = y - ds
        w, v = np.linalg.eigh((r + r.T) / 2)
        x = (v * np.maximum(w, 1e-8)) @ v.T
        ds = x - r
        y_new = x.copy()
        np.fill_diagonal(y_new, 1.0)
        if np.linalg.norm(y_new - y) < tol:
            y = y_new
            break
        y = y_new
    return y


_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(64)
_GH_W = _GH_W / _GH_W.sum()


def _pearson_of_latent(f1: Any, f2: Any, rho: float) -> float:
    """Pearson correlation of (F1^-1(Phi(Z1)), F2^-1(Phi(Z2))) when corr(Z1, Z2) = rho (quadrature)."""
    from scipy.special import ndtr

    def u(z: np.ndarray) -> np.ndarray:
        return np.clip(ndtr(z), 1e-12, 1 - 1e-12)

    x1 = np.asarray(f1(u(_GH_X)), dtype=float)
    x2 = np.asarray(f2(u(rho * _GH_X[:, None] + np.sqrt(1 - rho**2) * _GH_X[None, :])), dtype=float)
    y2 = np.asarray(f2(u(_GH_X)), dtype=float)
    m1, m2 = _GH_W @ x1, _GH_W @ y2
    s1 = np.sqrt(_GH_W @ (x1 - m1) ** 2)
    s2 = np.sqrt(_GH_W @ (y2 - m2) ** 2)
    if s1 == 0 or s2 == 0:
        return 0.0
    cov = (_GH_W * (x1 - m1)) @ (x2 - m2) @ _GH_W
    return float(cov / (s1 * s2))


def latent_correlation(f1: Any, f2: Any, target: float) -> float:
    """The correlation of the latent normals that gives Pearson correlation ``target`` (NORTA)."""
    from scipy.optimize import brentq

    if target == 0:
        return 0.0
    lo, hi = _pearson_of_latent(f1, f2, -0.999), _pearson_of_latent(f1, f2, 0.999)
    if not lo <= target <= hi:
        warnings.warn(
            f"correlation {target} is out of reach for these marginals (range {lo:.3f} to {hi:.3f}); using the bound",
            stacklevel=2,
        )
        return -0.999 if target < lo else 0.999
    return float(brentq(lambda r: _pearson_of_latent(f1, f2, r) - target, -0.999, 0.999, xtol=1e-6))


@register
class Correlated(ColumnKind):
    """Columns with given marginals and a target correlation matrix (Gaussian copula).

    ``method``: ``pearson`` (default; latent correlations are adjusted so the output has this Pearson
    correlation), ``spearman`` (rank correlation), or ``latent`` (correlation of the latent normals).
    A matrix that is not positive semi-definite is repaired to the nearest one with a warning, or
    refused when ``on_invalid: refuse``.
    """

    kind: Literal["correlated"] = "correlated"
    columns: dict[str, Any] = Field(..., min_length=2)
    correlation: list[list[float]] | dict[str, float]
    method: Literal["pearson", "spearman", "latent"] = "pearson"
    on_invalid: Literal["repair", "refuse"] = "repair"
    _members: dict[str, Distribution] = PrivateAttr(default_factory=dict)
    _chol: Any = PrivateAttr(None)

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        for name, spec in self.columns.items():
            member = parse_column(spec, (*loc, "columns", name), source)
            if not isinstance(member, Distribution):
                raise source.error((*loc, "columns", name), "members of a correlated group must be distributions")
            self._members[name] = member
        target = self._matrix(loc, source)
        w = np.linalg.eigvalsh(target)
        if w.min() < -1e-10:
            if self.on_invalid == "refuse":
                raise source.error(
                    (*loc, "correlation"),
                    f"the correlation matrix is not positive semi-definite (smallest eigenvalue {w.min():.4f}); "
                    "fix it, or set on_invalid: repair to use the nearest valid matrix",
                )
            warnings.warn(
                f"{source.name}: correlation matrix at {'.'.join(map(str, loc))} is not positive semi-definite "
                f"(smallest eigenvalue {w.min():.4f}); repaired to the nearest correlation matrix",
                stacklevel=2,
            )
            target = nearest_correlation(target)
        latent = self._latent(target)
        if np.linalg.eigvalsh(latent).min() < 1e-10:
            latent = nearest_correlation(latent)
        self._chol = np.linalg.cholesky(latent + 1e-12 * np.eye(len(latent)))

    def _matrix(self, loc: Loc, source: SpecSource) -> np.ndarray:
        names = list(self.columns)
        k = len(names)
        if isinstance(self.correlation, dict):
            m = np.eye(k)
            for pair, r in self.correlation.items():
                parts = [p.strip() for p in str(pair).replace("~", ",").split(",")]
                if len(parts) != 2 or any(p not in names for p in parts):
                    raise source.error((*loc, "correlation", pair), f"expected 'a, b' naming two of {names}")
                i, j = names.index(parts[0]), names.index(parts[1])
                m[i, j] = m[j, i] = r
        else:
            m = np.asarray(self.correlation, dtype=float)
            if m.shape != (k, k):
                raise source.error((*loc, "correlation"), f"must be {k}x{k} (one row per column), got shape {m.shape}")
            if not np.allclose(m, m.T) or not np.allclose(np.diag(m), 1):
                raise source.error((*loc, "correlation"), "must be symmetric with ones on the diagonal")
        if np.any(np.abs(m) > 1):
            raise source.error((*loc, "correlation"), "correlations must lie in [-1, 1]")
        return m

    def _latent(self, target: np.ndarray) -> np.ndarray:
        if self.method == "latent":
            return target
        if self.method == "spearman":
            out = 2 * np.sin(np.pi * target / 6)
            np.fill_diagonal(out, 1)
            return out
        members = list(self._members.values())
        out = target.copy()
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                a, b = members[i], members[j]
                if any(isinstance(m, Finite) and isinstance(m.ppf(np.array([0.5])), __import__("pyarrow").Array) for m in (a, b)):
                    continue  # text categories: correlation of the latent normals
                out[i, j] = out[j, i] = latent_correlation(a.ppf, b.ppf, float(target[i, j]))
        return out

    def outputs(self, name: str) -> list[str]:
        return list(self.columns)

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        from scipy.special import ndtr

        rng = block.rng(name)
        z = rng.standard_normal((block.n, len(self._members))) @ self._chol.T
        u = np.clip(ndtr(z), 1e-15, 1 - 1e-15)
        out = {}
        for j, (col, member) in enumerate(self._members.items()):
            values = member.finish(member.ppf(u[:, j]))
            if member.null_rate > 0:
                values = apply_nulls(values, block.rng(col, salt=7).random(block.n) < member.null_rate)
            out[col] = values
        return out


@register
class FixedSum(ColumnKind):
    """Columns that always sum to ``total`` (a number or a column), split by a Dirichlet.

    ``columns`` lists names, or maps names to ``{concentration, min, max}``; amounts are exact multiples
    of 10^-``decimals`` (integer arithmetic, so the sum is exact to the cent).
    """

    kind: Literal["fixed_sum"] = "fixed_sum"
    columns: list[str] | dict[str, dict[str, float] | None] = Field(..., min_length=2)
    total: float | str
    concentration: float | list[float] = 1.0
    decimals: int = Field(2, ge=0, le=6)
    _alpha: Any = PrivateAttr(None)
    _lo: Any = PrivateAttr(None)
    _hi: Any = PrivateAttr(None)

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        names = list(self.columns)
        per = self.columns if isinstance(self.columns, dict) else {}
        conc = self.concentration if isinstance(self.concentration, list) else [self.concentration] * len(names)
        if len(conc) != len(names):
            raise source.error((*loc, "concentration"), f"{len(conc)} values for {len(names)} columns")
        unit = 10.0**self.decimals
        alpha, lo, hi = [], [], []
        for name, c in zip(names, conc):
            opts = per.get(name) or {}
            unknown = set(opts) - {"concentration", "min", "max"}
            if unknown:
                raise source.error((*loc, "columns", name), f"unknown option(s) {sorted(unknown)}; allowed: concentration, min, max")
            alpha.append(float(opts.get("concentration", c)))
            lo.append(int(np.ceil(float(opts.get("min", 0)) * unit - 1e-9)))
            hi.append(int(np.floor(float(opts["max"]) * unit + 1e-9)) if "max" in opts else np.iinfo(np.int64).max // 4)
        if min(alpha) <= 0:
            raise source.error((*loc, "concentration"), "concentrations must be > 0")
        self._alpha, self._lo, self._hi = np.array(alpha), np.array(lo, np.int64), np.array(hi, np.int64)
        if np.any(self._lo > self._hi):
            raise source.error((*loc, "columns"), "a column's 'min' exceeds its 'max'")
        if not isinstance(self.total, str):
            self._check_total(np.array([round(self.total * unit)]), lambda msg: source.error((*loc, "total"), msg))

    def _check_total(self, total: np.ndarray, fail: Any) -> None:
        unit = 10.0**self.decimals
        bad = (total < self._lo.sum()) | (total > self._hi.sum())
        if np.any(bad):
            t = total[bad][0] / unit
            raise fail(
                f"impossible constraint: a total of {t} cannot be split with column minimums summing to "
                f"{self._lo.sum() / unit} and maximums summing to {self._hi.sum() / unit}"
            )

    def dependencies(self) -> set[str]:
        return {self.total} if isinstance(self.total, str) else set()

    def outputs(self, name: str) -> list[str]:
        return list(self.columns)

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        from simulacra.errors import SpecError

        unit = 10**self.decimals
        n = block.n
        missing = np.zeros(n, dtype=bool)
        if isinstance(self.total, str):
            scaled = np.round(np.asarray(block.columns[self.total], dtype=float) * unit)
            missing = np.isnan(scaled)  # a missing total gives missing parts
            if np.any(np.isinf(scaled) | (np.abs(np.where(missing, 0, scaled)) >= 2.0**62)):
                raise SpecError(f"fixed_sum '{name}': column '{self.total}' has totals too large to split exactly")
            total = np.where(missing, self._lo.sum(), scaled).astype(np.int64)
        else:
            total = np.full(n, int(round(self.total * unit)), dtype=np.int64)
        self._check_total(total, lambda msg: SpecError(f"fixed_sum '{name}': {msg} (total from column '{self.total}')"))
        units = split_units(total - self._lo.sum(), block.rng(name).dirichlet(self._alpha, n), self._hi - self._lo)
        units += self._lo
        out: dict[str, Values] = {}
        for j, col in enumerate(self.columns):
            part = units[:, j] if self.decimals == 0 else units[:, j] / unit
            out[col] = apply_nulls(part, missing) if missing.any() else part
        return out


def split_units(remaining: np.ndarray, shares: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Integer parts (rows of ``shares``' shape) summing exactly to ``remaining``, each <= its cap.

    >>> split_units(np.array([100]), np.array([[0.5, 0.3, 0.2]]), np.array([30, 100, 100])).tolist()
    [[30, 42, 28]]
    """
    r = remaining.astype(float)[:, None]
    x = shares * r
    capped = np.zeros(x.shape, dtype=bool)
    for _ in range(x.shape[1]):
        over = x > caps
        if not over.any():
            break
        excess = np.where(over, x - caps, 0).sum(axis=1, keepdims=True)
        capped |= over
        x = np.where(over, caps, x)
        free = np.where(capped, 0, shares)
        free_sum = free.sum(axis=1, keepdims=True)
        x = x + np.where(free_sum > 0, excess * free / np.where(free_sum > 0, free_sum, 1), 0)
    x = np.minimum(x, caps)
    base = np.floor(x).astype(np.int64)
    left = remaining - base.sum(axis=1)
    frac = np.where(base < caps, x - base, -1.0)
    order = np.argsort(-frac, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(x.shape[1])[None, :].repeat(len(x), 0), axis=1)
    return base + (ranks < left[:, None]).astype(np.int64)
