"""Reading and writing tables: CSV (delimiter and encoding sniffed), Parquet, JSONL."""

from __future__ import annotations

import csv
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import DataReadError, InputError
from simulacra.io.files import atomic_path as atomic_path  # re-exported: its home before io.files

FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
}
#: A table expected to take more than this share of the available memory is refused (or sampled).
MEMORY_SHARE = 0.5
#: Typical ratio of a DataFrame's memory to its CSV file's size.
CSV_EXPANSION = 4.0


def table_format(path: str | Path, format: str | None = None) -> str:
    """The table format of ``path``: given, or from its extension."""
    if format:
        fmt = format.lower().lstrip(".")
        if fmt not in set(FORMATS.values()):
            raise InputError(f"Unknown format '{format}'; use one of: csv, parquet, jsonl, json")
        return fmt
    suffixes = [s.lower() for s in Path(path).suffixes]
    for s in reversed(suffixes):
        if s in FORMATS:
            return FORMATS[s]
        if s in (".gz", ".bz2", ".zip", ".xz", ".zst"):
            continue
    raise InputError(
        f"Cannot tell the format of '{path}' from its name; use .csv, .parquet or .jsonl, or pass the format"
    )


def available_memory() -> int:
    """Bytes of memory available to this process (MemAvailable, or a cgroup limit if lower)."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:  # pragma: no cover - not Linux
        pass
    if avail is None:  # pragma: no cover
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 8 * 1024**3
    return int(avail)


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
)


def sniff_encoding(head: bytes) -> str:
    r"""The encoding named by a byte-order mark (UTF-8, UTF-16, UTF-32), 'utf-16-le'/'utf-16-be' for
    unmarked UTF-16 text, 'utf-8', or 'cp1252'/'latin-1' for bytes that are not UTF-8.

    Examples
    --------
    >>> sniff_encoding("a,b\n".encode("utf-16")), sniff_encoding(b"a,b\n1,2\n")
    ('utf-16', 'utf-8')
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    sample = head[:4096]
    if len(sample) >= 4 and sample.count(0) >= len(sample) // 3:
        # text in unmarked UTF-16 has a zero byte beside nearly every ASCII character
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if max(even, odd) >= 0.3 * (len(sample) // 2) and min(even, odd) <= 0.1 * (len(sample) // 2):
            return "utf-16-le" if odd > even else "utf-16-be"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut at the end of the sample
            return "utf-8"
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


#: The "delimiter" of a one-column table: a control character that plain text does not contain.
ONE_COLUMN = "\x1f"


def _lines(text: str) -> list[str]:
    """Lines as CSV readers see them: split at \\n, \\r\\n and \\r only (str.splitlines also splits at
    characters such as U+0085 and U+2028, which are ordinary text in a CSV field)."""
    return re.split(r"\r\n|\n|\r", text)


def sniff_delimiter(text: str, default: str = ",") -> str:
    r"""The delimiter that splits the header into several fields and nearly every line into as many.

    Quoted fields are respected. A table of one column has no such delimiter: ``default`` then.

    Examples
    --------
    >>> sniff_delimiter("a;b\n1;2\n3;4\n"), sniff_delimiter('x;y\n"1,5"\n2\n'), sniff_delimiter("a,b\n1\n2\n")
    (';', ',', '\x1f')
    """
    lines = [ln for ln in _lines(text)[:50] if ln.strip()]
    if not lines:
        return default
    best, best_share = default, 0.0
    for sep in (default, *(d for d in ",;\t|" if d != default)):
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=sep)]
        except csv.Error:
            continue
        if widths[0] < 2:
            continue
        share = sum(w == widths[0] for w in widths) / len(widths)
        if share > best_share + 1e-9:
            best, best_share = sep, share
    if best_share >= 0.9:
        return best
    try:
        widths = [len(row) for row in csv.reader(lines, delimiter=default)]
    except csv.Error:
        return default
    if widths[0] > 1 and len(widths) > 1 and sum(w == 1 for w in widths[1:]) / (len(widths) - 1) >= 0.9:
        return ONE_COLUMN  # one column whose header happens to hold the delimiter: no splitting at all
    return default


