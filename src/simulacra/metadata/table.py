"""Table metadata: one semantic type per column, detected, editable, saved as versioned JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from simulacra.errors import MetadataError, ValidationError
from simulacra.metadata.columns import COLUMN_CLASSES, Column
from simulacra.metadata.detect import detect_column
from simulacra.metadata.validate import column_problems

SCHEMA_VERSION = 1
_COLUMN_ADAPTER: TypeAdapter[Any] = TypeAdapter(Column)


class Metadata(BaseModel):
    """The semantic description of a table.

    Examples
    --------
    >>> import pandas as pd
    >>> meta = Metadata.detect(pd.DataFrame({"age": [31, 45, 27], "city": ["Oslo", "Rome", "Oslo"]}))
    >>> meta.columns["age"].type, meta.columns["city"].type
    ('numerical', 'categorical')
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    schema_version: int = SCHEMA_VERSION
    columns: dict[str, Column] = Field(default_factory=dict)
    primary_key: str | None = None
    constraints: list[dict[str, Any]] = Field(default_factory=list)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def detect(cls, data: pd.DataFrame | str | Path, **read_options: Any) -> Metadata:
        """Detect metadata from a DataFrame or a file (CSV, Parquet, JSONL)."""
        if not isinstance(data, pd.DataFrame):
            from simulacra.io import read_table

            data = read_table(data, **read_options)
        check_frame(data)
        columns = {str(name): detect_column(data[name]) for name in data.columns}
        keys = [name for name, col in columns.items() if col.type == "id"]
        return cls(columns=columns, primary_key=keys[0] if len(keys) == 1 else None)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Metadata:
        """Build metadata from its JSON form, with a clear error on a bad or newer document."""
        version = payload.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise MetadataError(
                f"Metadata schema_version {version!r} is newer than this simulacra understands "
                f"({SCHEMA_VERSION}); upgrade simulacra."
            )
        try:
            return cls.model_validate(payload)
        except PydanticValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            ]
            raise MetadataError("Invalid metadata:\n  - " + "\n  - ".join(problems)) from None

    @classmethod
    def load(cls, path: str | Path) -> Metadata:
        """Read metadata from a JSON file."""
        return cls.from_dict(read_json(path))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form."""
        return self.model_dump(mode="json", exclude_defaults=False)

    def save(self, path: str | Path) -> None:
        """Write the metadata as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    # -- editing ----------------------------------------------------------------------------
    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def __getitem__(self, name: str) -> Column:
        try:
            return self.columns[name]
        except KeyError:
            raise MetadataError(
                f"No column '{name}' in the metadata; columns are: {', '.join(self.columns)}"
            ) from None

    def update_column(self, name: str, type: str | None = None, **fields: Any) -> Metadata:
        """Change a column's type and/or fields in place; returns self for chaining.

        A new ``type`` starts the column afresh with that type's defaults plus ``fields``.
        """
        old = self[name]
        if type is not None and type != old.type:
            if type not in COLUMN_CLASSES:
                raise MetadataError(
                    f"Unknown column type '{type}' for '{name}'; use one of: {', '.join(COLUMN_CLASSES)}"
                )
            payload: dict[str, Any] = {"type": type, "pii": old.pii, **fields}
        else:
            payload = {**old.model_dump(), **fields}
        try:
            self.columns[name] = _COLUMN_ADAPTER.validate_python(payload)
        except PydanticValidationError as exc:
            raise MetadataError(f"Invalid settings for column '{name}': {exc.errors()[0]['msg']}") from None
        return self

    # -- validation -------------------------------------------------------------------------
    def problems(self, data: pd.DataFrame) -> list[str]:
        """Every way in which ``data`` does not match this metadata (empty when it matches)."""
        found = frame_problems(data)
        if found:
            return found
        names = [str(c) for c in data.columns]
        missing = [c for c in self.columns if c not in names]
        extra = [c for c in names if c not in self.columns]
        if missing:
            found.append(f"Columns in the metadata but not in the data: {', '.join(missing)}")
        if extra:
            found.append(
                f"Columns in the data but not in the metadata: {', '.join(extra)}; "
                "add them to the metadata or drop them"
            )
        for name, col in self.columns.items():
            if name in names:
                found.extend(column_problems(name, data[name], col))
        if self.primary_key is not None and self.primary_key not in self.columns:
            found.append(f"primary_key '{self.primary_key}' is not a column")
        return found

    def validate_data(self, data: pd.DataFrame) -> None:
        """Raise :class:`~simulacra.errors.ValidationError` listing every problem at once."""
        found = self.problems(data)
        if found:
            raise ValidationError(found)


