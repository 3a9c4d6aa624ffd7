"""Parametric distributions: normal, truncated normal, lognormal, uniform, exponential, gamma, beta,
triangular, integer, Poisson, binomial, negative binomial, geometric and Zipf.

Every distribution draws with numpy (fast) and has a quantile function (``ppf``) so that it can be a
marginal of a correlated group.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from simulacra.spec.kinds.base import Block, ColumnKind, Values, register


class Distribution(ColumnKind):
    """A column drawn independently from one distribution."""

    clip: tuple[float | None, float | None] | None = Field(
        None, description="Clip values to [low, high] (either may be null)."
    )
    round: int | None = Field(None, ge=0, le=12, description="Round to this many decimals.")

    integer: ClassVar[bool] = False

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws."""
        return self.ppf(rng.random(n))

    def scipy(self) -> Any:
        """The frozen scipy distribution (moments, quantiles)."""
        raise NotImplementedError

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The quantile function, vectorized."""
        return np.asarray(self.scipy().ppf(u))

    def finish(self, x: np.ndarray) -> np.ndarray:
        if self.clip is not None:
            lo, hi = self.clip
            x = np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)
        if self.round is not None and not self.integer:
            x = np.round(x, self.round)
        return x.astype(np.int64) if self.integer else x.astype(np.float64, copy=False)

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        return {name: self.finish(self.draw(block.rng(name), block.n))}


def _ordered(low: str, high: str) -> Any:
    def check(self: Any) -> Any:
        lo, hi = getattr(self, low), getattr(self, high)
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"'{low}' ({lo}) must be less than '{high}' ({hi})")
        return self

    return model_validator(mode="after")(check)


@register
class Normal(Distribution):
    """Normal (Gaussian) with ``mean`` and standard deviation ``std``."""

    kind: Literal["normal"] = "normal"
    mean: float = 0.0
    std: float = Field(1.0, gt=0)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.normal(self.mean, self.std, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.norm(self.mean, self.std)


@register
class TruncatedNormal(Distribution):
    """Normal with ``mean``, ``std`` restricted to [``min``, ``max``] (exact, by inversion)."""

    kind: Literal["truncated_normal"] = "truncated_normal"
    mean: float = 0.0
    std: float = Field(1.0, gt=0)
    min: float = -np.inf
    max: float = np.inf
    order_check = _ordered("min", "max")

    def scipy(self) -> Any:
        from scipy import stats

        a, b = (self.min - self.mean) / self.std, (self.max - self.mean) / self.std
        return stats.truncnorm(a, b, loc=self.mean, scale=self.std)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.clip(super().ppf(u), self.min, self.max)


@register
class LogNormal(Distribution):
    """exp of a normal with mean ``mu`` and standard deviation ``sigma`` (of the log)."""

    kind: Literal["lognormal"] = "lognormal"
    mu: float = 0.0
    sigma: float = Field(1.0, gt=0)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.lognorm(self.sigma, scale=np.exp(self.mu))


@register
class Uniform(Distribution):
    """Uniform on [``min``, ``max``)."""

    kind: Literal["uniform"] = "uniform"
    min: float = 0.0
    max: float = 1.0
    order_check = _ordered("min", "max")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.min, self.max, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.uniform(self.min, self.max - self.min)


@register
class Exponential(Distribution):
    """Exponential with mean ``scale`` (or give ``rate`` = 1 / scale)."""

    kind: Literal["exponential"] = "exponential"
    scale: float | None = Field(None, gt=0)
    rate: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def check_one(self) -> Exponential:
        if self.scale is not None and self.rate is not None:
            raise ValueError("give 'scale' or 'rate', not both")
        return self

    @property
    def mean_(self) -> float:
        return self.scale if self.scale is not None else (1.0 / self.rate if self.rate else 1.0)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.expon(scale=self.mean_)


@register
class Gamma(Distribution):
    """Gamma with ``shape`` (k) and ``scale`` (theta)."""

    kind: Literal["gamma"] = "gamma"
    shape: float = Field(..., gt=0)
    scale: float = Field(1.0, gt=0)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.gamma(self.shape, self.scale, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.gamma(self.shape, scale=self.scale)


@register
class Beta(Distribution):
    """Beta(``a``, ``b``), rescaled from [0, 1] to [``min``, ``max``]."""

    kind: Literal["beta"] = "beta"
    a: float = Field(..., gt=0)
    b: float = Field(..., gt=0)
    min: float = 0.0
    max: float = 1.0
    order_check = _ordered("min", "max")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.min + (self.max - self.min) * rng.beta(self.a, self.b, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.beta(self.a, self.b, loc=self.min, scale=self.max - self.min)


@register
class Triangular(Distribution):
    """Triangular on [``min``, ``max``] with peak at ``mode``."""

    kind: Literal["triangular"] = "triangular"
    min: float
    mode: float
    max: float

    @model_validator(mode="after")
    def check_order(self) -> Triangular:
        if not self.min <= self.mode <= self.max or self.min == self.max:
            raise ValueError(f"need min <= mode <= max and min < max, got {self.min}, {self.mode}, {self.max}")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.min, self.mode, self.max, n)

    def scipy(self) -> Any:
        from scipy import stats

        width = self.max - self.min
        return stats.triang((self.mode - self.min) / width, loc=self.min, scale=width)


class Discrete(Distribution):
    integer: ClassVar[bool] = True

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.nan_to_num(super().ppf(u), nan=0.0, posinf=np.iinfo(np.int64).max // 2)


@register
class Integer(Discrete):
    """Integers uniform on [``min``, ``max``], both included."""

    kind: Literal["integer"] = "integer"
    min: int = 0
    max: int = 100

    @model_validator(mode="after")
    def check_order(self) -> Integer:
        if self.min > self.max:
            raise ValueError(f"'min' ({self.min}) must not exceed 'max' ({self.max})")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.integers(self.min, self.max, n, endpoint=True)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.randint(self.min, self.max + 1)


@register
class Poisson(Discrete):
    """Poisson counts with mean ``lam``."""

    kind: Literal["poisson"] = "poisson"
    lam: float = Field(..., ge=0)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.poisson(self.lam, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.poisson(self.lam)


@register
class Binomial(Discrete):
    """Successes in ``n`` trials of probability ``p``."""

    kind: Literal["binomial"] = "binomial"
    n: int = Field(..., ge=0)
    p: float = Field(..., ge=0, le=1)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.binomial(self.n, self.p, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.binom(self.n, self.p)


@register
class NegativeBinomial(Discrete):
    """Failures before the ``n``-th success, success probability ``p`` (over-dispersed counts)."""

    kind: Literal["negative_binomial"] = "negative_binomial"
    n: float = Field(..., gt=0)
    p: float = Field(..., gt=0, le=1)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.negative_binomial(self.n, self.p, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.nbinom(self.n, self.p)


@register
class Geometric(Discrete):
    """Trials until the first success (1, 2, ...), success probability ``p``."""

    kind: Literal["geometric"] = "geometric"
    p: float = Field(..., gt=0, le=1)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.geometric(self.p, n)

    def scipy(self) -> Any:
        from scipy import stats

        return stats.geom(self.p)


@register
class Zipf(Discrete):
    """Zipf ranks 1, 2, ... with P(k) proportional to k^-``a``; ``max`` bounds the support (then a > 0)."""

    kind: Literal["zipf"] = "zipf"
    a: float = Field(..., gt=0)
    max: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def check_support(self) -> Zipf:
        if self.max is None and self.a <= 1:
            raise ValueError(f"an unbounded Zipf needs a > 1 (got a={self.a}); give 'max' for a <= 1")
        return self

    def scipy(self) -> Any:
        from scipy import stats

        if self.max is None:
            return stats.zipf(self.a)
        return stats.zipfian(self.a, self.max)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.max is None:
            return rng.zipf(self.a, n)
        k = np.arange(1, self.max + 1, dtype=float)
        cdf = np.cumsum(k ** -self.a)
        return np.searchsorted(cdf / cdf[-1], rng.random(n), side="right") + 1
