"""The column-kind contract, the kind registry, and the per-block generation context."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulacra.errors import SpecError
from simulacra.random import stream
from simulacra.spec.source import Loc, SpecSource, pydantic_problems, suggest

Values = Any  # a numpy array, or a pyarrow array for strings


def stable_key(name: str) -> int:
    """A stable 32-bit key of a name, so that streams do not move when columns are added or reordered."""
    return zlib.crc32(name.encode("utf-8"))


@dataclass
class Block:
    """Rows ``first_row`` .. ``first_row + n`` of one block of one table, being generated."""

    n: int
    first_row: int
    seed: int
    table_key: int
    block: int
    retry: int = 0
    columns: dict[str, Values] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def rng(self, name: str, salt: int = 0) -> np.random.Generator:
        """The random stream of column ``name`` in this block (and retry)."""
        key = (self.table_key, self.block, stable_key(name), self.retry, salt)
        return stream(self.seed, *key)

    def rows(self) -> np.ndarray:
        return np.arange(self.first_row, self.first_row + self.n, dtype=np.int64)


class ColumnKind(BaseModel):
    """A column kind: validated parameters, the columns it reads, and a vectorized generator."""

    # NaN and infinity are refused in every numeric parameter (a NaN correlation or concentration would
    # otherwise pass the range checks and give silently wrong columns); omit a bound for "no bound".
    model_config = ConfigDict(extra="forbid", frozen=False, allow_inf_nan=False)

    kind: str
    hidden: bool = Field(False, description="Compute the column (for formulas, templates) but do not output it.")
    null_rate: float = Field(0.0, ge=0, lt=1, description="Fraction of values set to missing.")
    description: str | None = Field(None, description="Free text for the reader of the spec.")

    #: table kinds where this column kind may appear
    table_kinds: ClassVar[frozenset[str]] = frozenset({"table", "timeseries", "graph", "edges"})

    def resolve(self, loc: Loc, source: SpecSource) -> None:
        """Parse nested column specs (called once after validation)."""

    def dependencies(self) -> set[str]:
        """Names of columns this one reads."""
        return set()

    def outputs(self, name: str) -> list[str]:
        """Columns this entry produces (a group produces several)."""
        return [name]

    def generate(self, block: Block, name: str) -> dict[str, Values]:
        raise NotImplementedError


KINDS: dict[str, type[ColumnKind]] = {}
K = TypeVar("K", bound=ColumnKind)


def register(cls: type[K]) -> type[K]:
    """Class decorator adding a column kind to the registry under its ``kind`` default."""
    KINDS[str(cls.model_fields["kind"].default)] = cls
    return cls


def parse_column(data: Any, loc: Loc, source: SpecSource, table_kind: str = "table") -> ColumnKind:
    """A validated column kind from the spec's data for one column.

    A bare string starting with ``=`` is a formula; any other scalar is a constant.
    """
    from simulacra.spec import kinds as _all  # noqa: F401 - fills the registry

    if isinstance(data, str) and data.lstrip().startswith("="):
        data = {"kind": "formula", "expr": data.lstrip()[1:]}
    elif isinstance(data, (str, int, float, bool)) or data is None:
        data = {"kind": "constant", "value": data}
    if not isinstance(data, dict):
        raise source.error(loc, f"a column must be a mapping with a 'kind', a '= formula' or a constant, got {data!r}")
    kind = data.get("kind")
    if kind is None:
        raise source.error(loc, f"missing 'kind'; allowed kinds: {', '.join(sorted(KINDS))}")
    cls = KINDS.get(str(kind))
    if cls is None:
        raise source.error(
            (*loc, "kind"), f"unknown kind '{kind}'{suggest(str(kind), KINDS)}; allowed kinds: {', '.join(sorted(KINDS))}"
        )
    if table_kind not in cls.table_kinds:
        allowed = ", ".join(sorted(cls.table_kinds))
        raise source.error((*loc, "kind"), f"kind '{kind}' cannot be used in a {table_kind} table (only in: {allowed})")
    try:
        column = cls.model_validate(data)
    except ValidationError as exc:
        raise pydantic_problems(exc, cls, loc, source) from None
    try:
        column.resolve(loc, source)
    except SpecError:
        raise
    except ValueError as exc:
        raise source.error(loc, str(exc)) from None
    return column


def to_arrow_strings(values: Any) -> pa.Array:
    """Any array of values as an Arrow string array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if pa.types.is_string(values.type) else values.cast(pa.string())
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        return pa.array(arr.astype(str), type=pa.string())
    if arr.dtype.kind == "O":
        return pa.array([None if v is None else str(v) for v in arr.tolist()], type=pa.string())
    return pa.array(arr).cast(pa.string())


def apply_nulls(values: Values, mask: np.ndarray) -> Values:
    """``values`` with the positions in ``mask`` set to missing (type widened as needed)."""
    if isinstance(values, pa.Array):
        return pa.compute.if_else(pa.array(mask), pa.scalar(None, values.type), values)
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        out = arr.copy()
        out[mask] = np.nan
        return out
    if arr.dtype.kind == "M":
        out = arr.copy()
        out[mask] = np.datetime64("NaT")
        return out
    import pandas as pd

    if arr.dtype.kind == "b":
        return pd.arrays.BooleanArray(arr.copy(), mask.copy())
    if arr.dtype.kind in "iu":
        return pd.arrays.IntegerArray(arr.astype(np.int64), mask.copy())
    out = arr.astype(object)
    out[mask] = None
    return out


def check_probabilities(weights: list[float], what: str = "weights") -> np.ndarray:
    """Non-negative weights with a positive sum, normalised to 1."""
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) == 0 or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"{what} must be non-negative numbers with a positive sum, got {weights}")
    return w / w.sum()


Generator = Callable[[Block, str], dict[str, Values]]
