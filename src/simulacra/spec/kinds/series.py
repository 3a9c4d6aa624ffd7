"""Time-series columns, one series per entity: ARMA/ARIMA processes (statsmodels) and random walks,
with a linear trend and a sine seasonality. Only valid in ``kind: timeseries`` tables."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from simulacra.errors import require
from simulacra.spec.kinds.base import Block, ColumnKind, Values, register
from simulacra.spec.source import Loc, SpecSource


class Seasonality(BaseModel):
    """``amplitude * sin(2 pi (step + phase) / period)``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    period: float = Field(..., gt=0)
    amplitude: float = 1.0
    phase: float = 0.0


class Series(ColumnKind):
    """Common parameters: ``mean`` level, ``trend`` per step, ``seasonality`` (one or a list)."""

    table_kinds: ClassVar[frozenset[str]] = frozenset({"timeseries"})
    mean: float = 0.0
    trend: float = 0.0
    seasonality: Seasonality | list[Seasonality] | None = None
    round: int | None = Field(None, ge=0, le=12)

    def shape(self, block: Block) -> tuple[int, int]:
        length = int(block.context["series_length"])
        return block.n // length, length

    def deterministic(self, length: int) -> np.ndarray:
        t = np.arange(length, dtype=float)
        out = self.mean + self.trend * t
        seasons = self.seasonality if isinstance(self.seasonality, list) else [self.seasonality] if self.seasonality else []
        for s in seasons:
            out = out + s.amplitude * np.sin(2 * np.pi * (t + s.phase) / s.period)
        return out

    def finish(self, x: np.ndarray) -> np.ndarray:
        x = x.ravel()
        return np.round(x, self.round) if self.round is not None else x


@register
class Arma(Series):
    """An ARIMA(p, d, q) process: ``ar`` and ``ma`` coefficients (x_t = sum ar_i x_{t-i} + e_t + sum
    ma_j e_{t-j}), ``d`` integrations, noise standard deviation ``sigma``."""

    kind: Literal["arma"] = "arma"
    ar: list[float] = Field(default_factory=list)
    ma: list[float] = Field(default_factory=list)
    d: int = Field(0, ge=0, le=2)
    sigma: float = Field(1.0, gt=0)
    burnin: int = Field(100, ge=0)
    _process: Any = None

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        process = self.process()
        if not process.isstationary:
            raise source.error(
                (*loc, "ar"),
                f"AR coefficients {self.ar} give a non-stationary process (a root inside the unit circle); "
                "make them smaller, or use d: 1 with stationary coefficients for a trending (ARIMA) series",
            )

    def process(self) -> Any:
        require("statsmodels", "spec", "ARMA time series")
        from statsmodels.tsa.arima_process import ArmaProcess

        return ArmaProcess(np.r_[1.0, -np.asarray(self.ar, float)], np.r_[1.0, np.asarray(self.ma, float)])

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        entities, length = self.shape(block)
        rng = block.rng(name)
        x = self.process().generate_sample(
            nsample=(entities, length), scale=self.sigma, distrvs=rng.standard_normal, axis=1, burnin=self.burnin
        )
        for _ in range(self.d):
            x = np.cumsum(x, axis=1)
        return {name: self.finish(x + self.deterministic(length)[None, :])}


@register
class RandomWalk(Series):
    """A random walk from ``mean`` with steps of mean ``drift`` and standard deviation ``sigma``."""

    kind: Literal["random_walk"] = "random_walk"
    drift: float = 0.0
    sigma: float = Field(1.0, gt=0)

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        entities, length = self.shape(block)
        steps = block.rng(name).normal(self.drift, self.sigma, (entities, length))
        steps[:, 0] = 0.0
        return {name: self.finish(np.cumsum(steps, axis=1) + self.deterministic(length)[None, :])}
