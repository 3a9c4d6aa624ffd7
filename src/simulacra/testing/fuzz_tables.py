"""Fuzz cases for tables: the CSV/Parquet/JSONL readers, metadata detection and evaluation.

Each case is built from a seed: random bytes, damaged files, and random frames with random schemas and
dtypes (numbers with NaN and infinities, awkward text, booleans, categoricals, dates including years past
2262, durations, lists, structs, bytes, empty columns), empty and header-only files. The invariant: a
correct result or a clear :class:`~simulacra.errors.SimulacraError`, never another exception. Outcome
classes as in :mod:`simulacra.testing.chaos`: ``"ok"``, ``"clear error"``, ``"BUG: ..."``.
"""

from __future__ import annotations

import io
import json
import math
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

OK, CLEAR_ERROR = "ok", "clear error"
KINDS = ("int", "float", "text", "bool", "category", "date", "far_date", "date_text", "far_date_text",
         "timedelta", "empty", "list", "struct", "binary")
#: Kinds that CSV and JSON can carry as plain values.
PLAIN_KINDS = KINDS[:11]
#: Metrics run on every fuzzed pair in ``detect_evaluate`` (``evaluate_all`` runs every metric).
FAST_METRICS = ["quality", "missing_similarity", "validity", "exact_copies", "detection_auc"]
_AWKWARD = ["", " ", "NA", "null", "?", "nan", "inf", "1e309", "-0", "٣", "é", "😀", '"', "a,b", "x;y", "t\tu",
            "line\nbreak", "'", "True", "2020-13-45", "1 days", "P1D", "9999-12-31", "\x00", "\ufeff"]


def _text(rng: np.random.Generator) -> str:
    if rng.random() < 0.5:
        return str(rng.choice(_AWKWARD))
    return "".join(chr(int(c)) for c in rng.integers(32, 0x2FF, rng.integers(0, 10)))


def random_column(rng: np.random.Generator, kind: str, n: int) -> Any:
    """``n`` values of one kind, some missing."""
    present = rng.random(n) > rng.choice([0.0, 0.2, 0.7])
    if kind == "int":
        values = rng.integers(-(2**40), 2**40, n)
        return pd.array([int(v) if p else None for v, p in zip(values, present)], dtype="Int64")
    if kind == "float":
        values = rng.choice([0.0, -0.0, 1.5, np.inf, -np.inf, np.nan, 1e308, -1e308, 5e-324], n)
        return np.where(rng.random(n) < 0.6, rng.normal(0, 10 ** rng.integers(0, 12), n), values)
    if kind == "text":
        return [_text(rng) if p else None for p in present]
    if kind == "bool":
        return [bool(b) if p else None for b, p in zip(rng.integers(0, 2, n), present)]
    if kind == "category":
        return pd.Categorical([str(rng.choice(["a", "b", "c"])) if p else None for p in present])
    if kind in ("date", "far_date", "date_text", "far_date_text"):
        lo, hi = (2500, 9999) if kind.startswith("far") else (1900, 2200)
        years, days = rng.integers(lo, hi + 1, n), rng.integers(0, 365, n)
        stamps = np.array([np.datetime64(f"{y:04d}-01-01") + np.timedelta64(int(d), "D") for y, d in zip(years, days)],
                          dtype="datetime64[us]")
        if kind.endswith("text"):
            return [str(s) if p else None for s, p in zip(stamps, present)]
        stamps[~present] = np.datetime64("NaT")
        return stamps
    if kind == "timedelta":
        secs = rng.integers(-(10**7), 10**8, n)
        return pd.to_timedelta([int(s) if p else None for s, p in zip(secs, present)], unit="s")
    if kind == "empty":
        return [None] * n
    if kind == "list":
        return [rng.integers(0, 9, rng.integers(0, 4)).tolist() if p else None for p in present]
    if kind == "struct":
        return [{"a": i, "b": str(i)} if p else None for i, p in enumerate(present)]
    return [rng.bytes(int(rng.integers(0, 6))) if p else None for p in present]


def random_frame(rng: np.random.Generator, kinds: tuple[str, ...] = KINDS, min_rows: int = 0,
                 max_rows: int = 12, max_columns: int = 5) -> pd.DataFrame:
    """A frame with random column names, kinds and size."""
    n = int(rng.integers(min_rows, max_rows + 1))
    names: list[str] = []
    while len(names) < int(rng.integers(1, max_columns + 1)):
        # a name made only of a byte-order mark vanishes in any reader: not a case worth counting
        name = _text(rng).strip().strip("\ufeff") or f"c{len(names)}"
        if name not in names:
            names.append(name)
    return pd.DataFrame({name: random_column(rng, str(rng.choice(kinds)), n) for name in names})


