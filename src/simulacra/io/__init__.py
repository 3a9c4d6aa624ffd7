"""Readers and writers for tables, and the model archive format (no pickle; it knows no model)."""

from simulacra.io.model import model_key, read_archive, read_manifest, write_archive
from simulacra.io.tables import atomic_path, read_table, table_format, write_table

__all__ = [
    "atomic_path", "model_key", "read_archive", "read_manifest", "read_table", "table_format", "write_archive",
    "write_table",
]
