"""The text quality report written beside every run: counts, filters, diversity, grounding, verifiers, judge,
lengths and examples, as JSON and as a self-contained HTML page.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.text.dedup import normalize
from simulacra.text.formats import sidecar
from simulacra.text.report import _categorical, _field_stats, text_fields

_EXAMPLES = 6
#: a small stylesheet in the spirit of the evaluation report (text may not import evaluate)
_CSS = ("body{font:15px/1.5 system-ui,sans-serif;color:#1d2430;background:#f5f6f8;margin:0}"
        "main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}h1{font-size:26px}"
        "h2{font-size:20px;margin-top:30px;border-bottom:2px solid #dde1e7}.sub{color:#5b6574;font-size:13px}"
        "table{border-collapse:collapse;background:#fff;font-size:13.5px;margin:8px 0}"
        "th,td{padding:4px 10px;border-bottom:1px solid #e6e9ee;text-align:left;vertical-align:top}th{background:#eef1f5}"
        "td.num{text-align:right}.warn{background:#fff4e5;border-left:5px solid #e0a030;padding:8px 12px;margin:8px 0}")


def quality_report(records: list[dict[str, Any]], filtered: list[dict[str, Any]], manifest: dict[str, Any]) -> dict[str, Any]:
    """The quality report of one run, from its rows, its filtered rows and its manifest.

    Examples
    --------
    >>> rows = [{"question": "The tower is how tall?", "answer": "330 metres", "passage": "It is 330 metres tall."}]
    >>> rep = quality_report(rows, [{"question": "hi", "_stage": "checks", "_reason": "question: not a question"}],
    ...                      {"task": "qa", "config": {"n": 2}, "stages": [], "engine": {}})
    >>> rep["asked"], rep["kept"], rep["grounding"]["answer_in_passage_rate"], rep["filters"]
    (2, 1, 1.0, {'question: not a question': 1})
    """
    config = manifest.get("config", {})
    valid = [r for r in records if r.get("_status", "ok") == "ok"]
    asked = config.get("n")
    if asked is None and isinstance(config.get("quotas"), dict):
        asked = sum(int(v) for v in config["quotas"].values())
    stages = manifest.get("stages", [])
    attempted = config.get("attempted") or (stages[0]["inputs"] if stages else len(records) + len(filtered))
    filters: Counter[str] = Counter(str(f.get("_reason")) for f in filtered)
    out: dict[str, Any] = {
        "task": manifest.get("task"), "model": manifest.get("engine", {}).get("model"), "asked": asked,
        "attempted": attempted, "generated": len(records) + len(filtered), "kept": len(valid),
        "invalid_kept": len(records) - len(valid), "yield": round(len(valid) / attempted, 4) if attempted else None,
        "stages": stages, "filters": dict(filters.most_common()), "fields": {}, "categories": {},
    }
    for field in text_fields(valid):
        texts = [r[field] for r in valid if isinstance(r.get(field), str) and r[field].strip()]
        if texts and _categorical(texts):
            out["categories"][field] = dict(Counter(texts).most_common(20))
        elif texts:
            stats = _field_stats(texts)
            stats["tfidf_spread"] = _spread(texts)
            stats["histogram"] = _histogram([len(t.split()) for t in texts])
            out["fields"][field] = stats
    grounded = [r for r in valid if isinstance(r.get("passage"), str) and isinstance(r.get("answer"), str)]
    if grounded:
        hits = sum(normalize(r["answer"]) in normalize(r["passage"]) for r in grounded)
        out["grounding"] = {"rows_with_passage": len(grounded), "answer_in_passage_rate": round(hits / len(grounded), 4)}
    sources = Counter(str(r["preference_source"]) for r in valid if r.get("preference_source"))
    if sources:
        out["preferences"] = dict(sources)
    if config.get("judge_calibration"):
        out["judge"] = config["judge_calibration"]
    scores = [r["score"] for r in valid if isinstance(r.get("score"), (int, float))]
    if scores:
        out["scores"] = {str(k): v for k, v in sorted(Counter(scores).items())}
    out["examples"] = {"kept": [_short(r) for r in valid[:_EXAMPLES]], "dropped": _dropped_examples(filtered)}
    out["notes"] = list(manifest.get("notes", []))
    return out


def _spread(texts: list[str]) -> float | None:
    """Mean cosine distance of TF-IDF vectors to their centroid (0 = all alike; higher = more varied)."""
    if len(texts) < 3:
        return None
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        vecs = TfidfVectorizer(sublinear_tf=True).fit_transform(texts[:2000]).toarray()
    except ValueError:  # no words at all
        return None
    centre = vecs.mean(axis=0)
    norm = np.linalg.norm(centre)
    if norm == 0:
        return None
    cos = vecs @ (centre / norm)
    return round(float(1 - cos.mean()), 4)


def _histogram(lengths: list[int], bins: int = 10) -> list[list[int]]:
    counts, edges = np.histogram(lengths, bins=min(bins, max(1, len(set(lengths)))))
    return [[int(edges[i]), int(np.ceil(edges[i + 1])), int(c)] for i, c in enumerate(counts)]


def _short(row: dict[str, Any], width: int = 300) -> dict[str, Any]:
    out = {}
    for k, v in row.items():
        if k in ("passage", "_raw"):
            continue
        out[k] = v[:width] + "…" if isinstance(v, str) and len(v) > width else v
    return out


def _dropped_examples(filtered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Up to two examples per reason, so every kind of drop is shown."""
    per: dict[str, int] = {}
    out = []
    for row in filtered:
        reason = str(row.get("_reason"))
        if per.get(reason, 0) < 2:
            per[reason] = per.get(reason, 0) + 1
            out.append(_short(row))
    return out[:4 * _EXAMPLES]