def _detect(frame: pd.DataFrame) -> None:
    from simulacra.metadata import Metadata

    meta = Metadata.detect(frame)
    assert list(meta.columns) == [str(c) for c in frame.columns], "detection lost or renamed columns"


def _read(path: Path) -> pd.DataFrame:
    from simulacra.io import read_table

    return read_table(path)


def _file_bytes(rng: np.random.Generator, fmt: str, frame: pd.DataFrame) -> bytes:
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    if fmt == "jsonl":
        return frame.to_json(orient="records", lines=True, date_format="iso", default_handler=str).encode("utf-8")
    sep = "\t" if fmt == "tsv" else str(rng.choice([",", ";", "|"]))
    return frame.to_csv(index=False, sep=sep).encode(str(rng.choice(["utf-8", "utf-8-sig", "utf-16"])), "replace")


def case_read_bytes(rng: np.random.Generator, work: Path) -> dict[str, Any]:
    """Random bytes, or a valid table file truncated / with bytes flipped or inserted, under every extension."""
    fmt = str(rng.choice(["csv", "tsv", "parquet", "jsonl", "json"]))
    how = str(rng.choice(["random", "truncated", "flipped", "inserted", "empty", "header only"]))
    if how == "random":
        payload = rng.bytes(int(rng.integers(1, 800)))
    else:
        frame = random_frame(rng, PLAIN_KINDS, max_rows=0 if how == "header only" else 12)
        try:
            payload = _file_bytes(rng, "parquet" if fmt == "parquet" else "jsonl" if fmt in ("jsonl", "json") else fmt, frame)
        except Exception:  # noqa: BLE001 - pyarrow cannot write this frame: use random bytes instead
            payload = rng.bytes(64)
        buf = bytearray(payload)
        if how == "truncated" and buf:
            buf = buf[: int(rng.integers(0, len(buf)))]
        elif how == "flipped" and buf:
            for pos in rng.integers(0, len(buf), int(rng.integers(1, 8))):
                buf[pos] = int(rng.integers(0, 256))
        elif how == "inserted":
            pos = int(rng.integers(0, len(buf) + 1))
            buf[pos:pos] = rng.bytes(int(rng.integers(1, 40)))
        elif how == "empty":
            buf = bytearray()
        payload = bytes(buf)
    path = work / f"t.{fmt}"
    path.write_bytes(payload)
    _detect(_read(path))
    return {"format": fmt, "how": how, "bytes": len(payload)}


def case_read_csv(rng: np.random.Generator, work: Path) -> dict[str, Any]:
    """A random frame written as CSV/TSV (sniffed delimiter and encoding): every row and column read back."""
    frame = random_frame(rng, PLAIN_KINDS, max_rows=15)
    # pandas' writer leaves a lone carriage return unquoted, which no reader can tell from a line end
    frame = frame.apply(lambda col: col.str.replace("\r", " ") if col.dtype == object
                        and pd.api.types.infer_dtype(col, skipna=True) == "string" else col)
    fmt = str(rng.choice(["csv", "tsv"]))
    path = work / f"t.{fmt}"
    path.write_bytes(_file_bytes(rng, fmt, frame))
    back = _read(path)
    if len(frame) and frame.notna().to_numpy().any():
        assert back.shape == frame.shape, f"wrote {frame.shape}, read {back.shape}"
    _detect(back)
    return {"shape": list(frame.shape)}


def case_read_parquet(rng: np.random.Generator, work: Path) -> dict[str, Any]:
    """A random frame (nested, binary, far-future and duration columns too) as Parquet: read exactly, then
    detected or refused clearly."""
    frame = random_frame(rng, KINDS, max_rows=12)
    try:
        payload = _file_bytes(rng, "parquet", frame)
    except Exception:  # noqa: BLE001 - pyarrow cannot write this frame: not a case for simulacra's reader
        return {"skipped": "pyarrow cannot write it"}
    path = work / "t.parquet"
    path.write_bytes(payload)
    back = _read(path)
    assert back.shape == frame.shape, f"wrote {frame.shape}, read {back.shape}"
    _detect(back)
    return {"dtypes": [str(t) for t in frame.dtypes]}


