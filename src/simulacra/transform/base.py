"""The encoder protocol: analyze a column into JSON-able statistics, encode it to numbers, decode back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import pandas as pd


class Encoder(ABC):
    """Reversible mapping between one column and a numeric representation.

    ``analyze`` learns what is needed (stats, JSON-able except for numpy arrays), ``encode`` maps
    values to a float array (NaN for missing) or integer codes (-1 for missing), and ``decode``
    maps such an array back to a column with the original dtype, precision, bounds and categories.
    """

    kind: ClassVar[str]
    #: "continuous" encoders give floats, "discrete" ones integer codes, "generated" ones (ids, text)
    #: have no representation and make fresh values.
    representation: ClassVar[str]

    def __init__(self, name: str) -> None:
        self.name = name
        self.stats_: dict[str, Any] = {}

    @abstractmethod
    def analyze(self, series: pd.Series) -> Encoder:
        """Learn the statistics of ``series``; returns self."""

    @abstractmethod
    def encode(self, series: pd.Series) -> np.ndarray:
        """Map values to the numeric representation."""

    @abstractmethod
    def decode(self, values: np.ndarray, rng: np.random.Generator | None = None) -> pd.Series:
        """Map the numeric representation back to values."""

    @property
    def missing_rate(self) -> float:
        return float(self.stats_.get("missing_rate", 0.0))

    def get_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "stats": self.stats_}

    def set_state(self, state: dict[str, Any]) -> Encoder:
        self.stats_ = dict(state["stats"])
        return self


def series_dtype(series: pd.Series) -> str:
    """The dtype of a column as a string that pandas can turn back into the dtype."""
    return str(series.dtype)
