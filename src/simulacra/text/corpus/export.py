"""Writing a corpus: rows, rejected rows, chat ``messages``, preference pairs, a Hugging Face ``datasets``
folder with a dataset card, and the manifest.

The ``hf/`` folder is in the Hub's layout (``README.md`` with a YAML header, ``data/train.jsonl``), so
``datasets.load_dataset("out/hf")`` reads it and ``huggingface-cli upload`` publishes it; nested values (calls) are stored as JSON text there, since
Arrow would otherwise merge the argument objects of different functions into one struct.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulacra.errors import InputError
from simulacra.io.files import atomic_path
from simulacra.text.formats import write_jsonl
from simulacra.text.result import TaskResult

Chat = Callable[[dict[str, Any]], list[dict[str, str]] | None]


def prepare_output(path: str | Path, overwrite: bool = True) -> Path:
    """The output folder, created; an existing non-empty folder is refused unless ``overwrite``."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"'{path}' is a file; give a folder for the corpus")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"'{path}' is not empty; give a new folder or pass --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_corpus(res: TaskResult, out: str | Path, *, chat: Chat, card: dict[str, Any],
                 pairs: list[dict[str, Any]] | None = None, extra: dict[str, Any] | None = None,
                 hf_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """Write ``res`` into the folder ``out``; returns the manifest (also written as ``manifest.json``).

    Files: ``rows.jsonl`` (rows with provenance), ``rejected.jsonl`` (every row a check removed, with
    ``_stage`` and ``_reason``), ``messages.jsonl`` (``{"messages": [...]}`` per row, from ``chat``),
    ``pairs.jsonl`` (``prompt``/``chosen``/``rejected``) when ``pairs`` are given, ``hf/`` (the dataset with
    its card) and ``manifest.json``.
    """
    folder = prepare_output(out)
    rows = res.records
    messages = []
    for row in rows:
        msgs = chat(row)
        if msgs is not None:
            messages.append({"messages": msgs})
    write_jsonl(rows, folder / "rows.jsonl")
    write_jsonl(res.filtered, folder / "rejected.jsonl")
    write_jsonl(messages, folder / "messages.jsonl")
    if pairs is not None:
        write_jsonl(pairs, folder / "pairs.jsonl")
    manifest = res.manifest()
    manifest.update(extra or {})
    manifest["output"] = {"folder": str(folder), "rows": len(rows), "rejected": len(res.filtered),
                          "messages": len(messages), "pairs": len(pairs) if pairs is not None else None}
    hf = folder / "hf"
    (hf / "data").mkdir(parents=True, exist_ok=True)
    hf_rows = []
    for row, msg in zip(rows, messages if len(messages) == len(rows) else [None] * len(rows)):
        item: dict[str, Any] = {"messages": (msg or {}).get("messages")}
        for f in hf_fields:
            value = row.get(f)
            item[f] = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) or value is None else value
        hf_rows.append(item)
    write_jsonl(hf_rows, hf / "data" / "train.jsonl")
    _write_text(hf / "README.md", dataset_card(card, manifest, pairs is not None))
    _write_text(folder / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False, default=str))
    return manifest


def dataset_card(card: dict[str, Any], manifest: dict[str, Any], with_pairs: bool) -> str:
    """A Hugging Face dataset card (README.md) that says how the data was made."""
    # no `configs:` block: with one, datasets 5 caches every such folder under one key and serves stale rows
    head = ["---", f"license: {card.get('license', 'other')}", "language:", "- en",
            f"pretty_name: {card.get('title', 'simulacra corpus')}", "tags:", "- synthetic", "- simulacra",
            *[f"- {t}" for t in card.get("tags", [])], f"size_categories:\n- {_size(manifest['output']['rows'])}",
            "---", ""]
    stages = "\n".join(f"| {s['stage']} | {s['inputs']} | {s['outputs']} | "
                       + ("; ".join(f"{k}: {v}" for k, v in sorted(s["filtered"].items(), key=lambda kv: -kv[1])[:4]) or "-")
                       + " |" for s in manifest["stages"])
    engine = manifest.get("engine") or {}
    body = [
        f"# {card.get('title', 'simulacra corpus')}", "", card.get("summary", ""), "",
        "## How it was made", "", f"- Made by simulacra {manifest.get('simulacra_version')} (`{card.get('command', '')}`).",
        f"- Source: {card.get('source', '?')}.", f"- Model: {engine.get('model', 'none (templates only)')}; seed "
        f"{manifest['config'].get('seed')}.", *[f"- {line}" for line in card.get("method", [])], "",
        "## Rows and checks", "", f"{manifest['output']['rows']} rows kept, {manifest['output']['rejected']} rejected "
        "(in `rejected.jsonl` beside this folder, each with its stage and reason)."
        + (" Preference pairs are in `pairs.jsonl` beside this folder." if with_pairs else ""), "",
        "| stage | in | passed | removed (top reasons) |", "|---|---|---|---|", stages, "",
        *[f"- {n}" for n in manifest.get("notes", [])], "",
        "## Fields", "", *[f"- `{k}`: {v}" for k, v in card.get("fields", {}).items()], "",
        "## Limitations", "", *[f"- {line}" for line in card.get("limitations", [])], "",
    ]
    return "\n".join(head + body)


def _size(n: int) -> str:
    return "n<1K" if n < 1000 else "1K<n<10K" if n < 10000 else "10K<n<100K"


__all__ = ["dataset_card", "prepare_output", "write_corpus"]
