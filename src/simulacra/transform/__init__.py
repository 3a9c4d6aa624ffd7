"""One reversible encoder per semantic type, and a table-level transformer that holds them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from simulacra.errors import MetadataError, ModelFileError
from simulacra.metadata import Metadata
from simulacra.transform.base import Encoder
from simulacra.transform.categorical import RARE_TOKEN, BooleanEncoder, CategoricalEncoder
from simulacra.transform.datetime import DatetimeEncoder
from simulacra.transform.generated import IdEncoder, TextEncoder
from simulacra.transform.marginals import DiscreteMarginal, EmpiricalMarginal
from simulacra.transform.numerical import NumericalEncoder
from simulacra.transform.timedelta import TimedeltaEncoder

ENCODERS: dict[str, type[Encoder]] = {
    "numerical": NumericalEncoder,
    "categorical": CategoricalEncoder,
    "boolean": BooleanEncoder,
    "datetime": DatetimeEncoder,
    "timedelta": TimedeltaEncoder,
    "id": IdEncoder,
    "text": TextEncoder,
}


def build_encoder(name: str, column: Any, *, min_category_count: int = 5) -> Encoder:
    """The encoder for a column's semantic type.

    ``min_category_count`` is the privacy floor: categories and words seen in fewer rows are never
    reproduced, nor are numbers or dates beyond the ``k``-th smallest/largest (``1`` turns it off).
    """
    kind = column.type
    if kind == "categorical":
        return CategoricalEncoder(name, column, min_count=min_category_count)
    if kind == "text":
        return TextEncoder(name, column, min_count=min_category_count)
    if kind == "numerical":
        return NumericalEncoder(name, column, min_count=min_category_count)
    if kind == "datetime":
        return DatetimeEncoder(name, column, min_count=min_category_count)
    if kind == "timedelta":
        return TimedeltaEncoder(name, column, min_count=min_category_count)
    try:
        return ENCODERS[kind](name, column)  # type: ignore[call-arg]
    except KeyError:
        raise MetadataError(f"No encoder for column type '{kind}' (column '{name}')") from None


def encoder_from_state(state: dict[str, Any], column: Any = None) -> Encoder:
    """Rebuild an encoder from :meth:`Encoder.get_state` output."""
    kind = state["kind"]
    if kind not in ENCODERS:
        raise MetadataError(f"Unknown encoder kind '{kind}' in a saved model")
    if column is not None and column.type == kind:
        enc = ENCODERS[kind](state["name"], column)  # type: ignore[call-arg]
    else:
        enc = ENCODERS[kind](state["name"])
    return enc.set_state(state)


class TableTransformer:
    """Encoders for every column of a table, in metadata order."""

    def __init__(self, metadata: Metadata, *, min_category_count: int = 5) -> None:
        self.metadata = metadata
        self.min_category_count = min_category_count
        self.encoders: dict[str, Encoder] = {}

    def fit(self, data: pd.DataFrame) -> TableTransformer:
        self.encoders = {
            name: build_encoder(name, col, min_category_count=self.min_category_count).analyze(data[name])
            for name, col in self.metadata.columns.items()
        }
        return self

    def get_state(self) -> list[dict[str, Any]]:
        return [enc.get_state() for enc in self.encoders.values()]

    @classmethod
    def from_state(cls, metadata: Metadata, states: list[dict[str, Any]]) -> TableTransformer:
        names = [s["name"] for s in states]
        if len(set(map(str, names))) != len(names) or not set(names) <= set(metadata.columns):
            raise ModelFileError.corrupt("its encoders repeat a column or name one its metadata does not have")
        obj = cls(metadata)
        obj.encoders = {
            s["name"]: encoder_from_state(s, metadata.columns.get(s["name"])) for s in states
        }
        return obj


__all__ = [
    "ENCODERS",
    "RARE_TOKEN",
    "BooleanEncoder",
    "CategoricalEncoder",
    "DatetimeEncoder",
    "DiscreteMarginal",
    "EmpiricalMarginal",
    "Encoder",
    "IdEncoder",
    "NumericalEncoder",
    "TableTransformer",
    "TextEncoder",
    "TimedeltaEncoder",
    "build_encoder",
    "encoder_from_state",
]