def read_json(path: str | Path) -> Any:
    """The JSON document in a metadata file, with a clear error when it is absent or malformed."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataError(f"Metadata file '{path}' does not exist.") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(f"Metadata file '{path}' is not valid JSON: {exc}") from None


def frame_problems(data: object) -> list[str]:
    """Problems of the frame itself: not a DataFrame, no rows or columns, duplicate names."""
    if not isinstance(data, pd.DataFrame):
        return [f"Expected a pandas DataFrame, got {type(data).__name__}"]
    found = []
    if data.shape[1] == 0:
        found.append("The table has no columns")
    if len(data) == 0:
        found.append("The table has no rows (only a header?); give at least one row of data")
    names = pd.Index([str(c) for c in data.columns])
    dups = names[names.duplicated()].unique().tolist()
    if dups:
        found.append(
            f"Duplicate column names: {', '.join(map(repr, dups))}; rename them so each is unique"
        )
    for name in data.columns:
        problem = unsupported_values(str(name), data[name]) if data.ndim == 2 and not dups else None
        if problem:
            found.append(problem)
    return found


_NESTED = (list, tuple, dict, set, frozenset, np.ndarray)
_BINARY = (bytes, bytearray, memoryview)


def unsupported_values(name: str, series: pd.Series) -> str | None:
    """Why no model can use the column (nested lists/structs, binary values), or None.

    Nested and binary columns are refused rather than guessed at: flatten or decode them first.

    Examples
    --------
    >>> unsupported_values("tags", pd.Series([[1, 2], [3]]))
    "Column 'tags' holds nested values (list, e.g. [1, 2]), which simulacra cannot model; flatten it into plain columns (one per field or item, e.g. with pandas.json_normalize or Series.explode) or drop it"
    """
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        arrow = dtype.pyarrow_dtype
        if pa.types.is_nested(arrow):
            return _nested_message(name, str(arrow), None)
        if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow) or pa.types.is_fixed_size_binary(arrow):
            return _binary_message(name)
        return None
    if dtype != object:
        return None
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind == "bytes":
        return _binary_message(name)
    if kind not in ("mixed", "mixed-integer", "unknown-array"):
        return None
    types = series.dropna().map(type)
    nested = types.isin(_NESTED).to_numpy()
    if nested.any():
        first = series.dropna()[nested].iloc[0]
        return _nested_message(name, "list" if isinstance(first, np.ndarray) else type(first).__name__, first)
    if types.isin(_BINARY).any():
        return _binary_message(name)
    return None


def _nested_message(name: str, kind: str, example: Any) -> str:
    shown = "" if example is None else f", e.g. {_short(example)}"
    return (
        f"Column '{name}' holds nested values ({kind}{shown}), which simulacra cannot model; flatten it into "
        "plain columns (one per field or item, e.g. with pandas.json_normalize or Series.explode) or drop it"
    )


def _binary_message(name: str) -> str:
    return (
        f"Column '{name}' holds binary values (bytes), which simulacra cannot model; decode them to text "
        "(e.g. UTF-8 or base64) or drop the column"
    )


def _short(value: Any) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_frame(data: object) -> None:
    """Raise a clear error for a frame that no model can use."""
    found = frame_problems(data)
    if found:
        raise ValidationError(found)
