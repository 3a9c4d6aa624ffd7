"""A report on generated text: counts per stage, duplicate rates, diversity, lengths and labels."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.text.dedup import find_duplicates
from simulacra.text.formats import prompt_of, read_jsonl, response_of, sidecar
from simulacra.text.similarity import compression_ratio, distinct_n, self_rouge_l

_TEXT_KEYS = ("text", "instruction", "question", "prompt", "answer", "output", "response", "chosen")


def text_fields(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The string fields worth measuring, in a sensible order.

    Examples
    --------
    >>> text_fields([{"question": "a?", "answer": "b", "n": 1}])
    ['question', 'answer']
    """
    present = [k for k in _TEXT_KEYS if any(isinstance(r.get(k), str) for r in rows)]
    others = sorted({k for r in rows for k, v in r.items() if isinstance(v, str) and not k.startswith("_")} - set(present))
    return present + [k for k in others if k not in ("label", "topic", "source", "passage", "reason")]


def _categorical(texts: list[str]) -> bool:
    """A field of few distinct short values (e.g. a sampled ``country``): shown as counts, not measured as text."""
    distinct = len(set(texts))
    return distinct <= max(20, len(texts) // 20) and distinct < len(texts) / 2 and max(len(t.split()) for t in texts) <= 3


def _field_stats(texts: list[str]) -> dict[str, Any]:
    lengths = np.array([len(t.split()) for t in texts], dtype=float)
    dup = find_duplicates(texts)
    counts = dup.counts()
    return {
        "count": len(texts),
        "exact_duplicate_rate": round(counts.get("exact duplicate", 0) / len(texts), 4),
        "near_duplicate_rate": round(counts.get("near duplicate", 0) / len(texts), 4),
        "distinct_1": round(distinct_n(texts, 1), 4),
        "distinct_2": round(distinct_n(texts, 2), 4),
        "compression_ratio": round(compression_ratio(texts), 3),
        "self_rouge_l": round(self_rouge_l(texts, sample=100), 4),
        "words": {"min": int(lengths.min()), "mean": round(float(lengths.mean()), 1), "p50": float(np.median(lengths)),
                  "p95": float(np.percentile(lengths, 95)), "max": int(lengths.max())},
    }


def text_report(data: str | Path | Sequence[dict[str, Any]], manifest: dict[str, Any] | str | Path | None = None) -> dict[str, Any]:
    """Measure a JSONL file (or rows): per-stage counts (from the manifest beside it), duplicates,
    distinct-n, compression ratio, self-ROUGE-L, word lengths, label distribution.

    Examples
    --------
    >>> rep = text_report([{"text": "good phone", "label": "pos"}, {"text": "bad phone", "label": "neg"}])
    >>> rep["rows"], rep["labels"], rep["fields"]["text"]["distinct_1"]
    (2, {'neg': 1, 'pos': 1}, 0.75)
    """
    if isinstance(data, (str, Path)):
        rows = read_jsonl(data)
        if manifest is None and sidecar(data, "manifest.json").is_file():
            manifest = sidecar(data, "manifest.json")
    else:
        rows = list(data)
    meta: dict[str, Any] | None = (json.loads(Path(manifest).read_text(encoding="utf-8"))
                                   if isinstance(manifest, (str, Path)) else manifest)
    if rows and "messages" in rows[0]:  # chat format: measure the turns
        rows = [{"prompt": r["messages"][-2]["content"], "response": r["messages"][-1]["content"]} for r in rows if len(r["messages"]) >= 2]
    invalid = [r for r in rows if r.get("_status", "ok") != "ok"]
    valid = [r for r in rows if r.get("_status", "ok") == "ok"]
    out: dict[str, Any] = {"rows": len(rows), "valid": len(valid), "invalid_kept": len(invalid), "fields": {}}
    for field in text_fields(valid):
        texts = [r[field] for r in valid if isinstance(r.get(field), str) and r[field].strip()]
        if texts and _categorical(texts):
            out.setdefault("categories", {})[field] = dict(sorted(Counter(texts).items()))
        elif texts:
            out["fields"][field] = _field_stats(texts)
    if valid and any("label" in r for r in valid):
        labels: dict[str, int] = {}
        for r in valid:
            labels[str(r.get("label"))] = labels.get(str(r.get("label")), 0) + 1
        out["labels"] = dict(sorted(labels.items()))
    if valid and any("score" in r for r in valid):
        scores = np.array([r["score"] for r in valid if isinstance(r.get("score"), (int, float))], dtype=float)
        if scores.size:
            out["scores"] = {"mean": round(float(scores.mean()), 2), "min": float(scores.min()), "max": float(scores.max())}
    if valid and prompt_of(valid[0]) and response_of(valid[0]):
        out["pairs"] = sum(1 for r in valid if prompt_of(r) and response_of(r))
    if meta:
        out["stages"] = meta.get("stages", [])
        out["engine"] = meta.get("engine", {})
        out["notes"] = meta.get("notes", [])
    return out


def render_report(rep: dict[str, Any]) -> str:
    """The report as readable Markdown.

    Examples
    --------
    >>> print(render_report({"rows": 1, "valid": 1, "invalid_kept": 0, "fields": {}}).splitlines()[0])
    # Text report
    """
    lines = ["# Text report", "", f"rows: {rep['rows']} (valid {rep['valid']}, invalid kept {rep['invalid_kept']})"]
    if rep.get("stages"):
        lines += ["", "## Stages", "", "| stage | in | out | filtered | invalid kept |", "|---|---|---|---|---|"]
        for st in rep["stages"]:
            filt = ", ".join(f"{k}: {v}" for k, v in st["filtered"].items()) or "-"
            lines.append(f"| {st['stage']} | {st['inputs']} | {st['outputs']} | {filt} | {st.get('invalid_kept', 0)} |")
    if rep["fields"]:
        lines += ["", "## Fields", "", "| field | n | exact dup | near dup | distinct-1 | distinct-2 | compression | self-ROUGE-L | words mean (p95) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, f in rep["fields"].items():
            lines.append(f"| {name} | {f['count']} | {f['exact_duplicate_rate']:.1%} | {f['near_duplicate_rate']:.1%} | "
                         f"{f['distinct_1']:.3f} | {f['distinct_2']:.3f} | {f['compression_ratio']:.2f} | {f['self_rouge_l']:.3f} | "
                         f"{f['words']['mean']} ({f['words']['p95']:g}) |")
    for name, counts in rep.get("categories", {}).items():
        lines += ["", f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
    if rep.get("labels"):
        lines += ["", "## Labels", ""] + [f"- {k}: {v}" for k, v in rep["labels"].items()]
    if rep.get("scores"):
        lines += ["", f"scores: mean {rep['scores']['mean']}, range {rep['scores']['min']:g}-{rep['scores']['max']:g}"]
    if rep.get("engine"):
        e = rep["engine"]
        lines += ["", f"model: {e.get('model')}; model calls {e.get('model_calls')}, cache hits {e.get('cache_hits')}, "
                      f"backend errors {e.get('backend_errors')}"]
    for note in rep.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


__all__ = ["render_report", "text_fields", "text_report"]
