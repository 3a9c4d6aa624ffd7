"""Semantic column types, their detection from data, and validation of tables against them."""

from simulacra.metadata.columns import (
    BooleanColumn,
    CategoricalColumn,
    Column,
    ColumnType,
    DatetimeColumn,
    IdColumn,
    NumericalColumn,
    TextColumn,
    TimedeltaColumn,
)
from simulacra.metadata.detect import detect_column, detect_datetime_format
from simulacra.metadata.multi import MultiTableMetadata, Relationship, TableMeta
from simulacra.metadata.table import Metadata, check_frame, frame_problems

__all__ = [
    "BooleanColumn",
    "CategoricalColumn",
    "Column",
    "ColumnType",
    "DatetimeColumn",
    "IdColumn",
    "Metadata",
    "MultiTableMetadata",
    "NumericalColumn",
    "Relationship",
    "TableMeta",
    "TextColumn",
    "TimedeltaColumn",
    "check_frame",
    "detect_column",
    "detect_datetime_format",
    "frame_problems",
]