def _json_value(rng: np.random.Generator, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.97 or depth > 2:
        plain: list[Any] = [None, True, 0, -(2**53), 2**53, 1.5, "x", "", "é😀", "1e309"]
        return plain[int(rng.integers(len(plain)))] if rng.random() < 0.9 else _text(rng)
    if roll < 0.985:
        return [_json_value(rng, depth + 1) for _ in range(int(rng.integers(0, 3)))]
    return {str(k): _json_value(rng, depth + 1) for k in range(int(rng.integers(0, 3)))}


def case_read_jsonl(rng: np.random.Generator, work: Path) -> dict[str, Any]:
    """Random JSON lines (mostly plain values, some lists and objects): one row per line, or refused clearly."""
    records = [{key: _json_value(rng) for key in rng.choice(list("abcd"), int(rng.integers(1, 5)), replace=False)}
               for _ in range(int(rng.integers(0, 10)))]
    path = work / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    back = _read(path)
    assert len(back) == len(records), f"{len(records)} lines, {len(back)} rows"
    _detect(back)
    return {"rows": len(records)}


def _pair(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    real = random_frame(rng, PLAIN_KINDS, min_rows=1, max_rows=12, max_columns=4)
    n = int(rng.integers(1, 13))
    syn = pd.DataFrame({c: random_column(rng, str(rng.choice(PLAIN_KINDS)), n) if rng.random() < 0.3
                        else real[c].sample(n, replace=True, random_state=int(rng.integers(1000))).to_numpy()
                        for c in real.columns})
    return real, syn


def _check_report(report: Any) -> None:
    json.dumps(report.to_dict(), allow_nan=False)
    str(report.summary())
    for name in ("quality", "validity", "missing_similarity", "column_shapes"):
        value = report.scores.get(name)
        assert value is None or (math.isfinite(value) and -1e-9 <= value <= 1 + 1e-9), f"{name} = {value}"
    if report.info.get("empty_columns"):
        assert report.verdict["fidelity"]["level"] == "poor", "an empty column did not fail fidelity"


def case_detect_evaluate(rng: np.random.Generator, work: Path) -> dict[str, Any]:
    """Random small real/synthetic pairs (1-12 rows, random dtypes): a report with scores in range."""
    from simulacra.evaluate import evaluate

    real, syn = _pair(rng)
    _detect(real)
    _check_report(evaluate(real, syn, metrics=FAST_METRICS))
    return {"rows": [len(real), len(syn)]}


def case_evaluate_all(rng: np.random.Generator, work: Path) -> dict[str, Any]:
    """Every metric (utility, privacy, fairness too) on random small tables with a holdout and a random
    target, sensitive and secret column."""
    from simulacra.evaluate import evaluate

    real, syn = _pair(rng)
    holdout = real.sample(int(rng.integers(1, 12)), replace=True, random_state=int(rng.integers(1000)))
    target = str(rng.choice([str(c) for c in real.columns]))
    _check_report(evaluate(real, syn, holdout=holdout.reset_index(drop=True), target=target, sensitive=target,
                           secret=target))
    return {"rows": [len(real), len(syn), len(holdout)]}


CASES: dict[str, Callable[[np.random.Generator, Path], dict[str, Any]]] = {
    "read_bytes": case_read_bytes,
    "read_csv": case_read_csv,
    "read_parquet": case_read_parquet,
    "read_jsonl": case_read_jsonl,
    "detect_evaluate": case_detect_evaluate,
    "evaluate_all": case_evaluate_all,
}


def table_fuzz_case(target: str, seed: int, workdir: str | Path) -> tuple[str, dict[str, Any]]:
    """Run one case of ``target`` (a key of :data:`CASES`); returns ``(outcome class, details)``.

    Examples
    --------
    >>> import tempfile
    >>> table_fuzz_case("read_csv", 3, tempfile.mkdtemp())[0]
    'ok'
    """
    from simulacra.errors import SimulacraError

    rng = np.random.default_rng(seed)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    details: dict[str, Any] = {"target": target, "seed": seed}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            details.update(CASES[target](rng, work))
    except SimulacraError as exc:
        details["error"] = str(exc).splitlines()[0][:200]
        return CLEAR_ERROR, details
    except AssertionError as exc:
        details["error"] = str(exc)[:300]
        return "BUG: wrong result", details
    except Exception as exc:  # noqa: BLE001 - any other exception is the finding
        details["error"] = f"{type(exc).__name__}: {exc}"[:300]
        details["where"] = traceback.format_exc(limit=-3)[-600:]
        return f"BUG: {type(exc).__name__}", details
    return OK, details
