"""Categorical, Bernoulli, constant, mixture and empirical distributions."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, PrivateAttr, field_validator, model_validator

from simulacra.spec.kinds.base import Block, ColumnKind, Values, check_probabilities, parse_column, register
from simulacra.spec.kinds.distributions import Distribution
from simulacra.spec.source import Loc, SpecSource


def _pool(values: list[Any]) -> Any:
    """Category values as a numpy array (numbers, booleans) or an Arrow string array."""
    if all(isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=bool)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values)
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def take(pool: Any, index: np.ndarray) -> Values:
    return pool.take(pa.array(index)) if isinstance(pool, pa.Array) else pool[index]


class Finite(Distribution):
    """A distribution over a finite list of values; ``ppf`` returns indices into ``values_``."""

    integer: ClassVar[bool] = False

    def support(self) -> tuple[list[Any], np.ndarray]:
        raise NotImplementedError

    def ppf_index(self, u: np.ndarray) -> np.ndarray:
        _, p = self.support()
        cdf = np.cumsum(p)
        return np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(p) - 1)

    def ppf(self, u: np.ndarray) -> Values:
        return take(_pool(self.support()[0]), self.ppf_index(u))

    def scipy(self) -> Any:
        from scipy import stats

        values, p = self.support()
        return stats.rv_discrete(values=(np.asarray(values, dtype=float), p))

    def finish(self, x: Any) -> Any:
        return x if isinstance(x, pa.Array) or x.dtype.kind not in "fiu" else super().finish(x)

    def draw(self, rng: np.random.Generator, n: int) -> Any:
        return self.ppf(rng.random(n))


@register
class Categorical(Finite):
    """One of ``values`` with probabilities ``weights`` (equal when absent); or ``values`` as a mapping."""

    kind: Literal["categorical"] = "categorical"
    values: list[Any] | dict[str, float] = Field(..., min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def check_weights(self) -> Categorical:
        values, p = self.support()
        if self.weights is not None and isinstance(self.values, dict):
            raise ValueError("give weights either in a 'values' mapping or in 'weights', not both")
        if self.weights is not None and len(self.weights) != len(values):
            raise ValueError(f"'weights' has {len(self.weights)} entries but 'values' has {len(values)}")
        return self

    def support(self) -> tuple[list[Any], np.ndarray]:
        if isinstance(self.values, dict):
            return list(self.values), check_probabilities(list(self.values.values()))
        w = self.weights if self.weights is not None else [1.0] * len(self.values)
        return list(self.values), check_probabilities(w)


@register
class Bernoulli(Finite):
    """True with probability ``p``."""

    kind: Literal["bernoulli"] = "bernoulli"
    p: float = Field(0.5, ge=0, le=1)

    def support(self) -> tuple[list[Any], np.ndarray]:
        return [False, True], np.array([1 - self.p, self.p])

    def draw(self, rng: np.random.Generator, n: int) -> Any:
        return rng.random(n) < self.p

    def ppf(self, u: np.ndarray) -> Values:
        return np.asarray(u) >= 1 - self.p


@register
class Constant(ColumnKind):
    """The same ``value`` in every row."""

    kind: Literal["constant"] = "constant"
    value: Any = None

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        if isinstance(self.value, str) or self.value is None:
            return {name: pa.repeat(pa.scalar(self.value, pa.string()), block.n)}
        return {name: np.full(block.n, self.value)}


@register
class Mixture(Distribution):
    """A mixture of distributions: ``components`` are distribution specs, each with a ``weight``."""

    kind: Literal["mixture"] = "mixture"
    components: list[dict[str, Any]] = Field(..., min_length=1)
    _parts: list[Distribution] = PrivateAttr(default_factory=list)
    _p: Any = PrivateAttr(None)

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        weights = []
        for i, comp in enumerate(self.components):
            comp = dict(comp)
            weights.append(comp.pop("weight", 1.0))
            part = parse_column(comp, (*loc, "components", i), source)
            if not isinstance(part, Distribution) or isinstance(part, Finite):
                raise source.error((*loc, "components", i), "a mixture component must be a numeric distribution")
            self._parts.append(part)
        self._p = check_probabilities(weights, "component weights")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        which = np.searchsorted(np.cumsum(self._p), rng.random(n), side="right").clip(0, len(self._parts) - 1)
        out = np.empty(n)
        for i, part in enumerate(self._parts):
            mask = which == i
            out[mask] = part.draw(rng, int(mask.sum()))
        return out

    def cdf(self, x: np.ndarray) -> np.ndarray:
        return sum(p * part.scipy().cdf(x) for p, part in zip(self._p, self._parts))  # type: ignore[return-value]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        lo = min(float(part.ppf(np.array([1e-7]))[0]) for part in self._parts)
        hi = max(float(part.ppf(np.array([1 - 1e-7]))[0]) for part in self._parts)
        grid = np.linspace(lo, hi, 8193)
        return np.interp(u, self.cdf(grid), grid)

    def scipy(self) -> Any:
        mean = float(sum(p * part.scipy().mean() for p, part in zip(self._p, self._parts)))
        second = float(sum(p * (part.scipy().var() + part.scipy().mean() ** 2) for p, part in zip(self._p, self._parts)))
        return _Moments(mean, second - mean**2)


class _Moments:
    def __init__(self, mean: float, var: float) -> None:
        self._mean, self._var = mean, var

    def mean(self) -> float:
        return self._mean

    def var(self) -> float:
        return self._var


@register
class Empirical(Finite):
    """Values and frequencies given inline (``values``, ``weights``) or counted in a ``file``'s ``column``.

    ``smooth`` adds Gaussian jitter of this fraction of the standard deviation to numeric values.
    """

    kind: Literal["empirical"] = "empirical"
    values: list[Any] | None = None
    weights: list[float] | None = None
    file: str | None = None
    column: str | None = None
    smooth: float = Field(0.0, ge=0)
    _support: tuple[list[Any], np.ndarray] | None = PrivateAttr(None)

    @field_validator("weights")
    @classmethod
    def check_positive(cls, w: list[float] | None) -> list[float] | None:
        if w is not None:
            check_probabilities(w)
        return w

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        if (self.values is None) == (self.file is None):
            raise source.error(loc, "give either 'values' (and optional 'weights') or 'file' and 'column'")
        if self.values is not None:
            w = self.weights or [1.0] * len(self.values)
            if len(w) != len(self.values):
                raise source.error((*loc, "weights"), f"{len(w)} weights for {len(self.values)} values")
            self._support = (list(self.values), check_probabilities(w))
            return
        self._support = self._from_file(loc, source)

    def _from_file(self, loc: Loc, source: SpecSource) -> tuple[list[Any], np.ndarray]:
        from simulacra.errors import SimulacraError
        from simulacra.io import read_table

        path = source.resolve_file((*loc, "file"), str(self.file))
        try:
            frame = read_table(path)
        except SimulacraError as exc:
            raise source.error((*loc, "file"), str(exc)) from None
        if self.column not in frame.columns:
            raise source.error((*loc, "column"), f"'{self.column}' is not a column of {path}; columns: {list(frame.columns)}")
        counts = frame[self.column].dropna().value_counts(sort=False)
        if counts.empty:
            raise source.error((*loc, "column"), f"column '{self.column}' of {path} has no values")
        return [v.item() if hasattr(v, "item") else v for v in counts.index], check_probabilities(counts.to_numpy())

    def support(self) -> tuple[list[Any], np.ndarray]:
        assert self._support is not None
        return self._support

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        rng = block.rng(name)
        x = self.draw(rng, block.n)
        if self.smooth > 0 and isinstance(x, np.ndarray) and x.dtype.kind in "fiu":
            values, p = self.support()
            v = np.asarray(values, dtype=float)
            sd = float(np.sqrt(np.sum(p * (v - np.sum(p * v)) ** 2)))
            x = x + rng.normal(0, self.smooth * sd, block.n)
        return {name: self.finish(x)}
