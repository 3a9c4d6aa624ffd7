"""The JSON Schema of a spec file, for editor completion and validation."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Field, create_model

from simulacra.spec.kinds.base import KINDS
from simulacra.spec.model import GraphTable, RowTable, SeriesTable, SpecDocument


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec (every table kind and column kind, with descriptions).

    >>> schema = spec_json_schema()
    >>> "normal" in str(schema["$defs"]["Normal"]), schema["title"]
    (True, 'Spec')
    """
    from simulacra.spec import kinds as _all  # noqa: F401

    column: Any = Annotated[Union[tuple(KINDS[k] for k in sorted(KINDS))], Field(discriminator="kind")]
    entry: Any = Union[column, str, float, int, bool]
    tables = []
    for cls in (RowTable, SeriesTable, GraphTable):
        fields: dict[str, Any] = {"columns": (dict[str, entry], Field(default_factory=dict))}
        if cls is GraphTable:
            fields["edge_columns"] = (dict[str, entry], Field(default_factory=dict))
        tables.append(create_model(cls.__name__, __base__=cls, **fields))
    table: Any = Union[tuple(tables)]
    doc = create_model("Spec", __base__=SpecDocument, tables=(dict[str, table], ...))
    schema = doc.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
