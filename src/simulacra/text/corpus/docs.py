"""Documents to training rows: grounded question/answer pairs and instructions, chunk by chunk.

Questions come from :func:`~simulacra.text.tasks.grounded.grounded_qa` (the answer is a span of the chunk
chosen by the pipeline; the question is phrased by template or by the model and checked) and from the
cells of tables (the row's key and the column name ask for the cell). Instructions are built from a
chunk's structure: explain a section (answered by its prose), show a section's code block, reproduce its
table, list its points. Every row has its grounding score against its chunk, its provenance (source file,
chunk, heading, model, seed), and chunks are used round-robin so that each is used and none overused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.text.corpus.chunks import Chunk, chunk_documents, table_rows
from simulacra.text.engine import Engine
from simulacra.text.result import TaskResult
from simulacra.text.tasks.spans import clean_markdown

TASKS = ("qa", "instruct")
MIN_GROUNDING = 0.75
_EXPLAIN = ("Explain what the {doc} documentation says about {topic}.", "What should I know about {topic} in {doc}?",
            "Summarise the part of the {doc} docs on {topic}.", "Describe {topic}, as the {doc} documentation does.")
_CODE = ("Show the example for {topic} from the {doc} docs.", "What command or code does the {doc} documentation give for {topic}?")
_TABLE = ("Give the table on {topic} from the {doc} documentation.", "Reproduce the {doc} table about {topic}.")
_LIST = ("List the points the {doc} documentation makes about {topic}.", "What are the items listed under {topic} in {doc}?")
_NO_ANSWER = frozenset({"-", "—", "–", "…", "see below", "see above", "n/a", "none", "same", "as above"})
_CELL = ("In the {doc} table on {topic}, what is the {column} for {key}?",
         "According to the {doc} docs ({topic}), what is the {column} of {key}?")


def _pick(options: Sequence[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def _topic(chunk: Chunk) -> str:
    return re.sub(r"[`*_]", "", chunk.title).strip().rstrip(":") or chunk.title


def _doc(chunk: Chunk) -> str:
    return Path(chunk.source).stem.replace("_", " ")


def instruction_candidates(chunk: Chunk, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Instruction rows that ``chunk``'s structure answers (prose, code, table, list), with their answers."""
    out: list[dict[str, Any]] = []
    names = {"doc": _doc(chunk), "topic": _topic(chunk)}
    prose = clean_markdown("\n\n".join(t for k, t in chunk.blocks if k == "paragraph"))
    if 30 <= len(prose.split()) <= 320:
        out.append({"instruction": _pick(_EXPLAIN, rng).format(**names), "response": prose, "instruction_kind": "explain"})
    for kind, text in chunk.blocks:
        if kind == "code" and 2 <= len(text.splitlines()) <= 40:
            out.append({"instruction": _pick(_CODE, rng).format(**names), "response": text, "instruction_kind": "code"})
        elif kind == "table" and len(text.splitlines()) >= 3 and len(text.split()) <= 400:
            out.append({"instruction": _pick(_TABLE, rng).format(**names), "response": text, "instruction_kind": "table"})
        elif kind == "list" and len(text.splitlines()) >= 2:
            out.append({"instruction": _pick(_LIST, rng).format(**names), "response": text, "instruction_kind": "list"})
    return out


