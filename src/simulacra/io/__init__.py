"""Readers and writers for tables, and model persistence without pickle."""

from simulacra.io.model import load_model, read_manifest, save_model
from simulacra.io.tables import atomic_path, read_table, table_format, write_table

__all__ = ["atomic_path", "load_model", "read_manifest", "read_table", "save_model", "table_format", "write_table"]
