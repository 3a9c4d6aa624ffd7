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

    def generate(self, first_row: int, n: int, rng: np.random.Generator) -> pd.Series:
        """Fresh values for global rows ``first_row`` to ``first_row + n`` of a "generated" column
        (ids, text), missing at the learned rate."""
        col = self.decode(np.arange(first_row, first_row + n), rng)
        if self.missing_rate > 0:
            col = col.astype(object) if col.dtype.kind in "iub" else col
            col[rng.random(n) < self.missing_rate] = None
        return col

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
