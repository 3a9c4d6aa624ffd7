"""Foreign keys of a database: the relationship record, storage kinds, orphan and missing rates.

The building blocks of :mod:`simulacra.metadata.multi`, shared with its detection helpers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import MetadataError
#: Smallest share of a text column's non-missing values found among a parent key's values for the
#: column to be taken as a foreign key without a name hint.
CONTAINMENT = 0.9
#: Smallest share for a column whose name says it is the key (``tailnum`` → ``planes.tailnum``).
NAMED_CONTAINMENT = 0.5
_MAX_COMPOSITE = 5
_ORDER_NAMES = re.compile(r"(date|time|timestamp|order|seq|sequence|step|period)", re.I)



@dataclass(frozen=True)
class Relationship:
    """A foreign key: ``child[child_key]`` refers to ``parent[parent_key]``.

    ``orphan_rate`` is the share of non-missing child keys absent from the parent; ``missing_rate``
    the share of child rows whose key is (partly) missing.
    """

    parent: str
    parent_key: tuple[str, ...]
    child: str
    child_key: tuple[str, ...]
    orphan_rate: float = 0.0
    missing_rate: float = 0.0

    @property
    def name(self) -> str:
        """A short label: ``flights.tailnum -> planes.tailnum``."""
        return f"{self.child}.{'+'.join(self.child_key)} -> {self.parent}.{'+'.join(self.parent_key)}"

    def to_dict(self) -> dict[str, Any]:
        return {"parent": self.parent, "parent_key": list(self.parent_key), "child": self.child,
                "child_key": list(self.child_key), "orphan_rate": self.orphan_rate,
                "missing_rate": self.missing_rate}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Relationship:
        return cls(parent=str(payload["parent"]), parent_key=_names(payload["parent_key"]),
                   child=str(payload["child"]), child_key=_names(payload["child_key"]),
                   orphan_rate=float(payload.get("orphan_rate", 0.0)),
                   missing_rate=float(payload.get("missing_rate", 0.0)))




def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)) or not value:
        raise MetadataError(f"A key must be a column name or a non-empty list of names, got {value!r}")
    return tuple(str(v) for v in value)


def column_kind(s: pd.Series) -> str:
    """The storage kind of a column, as compared between a foreign key and its primary key."""
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_float_dtype(s):
        non_null = s.dropna()
        return "integer" if len(non_null) and bool((non_null == np.round(non_null)).all()) else "float"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    return "string"


def key_rates(parent: pd.DataFrame, parent_key: tuple[str, ...], child: pd.DataFrame,
              child_key: tuple[str, ...]) -> tuple[float, float]:
    """(orphan rate, missing rate) of ``child[child_key]`` against ``parent[parent_key]``."""
    if len(child) == 0:
        return 0.0, 0.0
    ckey = child[list(child_key)]
    missing = ckey.isna().any(axis=1).to_numpy()
    present = ckey[~missing]
    if len(present) == 0:
        return 0.0, float(missing.mean())
    found = _contained(parent, parent_key, present, child_key)
    return float(1.0 - found.mean()), float(missing.mean())


def _contained(parent: pd.DataFrame, parent_key: tuple[str, ...], child: pd.DataFrame,
               child_key: tuple[str, ...]) -> np.ndarray:
    """For each child row, whether its key is a key of the parent."""
    if len(parent_key) == 1:
        return child[child_key[0]].isin(parent[parent_key[0]].dropna().unique()).to_numpy()
    left = pd.MultiIndex.from_frame(child[list(child_key)].astype(object))
    right = pd.MultiIndex.from_frame(parent[list(parent_key)].astype(object))
    return np.asarray(left.isin(right))