def table_questions(chunk: Chunk, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Question/answer rows from the cells of ``chunk``'s tables: the row key and column ask for the cell."""
    out = []
    for kind, text in chunk.blocks:
        if kind != "table":
            continue
        head, body = table_rows(text)
        keys = [r[0] for r in body]
        for row in body:
            key = clean_markdown(row[0]).strip()
            if not key or not key[0].isalnum() or keys.count(row[0]) > 1 or len(key.split()) > 8:
                continue  # no key, a continuation row ('… with gain', '+ honest splits'), or not unique
            for col, cell in zip(head[1:], row[1:]):
                answer = clean_markdown(cell).strip()
                column = clean_markdown(col).strip()
                if not answer or not column or answer.lower() in _NO_ANSWER or len(answer.split()) > 25:
                    continue
                q = _pick(_CELL, rng).format(doc=_doc(chunk), topic=_topic(chunk), column=column.lower(), key=key)
                out.append({"question": q, "answer": answer, "answer_kind": "table cell", "evidence": " | ".join(row),
                            "question_by": "template", "verifier": "answer is the table cell"})
    return out


def _round_robin(groups: list[list[dict[str, Any]]], rng: np.random.Generator) -> list[dict[str, Any]]:
    order = rng.permutation(len(groups))
    depth = max((len(g) for g in groups), default=0)
    return [groups[i][level] for level in range(depth) for i in order if level < len(groups[i])]


def build_docs(source: str | Path, n: int, *, tasks: Sequence[str] = TASKS, engine: Engine | None = None,
               seed: int = 0, max_words: int = 350, phrasing: str = "auto", max_per_chunk: int | None = None,
               qa_share: float = 0.6) -> tuple[TaskResult, list[Chunk]]:
    """``n`` rows from the documents under ``source`` (see the module docstring) and the chunks they came from.

    Rows have ``task`` (``qa`` or ``instruct``), ``question``/``answer`` or ``instruction``/``response``,
    ``grounding`` (share of the answer's content words found in the chunk), ``source``, ``chunk``,
    ``heading``, ``model`` and ``seed``. ``max_per_chunk`` (default: three times the even share of the rows that
    can be kept, at least 3) caps the rows taken from one chunk; the rows over the cap are rejected as
    ``chunk quota``.
    """
    unknown = set(tasks) - set(TASKS)
    if unknown or not tasks:
        raise InputError(f"Document tasks are {', '.join(TASKS)}; got {', '.join(tasks) or 'none'}")
    if n < 1:
        raise InputError(f"n must be at least 1, got {n}")
    chunks = chunk_documents(source, max_words=max_words)
    if not chunks:
        raise InputError(f"No text in the documents under '{source}'")
    eng = engine if engine is not None else Engine("fake")
    rng = np.random.default_rng(seed)
    res = TaskResult("corpus", config={"n": n, "tasks": list(tasks), "seed": seed, "max_words": max_words,
                                       "source": str(source), "chunks": len(chunks)})
    want_qa = n if tasks == ["qa"] or tuple(tasks) == ("qa",) else (0 if "qa" not in tasks else round(n * qa_share))
    rows: list[dict[str, Any]] = []
    if want_qa:
        rows += _qa_rows(eng, chunks, want_qa, phrasing, seed, rng, res)
    if "instruct" in tasks:
        groups = [[{**c, "chunk": ch} for c in instruction_candidates(ch, rng)] for ch in chunks]
        inst = _round_robin(groups, rng)[: n - len(rows)]
        rows += [{"task": "instruct", **{k: v for k, v in r.items() if k != "chunk"}, "_chunk": r["chunk"],
                  "question_by": "template"} for r in inst]
    # three times the even share of what can be kept (not of what was asked: when the documents give fewer
    # rows than asked, a cap from n would let a few big tables take most of the corpus)
    cap = max_per_chunk or max(3, math.ceil(3 * min(n, len(rows)) / len(chunks)))
    kept = _checks(res, rows, cap, eng, seed)
    res.records = kept[:n]
    if len(kept) > n:
        st = res.stage("quota")
        st.inputs, st.outputs = len(kept), n
        for row in kept[n:]:
            res.reject(st, row, "quota reached")
    if len(res.records) < n:
        res.notes.append(f"{len(res.records)} of {n} rows: the documents ({len(chunks)} chunks) gave no more that pass "
                         "the checks; give more documents or a smaller -n")
    res.engine_stats = eng.stats()
    return res, chunks


def _qa_rows(eng: Engine, chunks: list[Chunk], want: int, phrasing: str, seed: int, rng: np.random.Generator,
             res: TaskResult) -> list[dict[str, Any]]:
    from simulacra.text.tasks.grounded import grounded_qa

    table = _round_robin([[{**q, "_chunk": ch} for q in table_questions(ch, rng)] for ch in chunks], rng)
    n_table = min(len(table), want // 4)
    texts = [c.text for c in chunks]
    try:
        spans = grounded_qa(eng, texts, want - n_table, chunk_words=10**6, phrasing=phrasing, seed=seed)
    except InputError:
        spans = TaskResult("qa")
    for st in spans.stages:
        st.name = f"qa: {st.name}"
    res.merge(spans)
    res.records = []
    out = []
    for row in spans.records:
        ch = chunks[int(str(row["source"]).removeprefix("doc"))]
        out.append({"task": "qa", **{k: v for k, v in row.items() if k not in ("source", "passage")}, "_chunk": ch})
    short = want - n_table - len(out)
    out += [{"task": "qa", **q} for q in table[: n_table + max(0, short)]]
    return out


def _checks(res: TaskResult, rows: list[dict[str, Any]], cap: int, eng: Engine, seed: int) -> list[dict[str, Any]]:
    from simulacra.text.tasks.label import text_problem
    from simulacra.text.tasks.qa import grounding

    st_g, st_q = res.stage("grounding"), res.stage("chunk quota")
    uses: dict[str, int] = {}
    kept = []
    for row in rows:
        ch: Chunk = row.pop("_chunk")
        answer = row.get("answer") or row.get("response") or ""
        prompt = row.get("question") or row.get("instruction") or ""
        by_model = row.get("question_by") == "model"
        row.update(source=ch.source, chunk=ch.id, heading=ch.heading, seed=seed,
                   model=eng.model_id if by_model else "template", passage=ch.text)
        score = grounding(clean_markdown(answer) or answer, clean_markdown(ch.text) + "\n" + ch.text)
        row["grounding"] = round(score, 3)
        st_g.inputs += 1
        why = text_problem(prompt) or (f"grounding {score:.2f} < {MIN_GROUNDING}" if score < MIN_GROUNDING else None)
        if why:
            res.reject(st_g, row, why)
            continue
        st_g.outputs += 1
        st_q.inputs += 1
        if uses.get(ch.id, 0) >= cap:
            res.reject(st_q, row, f"chunk quota ({cap} rows per chunk)")
            continue
        uses[ch.id] = uses.get(ch.id, 0) + 1
        st_q.outputs += 1
        kept.append(row)
    return kept


def coverage(rows: list[dict[str, Any]], chunks: list[Chunk]) -> dict[str, Any]:
    """How the rows spread over the chunks: used and unused chunks, rows per chunk, the busiest chunks.

    Examples
    --------
    >>> from simulacra.text.corpus.chunks import Chunk
    >>> cs = [Chunk("a#0", "a.md", "A", "x"), Chunk("a#1", "a.md", "B", "y")]
    >>> coverage([{"chunk": "a#0"}, {"chunk": "a#0"}], cs)["chunks_unused"]
    1
    """
    per = {c.id: 0 for c in chunks}
    for r in rows:
        per[r["chunk"]] = per.get(r["chunk"], 0) + 1
    counts = np.array(list(per.values()) or [0])
    busiest = sorted(per.items(), key=lambda kv: -kv[1])[:5]
    unused = [c.as_dict() for c in chunks if per[c.id] == 0]
    return {"chunks": len(chunks), "chunks_used": int((counts > 0).sum()), "chunks_unused": len(unused),
            "rows_per_chunk": {"min": int(counts.min()), "median": float(np.median(counts)), "max": int(counts.max()),
                               "mean": round(float(counts.mean()), 2)},
            "busiest": [{"chunk": k, "rows": v} for k, v in busiest],
            "unused": unused[:50]}


__all__ = ["TASKS", "build_docs", "coverage", "instruction_candidates", "table_questions"]
