"""Writing task results: JSONL rows, chat ``messages``, prompt/chosen/rejected, Parquet, and a manifest.

Every file is written atomically (it appears only once complete). Beside the output ``out.jsonl`` come
``out.manifest.json`` (config, model, seeds, counts) and, when rows were filtered,
``out.filtered.jsonl`` (each with its stage and reason): nothing disappears without a trace.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simulacra.errors import InputError
from simulacra.io import atomic_path
from simulacra.text.result import TaskResult

FORMATS = ("jsonl", "chat", "preference", "parquet")
_PROMPT_KEYS = ("prompt", "instruction", "question", "text")
_RESPONSE_KEYS = ("response", "output", "answer")


def prompt_of(row: dict[str, Any]) -> str | None:
    """The prompt side of a row (instruction plus its input, or the question).

    Examples
    --------
    >>> prompt_of({"instruction": "Sum", "input": "1, 2", "output": "3"})
    'Sum\\n\\n1, 2'
    """
    for key in _PROMPT_KEYS:
        if row.get(key):
            text = str(row[key])
            if key == "instruction" and row.get("input"):
                text += "\n\n" + str(row["input"])
            return text
    return None


def response_of(row: dict[str, Any]) -> str | None:
    """The response side of a row (output, answer or response)."""
    for key in _RESPONSE_KEYS:
        if row.get(key):
            return str(row[key])
    return None


def to_chat(row: dict[str, Any], system: str | None = None) -> dict[str, Any] | None:
    """A chat ``messages`` record for fine-tuning, or None when the row has no prompt/response pair.

    Examples
    --------
    >>> to_chat({"question": "2+2?", "answer": "4"})["messages"][1]
    {'role': 'assistant', 'content': '4'}
    """
    if "messages" in row:
        return {"messages": row["messages"]}
    prompt, response = prompt_of(row), response_of(row)
    if not prompt or not response:
        return None
    msgs = [{"role": "system", "content": system}] if system else []
    msgs += [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    return {"messages": msgs}


def format_for(path: str | Path, format: str | None) -> str:
    """The output format: given, or from the extension (``.parquet`` -> parquet, else jsonl)."""
    if format is None:
        return "parquet" if str(path).endswith((".parquet", ".pq")) else "jsonl"
    if format not in FORMATS:
        raise InputError(f"Unknown output format '{format}'; use one of {', '.join(FORMATS)}")
    return format


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | Path) -> Path:
    """Write rows as JSON lines, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        _usual_mode(tmp)
    return Path(path)


def _usual_mode(path: Path) -> None:
    """Give a temporary file (created 0600) the permissions a normal new file would have."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL file of objects (a clear error names the first bad line)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"File '{p}' does not exist")
    rows = []
    with open(p, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(f"{p}:{n} is not valid JSON ({exc.msg}); fix or remove that line") from exc
    return rows


def sidecar(path: str | Path, suffix: str) -> Path:
    """``out.jsonl`` -> ``out.<suffix>`` beside it."""
    p = Path(path)
    return p.with_name(p.name.rsplit(".", 1)[0] + "." + suffix)


def write_result(result: TaskResult, path: str | Path, *, format: str | None = None,
                 engine_stats: dict[str, Any] | None = None, system: str | None = None) -> dict[str, Any]:
    """Write ``result`` to ``path`` in ``format``, plus the manifest and the filtered rows; returns the manifest.

    In ``chat`` and ``preference`` formats, rows that cannot be expressed (invalid or incomplete) go to
    the filtered file with their reason, and are counted in the manifest's ``export`` stage.
    """
    fmt = format_for(path, format)
    rows, skipped = _export_rows(result, fmt, system)
    if fmt == "parquet":
        import pandas as pd

        frame = pd.DataFrame.from_records(rows)
        for col in frame.columns:  # nested values become JSON text for a stable Parquet schema
            if frame[col].map(lambda v: isinstance(v, (dict, list))).any():
                frame[col] = frame[col].map(lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
            _usual_mode(tmp)
    else:
        write_jsonl(rows, path)
    if skipped:
        export = result.stage(f"export:{fmt}")
        export.inputs, export.outputs = len(result.records), len(rows)
        for row, reason in skipped:
            result.reject(export, row, reason)
    manifest = result.manifest(engine_stats)
    manifest["output"] = {"path": str(path), "format": fmt, "rows": len(rows)}
    if result.filtered:
        write_jsonl(result.filtered, sidecar(path, "filtered.jsonl"))
        manifest["output"]["filtered_path"] = str(sidecar(path, "filtered.jsonl"))
    from simulacra.text.quality import write_quality_report

    quality = write_quality_report(result.records, result.filtered, manifest, path)
    manifest["output"]["quality_report"] = [str(p) for p in quality]
    with atomic_path(sidecar(path, "manifest.json")) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        _usual_mode(tmp)
    return manifest


def _export_rows(result: TaskResult, fmt: str, system: str | None) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    if fmt in ("jsonl", "parquet"):
        return list(result.records), []
    rows, skipped = [], []
    for row in result.records:
        if row.get("_status", "ok") != "ok":
            skipped.append((row, "invalid output"))
            continue
        if fmt == "chat":
            chat = to_chat(row, system)
            if chat is None:
                skipped.append((row, "no prompt/response pair"))
            else:
                rows.append(chat)
        else:
            if all(k in row for k in ("prompt", "chosen", "rejected")):
                rows.append({k: row[k] for k in ("prompt", "chosen", "rejected", "preference_source") if k in row})
            else:
                skipped.append((row, "not a preference pair (run judge --pairs)"))
    return rows, skipped


__all__ = ["FORMATS", "prompt_of", "read_jsonl", "response_of", "sidecar", "to_chat", "write_jsonl", "write_result"]
