"""Reading a table larger than memory as a stream of chunks (Parquet file or folder, CSV, JSONL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from simulacra.errors import DataReadError, InputError
from simulacra.io.tables import _csv_options, table_format

#: Rows per chunk when reading a large input.
READ_CHUNK_ROWS = 250_000


def iter_table_chunks(
    path: str | Path,
    chunk_rows: int = READ_CHUNK_ROWS,
    *,
    format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> Iterator[pd.DataFrame]:
    """The rows of ``path`` as DataFrames of at most ``chunk_rows`` rows, in file order.

    A folder is read as partitioned Parquet (files starting with ``_`` or ``.`` are skipped). CSV
    delimiter and encoding are sniffed as by ``read_table``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b\\n1,x\\n2,y\\n3,z\\n")
    >>> [len(c) for c in iter_table_chunks(p, 2)]
    [2, 1]
    """
    p = Path(path)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise InputError(f"chunk_rows must be a whole number of at least 1, got {chunk_rows!r}")
    if not p.exists():
        raise DataReadError(f"File '{p}' does not exist.")
    fmt = "parquet" if p.is_dir() else table_format(p, format)
    try:
        if fmt == "parquet":
            yield from _parquet_chunks(p, chunk_rows)
        elif fmt == "csv":
            yield from _csv_chunks(p, chunk_rows, delimiter, encoding)
        elif fmt == "jsonl":
            yield from pd.read_json(p, lines=True, chunksize=chunk_rows)
        else:
            raise InputError(f"Cannot stream '{p}' ({fmt}); use Parquet, CSV or JSONL for large inputs.")
    except (DataReadError, InputError):
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataReadError(f"Could not read '{p}' as {fmt}: {exc}") from None


def parquet_files(p: Path) -> list[Path]:
    """The Parquet files of a file or folder (recursively, in name order; names starting with ``_``
    or ``.`` skipped, as Arrow and Spark do)."""
    if p.is_file():
        return [p]
    files = [
        f for f in sorted(p.rglob("*"))
        if f.is_file() and not any(part.startswith(("_", ".")) for part in f.relative_to(p).parts)
    ]
    if not files:
        raise DataReadError(f"'{p}' is a folder with no Parquet files.")
    return files


def count_rows_fast(path: str | Path) -> int | None:
    """The number of rows of a Parquet file or folder from its footers (None for text formats)."""
    import pyarrow.parquet as pq

    p = Path(path)
    if p.is_dir() or p.suffix.lower() in (".parquet", ".pq"):
        return sum(int(pq.ParquetFile(f).metadata.num_rows) for f in parquet_files(p))
    return None


def _parquet_chunks(p: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    # file by file, batch by batch: Arrow's dataset scanner buffers far more (about 1 GB for 10M rows)
    import pyarrow.parquet as pq

    buffered: list[pd.DataFrame] = []
    size = 0
    for file in parquet_files(p):
        with pq.ParquetFile(file) as pf:
            for batch in pf.iter_batches(batch_size=chunk_rows):
                if batch.num_rows == 0:
                    continue
                buffered.append(batch.to_pandas())
                size += batch.num_rows
                if size >= chunk_rows:
                    yield pd.concat(buffered, ignore_index=True) if len(buffered) > 1 else buffered[0]
                    buffered, size = [], 0
    if buffered:
        yield pd.concat(buffered, ignore_index=True) if len(buffered) > 1 else buffered[0]


def _csv_chunks(p: Path, chunk_rows: int, delimiter: str | None, encoding: str | None) -> Iterator[pd.DataFrame]:
    opts = {k: v for k, v in _csv_options(p, delimiter, encoding).items() if k != "low_memory"}
    with pd.read_csv(p, chunksize=chunk_rows, **opts) as reader:
        yield from reader