def read_table(
    path: str | Path,
    *,
    format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    sample_rows: int | None = None,
    random_state: int = 0,
    max_memory: int | None = None,
) -> pd.DataFrame:
    """Read a CSV, Parquet or JSONL file into a DataFrame.

    CSV delimiter and encoding are sniffed unless given. A file too large for the available memory is
    refused with a clear message unless ``sample_rows`` asks for a uniform random sample of that many
    rows, which is read in a streaming pass with bounded memory.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a;b\\n1;x\\n2;y\\n")
    >>> read_table(p).to_dict("list")
    {'a': [1, 2], 'b': ['x', 'y']}
    """
    p = Path(path)
    if not p.exists():
        raise DataReadError(f"File '{p}' does not exist.")
    if p.is_dir():
        parts = sorted(p.glob("*.parquet"))
        if not parts:
            raise DataReadError(f"'{p}' is a folder with no .parquet files; give a table file.")
        return pd.concat([pd.read_parquet(x) for x in parts], ignore_index=True)
    size = p.stat().st_size
    if size == 0:
        raise DataReadError(f"File '{p}' is empty; it needs a header line and at least one row.")
    fmt = table_format(p, format)
    too_big = _too_big(p, fmt, max_memory)
    if too_big and sample_rows is None:
        raise DataReadError(f"{too_big} Fit on a random sample instead: pass --sample-rows N (Python: sample_rows=N); "
                            "it is read in one streaming pass.")
    try:
        if fmt == "csv":
            return _read_csv(p, delimiter, encoding, sample_rows, random_state)
        if fmt == "parquet":
            return _read_parquet(p, sample_rows, random_state)
        if fmt == "jsonl":
            return _read_jsonl(p, sample_rows, random_state)
        return pd.read_json(p)
    except (DataReadError, InputError):
        raise
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataReadError(f"Could not read '{p}' as {fmt}: {exc}") from None
    except Exception as exc:  # pyarrow's base ArrowException (a damaged Parquet file) is no ValueError
        if type(exc).__module__.startswith("pyarrow"):
            raise DataReadError(f"Could not read '{p}' as {fmt}: {exc}") from None
        raise


def _csv_options(p: Path, delimiter: str | None, encoding: str | None) -> dict[str, Any]:
    with open(p, "rb") as fh:
        head = fh.read(1 << 20)
    enc = encoding or sniff_encoding(head)
    if encoding is None and enc in ("cp1252", "latin-1"):
        warnings.warn(f"'{p.name}' is not UTF-8; it was read as {enc}.", stacklevel=4)
    text = head.decode(enc, errors="replace")
    if not text.strip():
        raise DataReadError(f"File '{p}' has no content; it needs a header line and at least one row.")
    sep = delimiter or sniff_delimiter(text, "\t" if p.suffix.lower() == ".tsv" else ",")
    header = next(csv.reader(_lines(text), delimiter=sep))
    names = [h.strip() for h in header]
    dups = sorted({h for h in names if names.count(h) > 1})
    if dups:
        raise DataReadError(
            f"'{p.name}' has duplicate column names: {', '.join(map(repr, dups))}; rename them so each is unique."
        )
    # in a table of one column a blank line is a missing value, not a line to skip (no silent row drops)
    return {"sep": sep, "encoding": enc, "low_memory": False, "skipinitialspace": False,
            "skip_blank_lines": len(names) > 1}


def _read_csv(p: Path, delimiter: str | None, encoding: str | None, sample_rows: int | None, seed: int) -> pd.DataFrame:
    opts = _csv_options(p, delimiter, encoding)
    if sample_rows is None:
        return pd.read_csv(p, **opts)
    chunks = pd.read_csv(p, chunksize=200_000, **{k: v for k, v in opts.items() if k != "low_memory"})
    return _reservoir(chunks, sample_rows, seed)


def _read_parquet(p: Path, sample_rows: int | None, seed: int) -> pd.DataFrame:
    import pyarrow.parquet as pq

    def checked(data: Any) -> pd.DataFrame:
        # a damaged file can hold text that is not UTF-8: converting it unchecked can abort the process
        data.validate(full=True)
        try:
            return data.to_pandas()
        except (KeyError, TypeError, AttributeError) as exc:  # damaged pandas metadata in the schema
            raise DataReadError(f"'{p}' has damaged pandas metadata ({type(exc).__name__}: {exc}); "
                                "rewrite the file, or read it with pyarrow and ignore_metadata=True") from None

    if sample_rows is None:
        return checked(pq.read_table(p))
    pf = pq.ParquetFile(p)
    return _reservoir((checked(b) for b in pf.iter_batches(batch_size=200_000)), sample_rows, seed)


