"""Writing chunks of rows as files (Parquet, CSV, JSONL), each complete or absent, and merging them.

Every part file is written to a hidden temporary name and renamed when complete, so a crash never
leaves a file that looks complete. Parquet parts share one Arrow schema fixed before the job starts,
so a folder of parts reads back as one table.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.io.tables import atomic_path

#: Output formats a job can write, with their file suffix.
SUFFIXES = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}


def part_name(index: int, fmt: str) -> str:
    """The file name of part ``index``.

    Examples
    --------
    >>> part_name(3, "parquet")
    'part-000003.parquet'
    """
    return f"part-{index:06d}{SUFFIXES[fmt]}"


def check_format(fmt: str) -> str:
    """``fmt`` normalised, or an InputError naming the formats a job can write."""
    name = str(fmt).lower().lstrip(".")
    if name == "pq":
        name = "parquet"
    if name not in SUFFIXES:
        raise InputError(f"Cannot write format '{fmt}' in chunks; use one of: {', '.join(SUFFIXES)}")
    return name


def arrow_schema(sample: pd.DataFrame) -> Any:
    """The Arrow schema every part will have, from a sample of the rows (all-missing columns become text)."""
    import pyarrow as pa

    schema = pa.Schema.from_pandas(sample, preserve_index=False)
    for i, fld in enumerate(schema):
        if pa.types.is_null(fld.type):
            schema = schema.set(i, pa.field(fld.name, pa.string()))
    return schema


@dataclass
class ChunkWriter:
    """Writes one chunk of rows as one file of format ``fmt``; picklable for worker processes.

    Parameters
    ----------
    fmt : str
        ``parquet``, ``csv`` or ``jsonl``.
    schema_bytes : bytes, optional
        Serialized Arrow schema all Parquet parts share (see :func:`arrow_schema`).
    datetime_formats : dict, optional
        ``strftime`` formats for datetime columns in CSV output (ISO otherwise).
    compression : str
        Parquet compression codec.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "part.csv"
    >>> ChunkWriter("csv").write(pd.DataFrame({"a": [1, 2]}), out)
    2
    >>> out.read_text().split()
    ['"a"', '1', '2']
    """

    fmt: str
    schema_bytes: bytes | None = None
    datetime_formats: dict[str, str] = field(default_factory=dict)
    compression: str = "snappy"
    #: Whether the job's columns allow :meth:`to_arrow_fast` (see :func:`fast_eligible`).
    fast: bool = False

    def schema(self) -> Any:
        if self.schema_bytes is None:
            return None
        import pyarrow as pa

        return pa.ipc.read_schema(pa.py_buffer(self.schema_bytes))

    def to_arrow(self, frame: pd.DataFrame, target: Any = None) -> Any:
        """``frame`` as an Arrow table of the job's schema (or of ``target``, a file's schema)."""
        import pyarrow as pa

        schema = self.schema()
        try:
            table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
            return table if target is None or table.schema.equals(target) else table.cast(target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise InputError(
                f"A chunk's columns do not match the job's schema ({exc}); the rows of one job must "
                "keep the same column types."
            ) from None

    def to_arrow_fast(self, frame: pd.DataFrame) -> Any:
        """Text columns dictionary-encoded from ``pd.factorize`` (about 2x faster to convert and write
        than Python strings one by one); None when the schema has types this path does not handle."""
        import numpy as np
        import pyarrow as pa

        schema = self.schema()
        if not self.fast or schema is None or not all(_simple(f.type) for f in schema):
            return None
        arrays, fields = [], []
        try:
            for fld in schema:
                series = frame[fld.name]
                if pa.types.is_string(fld.type) and series.dtype == object:
                    codes, uniques = pd.factorize(series, use_na_sentinel=True)
                    arr = pa.DictionaryArray.from_arrays(
                        pa.array(codes.astype(np.int32), mask=codes < 0), pa.array(np.asarray(uniques, dtype=object), type=pa.string())
                    )
                    fields.append(pa.field(fld.name, arr.type))
                else:
                    arr = pa.Array.from_pandas(series, type=fld.type)
                    fields.append(fld)
                arrays.append(arr)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, KeyError):
            return None
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=schema.metadata))

    def write(self, frame: pd.DataFrame, path: str | Path) -> int:
        """Write ``frame`` to ``path`` (atomically); returns the number of rows written."""
        return self.write_pieces(iter([frame]), path)

    def write_pieces(self, pieces: Iterator[pd.DataFrame], path: str | Path) -> int:
        """Write consecutive pieces of one chunk as one file (a Parquet row group each), holding one
        piece in memory at a time; the file appears complete or not at all. Returns the rows written."""
        rows = 0
        with atomic_path(path) as tmp:
            if self.fmt == "parquet":
                import pyarrow.parquet as pq

                writer = None
                try:
                    for piece in pieces:
                        table = self.to_arrow_fast(piece)
                        if writer is None:
                            fast = table is not None
                            table = table if fast else self.to_arrow(piece)
                            # without the Arrow schema in the file, dictionary-encoded text reads back as
                            # text (the pandas metadata restores the dtypes); the fast path only allows
                            # types Parquet stores faithfully on its own
                            writer = pq.ParquetWriter(tmp, table.schema, compression=self.compression, store_schema=not fast)
                        elif table is None or not table.schema.equals(writer.schema):
                            table = self.to_arrow(piece, target=writer.schema)
                        writer.write_table(table)
                        rows += len(piece)
                finally:
                    if writer is not None:
                        writer.close()
            else:
                with open(tmp, "wb") as fh:
                    for i, piece in enumerate(pieces):
                        self._append_text(piece, fh, header=i == 0)
                        rows += len(piece)
        return rows

    def _append_text(self, frame: pd.DataFrame, fh: Any, header: bool) -> None:
        if self.fmt == "jsonl":
            text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
            if text and not text.endswith("\n"):
                text += "\n"
            fh.write(text.encode("utf-8") if len(frame) else b"")
            return
        import pyarrow as pa
        import pyarrow.csv as pacsv

        if self.datetime_formats:
            frame = frame.copy()
            for col, f in self.datetime_formats.items():
                if col in frame and f and f != "mixed" and pd.api.types.is_datetime64_any_dtype(frame[col]):
                    frame[col] = frame[col].dt.strftime(f)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(include_header=header))


def fast_eligible(sample: pd.DataFrame) -> bool:
    """Whether every column is a plain numpy dtype (or object text) that Parquet alone restores.

    Examples
    --------
    >>> fast_eligible(pd.DataFrame({"a": [1, 2], "b": ["x", None]}))
    True
    >>> fast_eligible(pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}))
    False
    """
    for dtype in sample.dtypes:
        if dtype == object:
            continue
        if not isinstance(dtype, np.dtype) or dtype.kind not in "iufbM":
            return False
        if dtype.kind == "M" and dtype != np.dtype("datetime64[ns]"):
            return False
    return True


def _simple(kind: Any) -> bool:
    """Arrow types that Parquet stores and reads back faithfully without the Arrow schema."""
    import pyarrow as pa

    t = pa.types
    if t.is_timestamp(kind):
        return kind.tz is None
    return bool(t.is_integer(kind) or t.is_floating(kind) or t.is_boolean(kind) or t.is_string(kind) or t.is_date32(kind))


def count_rows(path: Path, fmt: str) -> int | None:
    """Rows in a finished part, read from the Parquet footer (None for text formats: not checked)."""
    if fmt != "parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def merge_parts(parts: list[Path], dest: Path, fmt: str, schema: Any = None) -> Path:
    """Concatenate finished parts, in order, into ``dest`` (which appears only once complete).

    Parquet parts are copied row group by row group (memory of one row group); CSV parts keep the
    header of the first part only; JSONL parts are joined as they are.
    """
    with atomic_path(dest) as tmp:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            first = pq.ParquetFile(parts[0]).schema_arrow if parts else schema
            with pq.ParquetWriter(tmp, schema if schema is not None else first) as writer:
                for part in parts:
                    pf = pq.ParquetFile(part)
                    for group in range(pf.num_row_groups):
                        writer.write_table(pf.read_row_group(group))
        else:
            with open(tmp, "wb") as out:
                for i, part in enumerate(parts):
                    with open(part, "rb") as src:
                        if fmt == "csv" and i > 0:
                            src.readline()
                        shutil.copyfileobj(src, out, 1 << 22)
    return dest
