"""Semantic column types: what a column means, not how pandas stores it."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class ColumnType(str, Enum):
    """The semantic type of a column."""

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TIMEDELTA = "timedelta"
    ID = "id"
    TEXT = "text"


class _Column(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    pii: bool = Field(default=False, description="The column holds personal data.")


class NumericalColumn(_Column):
    """Integer or decimal numbers, with observed bounds and precision."""

    type: Literal["numerical"] = "numerical"
    integer: bool = Field(default=False, description="Values are whole numbers.")
    minimum: float | None = Field(default=None, description="Smallest allowed value.")
    maximum: float | None = Field(default=None, description="Largest allowed value.")
    decimals: int | None = Field(
        default=None, ge=0, le=15, description="Digits after the decimal point; None keeps full precision."
    )
    missing_tokens: list[str] = Field(
        default_factory=list,
        description="Words in the raw data that stand for a missing number (e.g. '?', 'n/a').",
    )


class CategoricalColumn(_Column):
    """A column of labels from a finite set."""

    type: Literal["categorical"] = "categorical"
    categories: list[Any] | None = Field(
        default=None, description="The allowed values, when the domain is fixed; None means any label seen."
    )
    ordered: bool = False


class BooleanColumn(_Column):
    """True/False."""

    type: Literal["boolean"] = "boolean"


class DatetimeColumn(_Column):
    """Dates or timestamps."""

    type: Literal["datetime"] = "datetime"
    format: str | None = Field(
        default=None,
        description="strftime format of the raw strings, 'mixed' for several formats, None for native datetimes.",
    )
    minimum: str | None = None
    maximum: str | None = None


class TimedeltaColumn(_Column):
    """Durations (``timedelta64``, or strings such as ``'1 days 02:00:00'`` or ``'P1DT2H'``)."""

    type: Literal["timedelta"] = "timedelta"
    minimum: float | None = Field(default=None, description="Shortest allowed duration, in seconds.")
    maximum: float | None = Field(default=None, description="Longest allowed duration, in seconds.")


class IdColumn(_Column):
    """A unique identifier or key; synthetic rows get new identifiers."""

    type: Literal["id"] = "id"
    integer: bool = False
    pattern: str | None = Field(
        default=None,
        description="Shape of string identifiers: 'd' digit, 'A' upper, 'a' lower letter, other characters kept.",
    )


class TextColumn(_Column):
    """Free text."""

    type: Literal["text"] = "text"


Column = Annotated[
    Union[
        NumericalColumn, CategoricalColumn, BooleanColumn, DatetimeColumn, TimedeltaColumn, IdColumn, TextColumn
    ],
    Field(discriminator="type"),
]

COLUMN_CLASSES: dict[str, type[_Column]] = {
    "numerical": NumericalColumn,
    "categorical": CategoricalColumn,
    "boolean": BooleanColumn,
    "datetime": DatetimeColumn,
    "timedelta": TimedeltaColumn,
    "id": IdColumn,
    "text": TextColumn,
}