def _read_jsonl(p: Path, sample_rows: int | None, seed: int) -> pd.DataFrame:
    if sample_rows is None:
        return pd.read_json(p, lines=True)
    return _reservoir(pd.read_json(p, lines=True, chunksize=200_000), sample_rows, seed)


def _reservoir(chunks: Any, n: int, seed: int) -> pd.DataFrame:
    """A uniform sample of ``n`` rows from a stream of frames, in their original order."""
    rng = np.random.default_rng(seed)
    kept: pd.DataFrame | None = None
    keys = np.zeros(0)
    offset = 0
    for chunk in chunks:
        chunk = chunk.set_axis(np.arange(offset, offset + len(chunk)))
        offset += len(chunk)
        k = rng.random(len(chunk))
        merged = chunk if kept is None else pd.concat([kept, chunk])
        all_keys = np.concatenate([keys, k])
        if len(merged) > n:
            top = np.argpartition(all_keys, n - 1)[:n]
            merged, all_keys = merged.iloc[top], all_keys[top]
        kept, keys = merged, all_keys
    if kept is None:
        raise DataReadError("The file has no rows.")
    return kept.sort_index().reset_index(drop=True)


def write_table(data: pd.DataFrame, path: str | Path, *, format: str | None = None, datetime_formats: dict[str, str] | None = None) -> Path:
    """Write ``data`` as CSV, Parquet or JSONL; the file appears only once complete.

    Integers stay integers (nullable where missing), datetimes stay datetimes (Parquet) or are written
    in their original format (CSV, via ``datetime_formats``), missing stays missing.
    """
    fmt = table_format(path, format)
    if fmt == "json":  # one JSON array: not streamable, written whole
        with atomic_path(path) as tmp:
            data.to_json(tmp, orient="records", date_format="iso", force_ascii=False)
        return Path(path)
    from simulacra.io.writers import write_frames

    write_frames([data], path, format=fmt, datetime_formats=dict(datetime_formats or {}))
    return Path(path)


def _too_big(p: Path, fmt: str, max_memory: int | None) -> str:
    """Why the file ``p`` is too large to read into memory whole, or "" when it is not."""
    size = p.stat().st_size
    budget = MEMORY_SHARE * (max_memory if max_memory is not None else available_memory())
    expansion = CSV_EXPANSION if fmt in ("csv", "jsonl", "json") else 8.0
    if size * expansion <= budget:
        return ""
    return (f"File '{p}' is {size / 1e9:.1f} GB, about {size * expansion / 1e9:.0f} GB in memory, more than the "
            f"{budget / 1e9:.1f} GB this machine can spare.")


def table_files(folder: str | Path) -> list[Path]:
    """The files of a folder of related tables that :func:`read_tables` reads, sorted by name."""
    return sorted(f for f in Path(folder).iterdir() if f.is_file() and f.suffix.lower() in FORMATS
                  and not f.name.startswith((".", "_")) and not f.name.endswith(".meta.json"))


def read_tables(folder: str | Path, **read_options: Any) -> dict[str, pd.DataFrame]:
    """Every table of a folder of related tables: one CSV, TSV, Parquet or JSONL file per table, named
    by the file name without its suffix (``shop/orders.csv`` → ``orders``).

    Files whose names start with ``.`` or ``_``, and metadata files (``*.meta.json``), are skipped.
    """
    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"'{folder}' is not a folder of tables")
    files = table_files(path)
    if not files:
        raise InputError(f"The folder '{folder}' holds no table (CSV, Parquet or JSONL file)")
    names = [f.stem for f in files]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"The folder '{folder}' has several files for the table(s) {', '.join(twice)}; keep one each")
    for f in files:  # a database is read whole: a random sample of one table would break its keys
        too_big = _too_big(f, table_format(f, None), read_options.get("max_memory"))
        if too_big and read_options.get("sample_rows") is None:
            raise DataReadError(f"{too_big} The tables of a database are read whole: fit on a subset of the parent "
                                "rows and their children, or fit that table alone (simulacra fit FILE "
                                "--max-rows-in-memory N); see docs/relational.md, 'Limits'.")
    return {f.stem: read_table(f, **read_options) for f in files}