def write_quality_report(records: list[dict[str, Any]], filtered: list[dict[str, Any]], manifest: dict[str, Any],
                         output: str | Path) -> tuple[Path, Path]:
    """Write ``<output>.quality.json`` and ``<output>.quality.html`` beside ``output``; returns both paths."""
    from simulacra.io import atomic_path

    rep = quality_report(records, filtered, manifest)
    paths = sidecar(output, "quality.json"), sidecar(output, "quality.html")
    with atomic_path(paths[0]) as tmp:
        tmp.write_text(json.dumps(rep, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(render_quality_html(rep), encoding="utf-8")
    return paths


def _table(head: list[str], rows: list[list[Any]]) -> str:
    h = "".join(f"<th>{escape(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(f'<td class="num">{escape(str(c))}</td>' if isinstance(c, (int, float))
                                    else f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{h}</tr>{body}</table>"


def render_quality_html(rep: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (the style of the evaluation report).

    Examples
    --------
    >>> "<h1>" in render_quality_html({"task": "qa", "asked": 1, "kept": 1, "attempted": 1, "yield": 1.0})
    True
    """
    def pct(x: Any) -> str:
        return "—" if x is None else f"{x:.0%}"

    parts = [f"<h1>Text quality: {escape(str(rep.get('task')))}</h1>",
             f"<p class='sub'>model {escape(str(rep.get('model')))}</p>",
             _table(["asked", "attempted", "generated", "kept", "invalid kept", "yield (kept / attempted)"],
                    [[rep.get("asked") if rep.get("asked") is not None else "—", rep.get("attempted", "—"),
                      rep.get("generated", "—"), rep.get("kept", "—"), rep.get("invalid_kept", 0), pct(rep.get("yield"))]])]
    for note in rep.get("notes", []):
        parts.append(f"<div class='warn'>{escape(str(note))}</div>")
    if rep.get("stages"):
        parts += ["<h2>Stages</h2>", _table(["stage", "in", "out", "removed (reason: count)"],
                  [[s["stage"], s["inputs"], s["outputs"], ", ".join(f"{k}: {v}" for k, v in s["filtered"].items()) or "—"]
                   for s in rep["stages"]])]
    if rep.get("filters"):
        parts += ["<h2>What the filters removed</h2>", _table(["reason", "rows"], [[k, v] for k, v in rep["filters"].items()])]
    if rep.get("fields"):
        parts += ["<h2>Diversity and length</h2>", _table(
            ["field", "n", "distinct-1", "distinct-2", "near dup", "exact dup", "TF-IDF spread", "words p50", "p95", "max"],
            [[k, f["count"], f["distinct_1"], f["distinct_2"], pct(f["near_duplicate_rate"]), pct(f["exact_duplicate_rate"]),
              "—" if f.get("tfidf_spread") is None else f["tfidf_spread"], f["words"]["p50"], f["words"]["p95"], f["words"]["max"]]
             for k, f in rep["fields"].items()])]
        for k, f in rep["fields"].items():
            parts.append(f"<h3>{escape(k)}: words per text</h3>" + _table(["words", "rows"], [[f"{lo}–{hi}", c] for lo, hi, c in f["histogram"]]))
    for k, counts in rep.get("categories", {}).items():
        parts.append(f"<h3>{escape(k)}</h3>" + _table(["value", "rows"], [[v, c] for v, c in counts.items()]))
    if rep.get("grounding"):
        g = rep["grounding"]
        parts += ["<h2>Grounding</h2>", f"<p>{pct(g['answer_in_passage_rate'])} of {g['rows_with_passage']} answers occur "
                  "verbatim in their passage.</p>"]
    if rep.get("preferences"):
        parts += ["<h2>Where preferences come from</h2>", _table(["source", "pairs"], [[k, v] for k, v in rep["preferences"].items()])]
    if rep.get("judge"):
        j = rep["judge"]
        parts += ["<h2>Judge calibration</h2>", _table(["model", "mode", "accuracy", "95% CI", "n", "threshold", "verdict"],
                  [[j.get("model"), j.get("mode"), pct(j.get("accuracy")), f"{pct(j.get('low'))}–{pct(j.get('high'))}", j.get("n"),
                    pct(j.get("threshold")), "trusted" if j.get("passed") else "refused"]])]
    if rep.get("scores"):
        parts += ["<h2>Scores</h2>", _table(["score", "rows"], [[k, v] for k, v in rep["scores"].items()])]
    ex = rep.get("examples", {})
    for title, rows in (("Examples of kept rows", ex.get("kept", [])), ("Examples of dropped rows", ex.get("dropped", []))):
        if rows:
            keys = list(dict.fromkeys(k for r in rows for k in r if not k.startswith("_") or k in ("_reason", "_stage")))[:8]
            parts += [f"<h2>{title}</h2>", _table(keys, [[r.get(k, "") for k in keys] for r in rows])]
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Text quality</title>"
            f"<style>{_CSS}</style></head><body><main>{''.join(parts)}</main></body></html>")


__all__ = ["quality_report", "render_quality_html", "write_quality_report"]
