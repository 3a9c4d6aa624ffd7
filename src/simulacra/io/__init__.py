"""Readers and writers for tables, and the model archive format (no pickle; it knows no model)."""

from simulacra.io.model import model_key, read_archive, read_manifest, write_archive
from simulacra.io.tables import atomic_path, read_table, read_tables, table_format, write_table

__all__ = [
    "atomic_path", "model_key", "read_archive", "read_manifest", "read_table", "read_tables", "table_format", "write_archive",
    "write_table",
]

_MOVED = {
    "load_model": "simulacra.load(path) (io knows only the archive format, not the models)",
    "save_model": "model.save(path)",
}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        raise AttributeError(f"simulacra.io.{name} was removed; use {_MOVED[name]}")
    raise AttributeError(f"module 'simulacra.io' has no attribute '{name}'")
