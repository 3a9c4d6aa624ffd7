"""Writing tables: one stack for every writer in simulacra (whole tables, spec output, job parts).

- :func:`output_format`: the one table of output formats and their suffixes;
- :class:`TableWriter`: one file written frame by frame (Parquet row groups, CSV, JSONL) in bounded
  memory, with one Arrow schema for every frame, appearing complete or not at all;
- :class:`ChunkWriter`: the picklable settings of a job's writer, sent to worker processes;
- :func:`merge_parts`: finished parts concatenated into one file.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.io.files import atomic_path

#: Formats a table can be streamed to, with their file suffix.
SUFFIXES = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}
#: Formats of a job's part files: those above, and ``arrow`` (an Arrow IPC stream, LZ4-compressed),
#: the staging format of a single Parquet file, encoded to Parquet only once, when assembled.
PART_SUFFIXES = {**SUFFIXES, "arrow": ".arrow"}
#: Other suffixes accepted for those formats.
ALIASES = {".pq": "parquet", ".tsv": "csv", ".txt": "csv", ".ndjson": "jsonl"}


def output_format(path: str | Path, format: str | None = None, *, what: str = "write") -> str:
    """The streamable format of ``path`` (``parquet``, ``csv`` or ``jsonl``): given, or from the suffix.

    A path without a suffix is a folder of Parquet parts.

    Examples
    --------
    >>> output_format("rows.csv"), output_format("out/"), output_format("x.bin", "pq")
    ('csv', 'parquet', 'parquet')
    """
    if format:
        name = str(format).lower().lstrip(".")
        name = ALIASES.get("." + name, name)
        if name not in SUFFIXES:
            raise InputError(f"Cannot {what} format '{format}'; use one of: {', '.join(SUFFIXES)}")
        return name
    suffix = Path(path).suffix.lower()
    if not suffix or str(path).endswith(("/", "\\")):
        return "parquet"
    found = ALIASES.get(suffix) or next((k for k, v in SUFFIXES.items() if v == suffix), None)
    if found is None:
        raise InputError(
            f"Cannot {what} '{Path(path).name}': use a .parquet, .csv or .jsonl file name, or pass the format."
        )
    return found


def arrow_schema(sample: pd.DataFrame) -> Any:
    """The Arrow schema every frame of a file will have, from a sample (all-missing columns become text)."""
    import pyarrow as pa

    schema = pa.Schema.from_pandas(sample, preserve_index=False)
    for i, fld in enumerate(schema):
        if pa.types.is_null(fld.type):
            schema = schema.set(i, pa.field(fld.name, pa.string()))
    return schema


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


def csv_ready(frame: pd.DataFrame, formats: dict[str, str]) -> pd.DataFrame:
    """``frame`` with the columns Arrow's CSV writer would spell badly turned into text.

    Datetimes named in ``formats`` take their ``strftime`` format; other datetimes and timedeltas
    are written as pandas writes them (``2024-01-02 03:04:05``, ``0 days 00:00:01``) rather than
    with nanoseconds or as integers.

    Examples
    --------
    >>> frame = pd.DataFrame({"d": pd.to_datetime(["2024-01-02"]), "t": pd.to_timedelta([1], unit="s")})
    >>> csv_ready(frame, {"d": "%d/%m/%Y"}).iloc[0].tolist()
    ['02/01/2024', '0 days 00:00:01']
    """
    todo: dict[str, Any] = {}
    for col in frame.columns:
        series = frame[col]
        fmt = formats.get(col)
        if pd.api.types.is_datetime64_any_dtype(series):
            todo[col] = series.dt.strftime(fmt) if fmt and fmt != "mixed" else series.astype(str).where(series.notna())
        elif pd.api.types.is_timedelta64_dtype(series):
            todo[col] = series.astype(str).where(series.notna())
    if not todo:
        return frame
    frame = frame.copy(deep=False)
    for col, values in todo.items():
        frame[col] = values
    return frame


@dataclass
class ChunkWriter:
    """How the files of one job are written; picklable for worker processes.

    Parameters
    ----------
    fmt : str
        ``parquet``, ``csv`` or ``jsonl``.
    schema_bytes : bytes, optional
        Serialized Arrow schema every Parquet file of the job shares (see :func:`arrow_schema`).
    datetime_formats : dict, optional
        ``strftime`` formats for datetime columns in CSV output (ISO otherwise).
    compression : str
        Parquet compression codec.
    fast : bool
        Whether the columns allow :meth:`to_arrow_fast` (see :func:`fast_eligible`).

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
    fast: bool = False

    @classmethod
    def for_sample(cls, fmt: str, sample: pd.DataFrame, **options: Any) -> ChunkWriter:
        """Settings for files of rows like ``sample`` (its schema fixed for every file)."""
        writer = cls(fmt, **options)
        if fmt in ("parquet", "arrow"):
            writer.schema_bytes = arrow_schema(sample).serialize().to_pybytes()
            writer.fast = fast_eligible(sample)
        return writer

    def schema(self) -> Any:
        if self.schema_bytes is None:
            return None
        import pyarrow as pa

        return pa.ipc.read_schema(pa.py_buffer(self.schema_bytes))

    def to_arrow(self, frame: pd.DataFrame, target: Any = None) -> Any:
        """``frame`` as an Arrow table of the job's schema (or of ``target``, a file's schema)."""
        import pyarrow as pa

        try:
            table = pa.Table.from_pandas(frame, schema=self.schema(), preserve_index=False)
            return table if target is None or table.schema.equals(target) else table.cast(target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise InputError(
                f"A chunk's columns do not match the file's schema ({exc}); the rows of one file must "
                "keep the same column types."
            ) from None

    def to_arrow_fast(self, frame: pd.DataFrame) -> Any:
        """Text columns dictionary-encoded from ``pd.factorize`` (about 2x faster to convert and write
        than Python strings one by one); None when the schema has types this path does not handle."""
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

    def open(self, path: str | Path) -> TableWriter:
        """A :class:`TableWriter` of ``path`` with these settings."""
        return TableWriter(path, self)

    def write(self, frame: pd.DataFrame, path: str | Path) -> int:
        """Write ``frame`` to ``path`` (atomically); returns the number of rows written."""
        return self.write_pieces(iter([frame]), path)

    def write_pieces(self, pieces: Iterable[pd.DataFrame], path: str | Path) -> int:
        """Write consecutive pieces as one file (a Parquet row group each), one piece in memory at a
        time; the file appears complete or not at all. Returns the rows written."""
        with self.open(path) as out:
            for piece in pieces:
                out.write(piece)
        return out.rows


class _AtomicFile:
    """A file written through an open writer or handle, put in place only when closed without error."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._stack = ExitStack()
        self._tmp: Path | None = None
        self._writer: Any = None
        self._fh: Any = None

    def __enter__(self) -> Any:
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        return self

    def _before_close(self) -> None:
        """Last writes of a successful file (nothing by default)."""

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        try:
            if kind is None:
                self._before_close()
            if self._writer is not None:
                self._writer.close()
            if self._fh is not None:
                self._fh.close()
        finally:
            self._stack.__exit__(kind, exc, tb)

    def _handle(self) -> Any:
        if self._fh is None:
            if self._tmp is None:
                raise RuntimeError(f"{type(self).__name__} used outside its 'with' block")
            self._fh = open(self._tmp, "wb")  # noqa: SIM115 - closed in __exit__
        return self._fh


class TableWriter(_AtomicFile):
    """One file written frame by frame; it replaces ``path`` only when closed without error.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> with TableWriter(path, ChunkWriter("parquet")) as out:
    ...     out.write(pd.DataFrame({"a": [1, 2]}))
    ...     out.write(pd.DataFrame({"a": [3]}))
    >>> pd.read_parquet(path)["a"].tolist()
    [1, 2, 3]
    """

    def __init__(self, path: str | Path, settings: ChunkWriter, *, delimiter: str = ",") -> None:
        super().__init__(path)
        self.settings, self.delimiter = settings, delimiter
        self.rows = 0
        self._schema: Any = None

    def __enter__(self) -> TableWriter:
        super().__enter__()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` (one Parquet row group, or lines of CSV/JSONL)."""
        fmt = self.settings.fmt
        if fmt in ("parquet", "arrow"):
            self._write_arrow(frame)
        elif fmt == "csv":
            self._write_csv(frame)
        else:
            text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
            if text and not text.endswith("\n"):
                text += "\n"
            self._handle().write(text.encode("utf-8") if len(frame) else b"")
        self.rows += len(frame)

    def _write_arrow(self, frame: pd.DataFrame) -> None:
        """One Parquet row group, or one record batch of an Arrow IPC stream."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        s = self.settings
        if s.schema_bytes is None:  # the first frame fixes the schema of the file
            s = self.settings = dataclasses.replace(s, schema_bytes=arrow_schema(frame).serialize().to_pybytes())
        table = s.to_arrow_fast(frame)
        if self._writer is None:
            fast = table is not None
            table = table if fast else s.to_arrow(frame)
            # without the Arrow schema in the file, dictionary-encoded text reads back as text (the
            # pandas metadata restores the dtypes); the fast path only allows types Parquet stores
            # faithfully on its own
            if s.fmt == "arrow":  # a stream: each batch may bring its own dictionaries
                options = pa.ipc.IpcWriteOptions(compression="lz4")
                self._writer = pa.ipc.new_stream(self._handle(), table.schema, options=options)
            else:
                self._writer = pq.ParquetWriter(self._tmp, table.schema, compression=s.compression, store_schema=not fast)
            self._schema = table.schema
        elif table is None or not table.schema.equals(self._schema):
            table = s.to_arrow(frame, target=self._schema)
        self._writer.write_table(table)

    def _write_csv(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        frame = csv_ready(frame, self.settings.datetime_formats)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        header = self._fh is None
        options = pacsv.WriteOptions(include_header=header, delimiter=self.delimiter)
        pacsv.write_csv(table, self._handle(), write_options=options)


def write_frames(frames: Iterable[pd.DataFrame], path: str | Path, *, format: str | None = None, **settings: Any) -> int:
    """Write consecutive frames as one table file (``settings``: those of :class:`ChunkWriter`).

    The schema is fixed by the first frame. Returns the rows written.
    """
    fmt = output_format(path, format)
    stream = iter(frames)
    first = next(stream, None)
    if first is None:
        raise InputError(f"Nothing to write to '{path}': no rows and no columns.")
    writer = ChunkWriter.for_sample(fmt, first, **settings)
    delimiter = "\t" if str(path).lower().endswith(".tsv") else ","
    with TableWriter(path, writer, delimiter=delimiter) as out:
        out.write(first)
        for frame in stream:
            out.write(frame)
    return out.rows


def count_rows(path: Path, fmt: str) -> int | None:
    """Rows in a finished part, read from the Parquet footer or the Arrow stream's batches (None for
    text formats: not checked)."""
    if fmt == "arrow":
        return sum(batch.num_rows for batch in _arrow_batches(path))
    if fmt != "parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def merge_parts(parts: Iterable[Path], dest: Path, fmt: str, schema: Any = None) -> Path:
    """Concatenate finished parts, in order, into ``dest`` (which appears only once complete).

    Parquet parts are copied row group by row group (memory of one row group), text columns kept
    dictionary-encoded; CSV parts keep the header of the first part only; JSONL parts are joined.
    """
    with PartAppender(dest, fmt, schema) as out:
        for part in parts:
            out.append(part)
    return dest


def _arrow_batches(path: Path) -> Iterator[Any]:
    """The record batches of an Arrow IPC stream file, memory-mapped."""
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        yield from pa.ipc.open_stream(source)


class PartAppender(_AtomicFile):
    """``dest`` assembled from finished part files appended one by one; it appears when closed cleanly."""

    def __init__(self, dest: Path, fmt: str, schema: Any = None) -> None:
        super().__init__(dest)
        self.dest, self.fmt, self.schema = Path(dest), fmt, schema
        self.parts = 0
        self._text: list[str] = []

    def __enter__(self) -> PartAppender:
        super().__enter__()
        return self

    def _before_close(self) -> None:
        if self._writer is None and self.fmt == "parquet" and self.schema is not None:  # no part: an empty table
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self._tmp, self.schema)

    def append(self, part: Path) -> None:
        """Append the rows of the finished part file ``part``."""
        if self.fmt == "parquet":
            self._append_parquet(part)
        else:
            out = self._handle()
            with open(part, "rb") as src:
                if self.fmt == "csv" and self.parts > 0:
                    src.readline()
                shutil.copyfileobj(src, out, 1 << 22)
        self.parts += 1

    def _append_parquet(self, part: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if part.suffix == PART_SUFFIXES["arrow"]:
            self._append_arrow(part)
            return
        if self._writer is None:
            first = pq.ParquetFile(part)
            if b"ARROW:schema" not in (first.metadata.metadata or {}):
                # parts of the fast path: text stays dictionary-encoded from part to file, so it is
                # neither decoded to Python-sized strings nor hashed again (the slow half of a merge)
                self._text = [f.name for f in first.schema_arrow if pa.types.is_string(f.type)]
            pf = pq.ParquetFile(part, read_dictionary=self._text) if self._text else first
            target = pf.schema_arrow if self._text else (self.schema if self.schema is not None else first.schema_arrow)
            self._writer = pq.ParquetWriter(self._tmp, target, store_schema=not self._text)
        else:
            pf = pq.ParquetFile(part, read_dictionary=self._text) if self._text else pq.ParquetFile(part)
        for group in range(pf.num_row_groups):
            table = pf.read_row_group(group)
            self._writer.write_table(table if table.schema.equals(self._writer.schema) else table.cast(self._writer.schema))

    def _append_arrow(self, part: Path) -> None:
        """Encode the batches of an Arrow stream part to Parquet, one row group each: the only
        encoding of these rows (text arrives dictionary-encoded and is not hashed again)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        for batch in _arrow_batches(part):
            if self._writer is None:
                # like a fast-path part: without the Arrow schema, dictionary text reads back as text
                dictionary = any(pa.types.is_dictionary(f.type) for f in batch.schema)
                self._writer = pq.ParquetWriter(self._tmp, batch.schema, store_schema=not dictionary)
            elif not batch.schema.equals(self._writer.schema):
                batch = batch.cast(self._writer.schema)
            self._writer.write_batch(batch)
