"""Fuzz targets for tables: the CSV/Parquet/JSONL readers, metadata detection and evaluation.

Cases are random bytes, and random frames with random schemas and dtypes (numbers with NaN and
infinities, text, booleans, categoricals, dates including years past 2262, durations, lists, structs,
bytes, columns with nothing in them), empty files and header-only files.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.testing.fuzz import register_target

KINDS = ("int", "float", "text", "bool", "category", "date", "far_date", "date_text", "far_date_text",
         "timedelta", "empty", "list", "struct", "binary")
_SAFE_KINDS = KINDS[:11]
#: The metrics that run on every fuzzed pair (the model-based ones are slow and covered by their own tests).
FAST_METRICS = ["quality", "missing_similarity", "validity", "exact_copies", "detection_auc"]


def _column(draw: Any, kind: str, n: int) -> Any:
    from hypothesis import strategies as st

    present = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if kind == "int":
        values: list[Any] = draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n))
        return pd.array([v if p else None for v, p in zip(values, present)], dtype="Int64")
    if kind == "float":
        values = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=n, max_size=n))
        return np.array(values, dtype=float)
    if kind == "text":
        alphabet = st.characters(blacklist_categories=("Cs",))
        values = draw(st.lists(st.text(alphabet, max_size=12), min_size=n, max_size=n))
        return [v if p else None for v, p in zip(values, present)]
    if kind == "bool":
        return [b if p else None for b, p in zip(draw(st.lists(st.booleans(), min_size=n, max_size=n)), present)]
    if kind == "category":
        values = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
        return pd.Categorical([v if p else None for v, p in zip(values, present)])
    if kind in ("date", "far_date", "date_text", "far_date_text"):
        lo, hi = (2500, 9999) if kind.startswith("far") else (1900, 2200)
        years = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
        days = draw(st.lists(st.integers(0, 364), min_size=n, max_size=n))
        stamps = [np.datetime64(f"{y:04d}-01-01") + np.timedelta64(d, "D") for y, d in zip(years, days)]
        if kind.endswith("text"):
            return [str(s) if p else None for s, p in zip(stamps, present)]
        arr = np.array(stamps, dtype="datetime64[us]")
        arr[~np.array(present, dtype=bool)] = np.datetime64("NaT")
        return arr
    if kind == "timedelta":
        secs = draw(st.lists(st.integers(-(10**7), 10**8), min_size=n, max_size=n))
        return pd.to_timedelta([s if p else None for s, p in zip(secs, present)], unit="s")
    if kind == "empty":
        return [None] * n
    if kind == "list":
        return [draw(st.lists(st.integers(0, 9), max_size=3)) if p else None for p in present]
    if kind == "struct":
        return [{"a": i, "b": str(i)} if p else None for i, p in enumerate(present)]
    return [draw(st.binary(max_size=6)) if p else None for p in present]


def frames(kinds: tuple[str, ...] = KINDS, min_rows: int = 0, max_rows: int = 12, max_columns: int = 5) -> Any:
    """A Hypothesis strategy of DataFrames with random column names, kinds and sizes."""
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> pd.DataFrame:
        n = draw(st.integers(min_rows, max_rows))
        k = draw(st.integers(1, max_columns))
        names = draw(st.lists(st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8),
                              min_size=k, max_size=k, unique=True))
        return pd.DataFrame({name: _column(draw, draw(st.sampled_from(kinds)), n) for name in names})

    return build()


def _write_tmp(name: str, payload: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="simulacra-fuzz-"))
    path = folder / name
    path.write_bytes(payload)
    return path


def _read(path: Path) -> pd.DataFrame:
    from simulacra.io import read_table

    try:
        return read_table(path)
    finally:
        path.unlink(missing_ok=True)
        path.parent.rmdir()


def _detect(frame: pd.DataFrame) -> None:
    from simulacra.metadata import Metadata

    meta = Metadata.detect(frame)
    assert list(meta.columns) == [str(c) for c in frame.columns]


def _bytes_cases() -> Any:
    from hypothesis import strategies as st

    ext = st.sampled_from(["csv", "tsv", "parquet", "jsonl", "json"])
    return st.tuples(ext, st.binary(max_size=600) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))


@register_target("read_bytes", _bytes_cases)
def read_random_bytes(case: tuple[str, bytes]) -> None:
    """Random bytes under every table extension: read (and detect), or refuse clearly."""
    ext, payload = case
    frame = _read(_write_tmp(f"t.{ext}", payload))
    _detect(frame)


def _csv_cases() -> Any:
    from hypothesis import strategies as st

    return st.tuples(frames(_SAFE_KINDS, max_rows=15), st.sampled_from([",", ";", "\t"]))


@register_target("read_csv", _csv_cases)
def read_csv_frame(case: tuple[pd.DataFrame, str]) -> None:
    """A random frame written as CSV: read back with every row and column, or refused clearly."""
    frame, sep = case
    ext = "tsv" if sep == "\t" else "csv"
    # pandas' writer leaves a lone carriage return unquoted, which no reader can tell from a line end
    frame = frame.apply(lambda col: col.str.replace("\r", " ") if col.dtype == object and
                        pd.api.types.infer_dtype(col, skipna=True) == "string" else col)
    text = frame.to_csv(index=False, sep=sep)
    back = _read(_write_tmp(f"t.{ext}", text.encode("utf-8")))
    if len(frame) and frame.notna().to_numpy().any():
        assert back.shape == frame.shape, f"wrote {frame.shape}, read {back.shape}"
    _detect(back)


def _parquet_cases() -> Any:
    return frames(KINDS, max_rows=12)


@register_target("read_parquet", _parquet_cases)
def read_parquet_frame(case: pd.DataFrame) -> None:
    """A random frame (nested, binary, far-future and duration columns too) as Parquet: read exactly, then
    detected or refused clearly."""
    import io

    buffer = io.BytesIO()
    try:
        case.to_parquet(buffer, index=False)
    except (ValueError, TypeError, ArithmeticError, ImportError):
        return  # pyarrow cannot write this frame: not a case for simulacra's reader
    except Exception as exc:  # noqa: BLE001 - pyarrow's own errors (ArrowInvalid ...)
        if type(exc).__module__.startswith("pyarrow"):
            return
        raise
    back = _read(_write_tmp("t.parquet", buffer.getvalue()))
    assert back.shape == case.shape
    _detect(back)


def _jsonl_cases() -> Any:
    from hypothesis import strategies as st

    scalar = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | st.text(max_size=10)
    value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                         max_leaves=6)
    record = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), value, min_size=1, max_size=4)
    return st.lists(record, max_size=10)


@register_target("read_jsonl", _jsonl_cases)
def read_jsonl_records(records: list[dict[str, Any]]) -> None:
    """Random JSON lines (nested values too): one row per line, then detected or refused clearly."""
    text = "\n".join(json.dumps(r) for r in records)
    back = _read(_write_tmp("t.jsonl", text.encode("utf-8")))
    assert len(back) == len(records)
    _detect(back)


def _pair_cases() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        real = draw(frames(_SAFE_KINDS, min_rows=1, max_rows=10, max_columns=4))
        n = draw(st.integers(1, 10))
        syn = pd.DataFrame({c: _column(draw, draw(st.sampled_from(_SAFE_KINDS)), n) if draw(st.booleans())
                            else real[c].sample(n, replace=True, random_state=0).to_numpy() for c in real.columns})
        return real, syn

    return build()


@register_target("detect_evaluate", _pair_cases)
def detect_and_evaluate(case: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """Random small real/synthetic pairs (1-10 rows, random dtypes): a report with scores in range, or
    a clear refusal."""
    from simulacra.evaluate import evaluate

    real, syn = case
    _detect(real)
    report = evaluate(real, syn, metrics=FAST_METRICS)
    json.dumps(report.to_dict(), allow_nan=False)
    for name in ("quality", "validity", "missing_similarity", "column_shapes"):
        value = getattr(report, name)
        assert value is None or (math.isfinite(value) and -1e-9 <= value <= 1 + 1e-9), f"{name} = {value}"
    if report.info.get("empty_columns"):
        assert report.verdict["fidelity"]["level"] == "poor"


def _triple_cases() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
        real, syn = draw(_pair_cases())
        holdout = real.sample(draw(st.integers(1, 10)), replace=True, random_state=1).reset_index(drop=True)
        return real, syn, holdout, draw(st.sampled_from([str(c) for c in real.columns]))

    return build()


@register_target("evaluate_all", _triple_cases)
def evaluate_everything(case: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]) -> None:
    """Every metric (utility, privacy, fairness too) on random small tables with a holdout and a random
    target: a JSON-able report, or a clear refusal."""
    from simulacra.evaluate import evaluate

    real, syn, holdout, target = case
    report = evaluate(real, syn, holdout=holdout, target=target, sensitive=target, secret=target)
    json.dumps(report.to_dict(), allow_nan=False)
    str(report.summary())
