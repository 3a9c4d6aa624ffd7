"""Grounded QA, correct by construction: the pipeline picks the answer, the question is phrased for it.

Documents are cleaned (Markdown code blocks, tables and headings removed) and cut into passages; answer
spans are found in each passage (:func:`~simulacra.text.tasks.spans.find_spans`) and visited round-robin
over the passages in a seeded order. For each span a question is phrased, by the template (the span's
place in its sentence gets a question phrase) or by the model (few-shot chat), and checked: it must be
one question, leak no prompt, not contain its answer, and (for model questions) stay on the words of the
sentence that holds the answer. Every kept answer occurs verbatim in its passage.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.text.engine import Engine
from simulacra.text.filters import apply_checks
from simulacra.text.result import TaskResult
from simulacra.text.similarity import tokens
from simulacra.text.tasks import call_seed
from simulacra.text.tasks.spans import Span, clean_markdown, find_spans, template_question
from simulacra.text.types import ChatRequest

#: few-shot examples of the model phrasing: sentence, answer span, question
SHOTS = (
    ("The Eiffel Tower was finished in 1889 for the World's Fair in Paris.", "1889",
     "In what year was the Eiffel Tower finished?"),
    ("Photosynthesis takes place in the chloroplasts of plant cells.", "chloroplasts",
     "Where in plant cells does photosynthesis take place?"),
    ("The parser reads at most 500 rows per batch before it writes them to disk.", "500 rows",
     "How many rows does the parser read per batch at most?"),
    ("Set the retries option to resample outputs that fail validation.", "retries",
     "Which option resamples outputs that fail validation?"),
)
_SYSTEM = ("You write one question about a sentence. The question's answer must be exactly the given answer, "
           "and the question must not contain it. Reply with the question only.")
_STOP = frozenset("a an the of to in on at by for with from and or is are was were be it its this that what which who "
                  "when where why how many much does do did can".split())


def resolve_phrasing(phrasing: str, engine: Engine) -> str:
    """``"template"`` or ``"model"``: ``"auto"`` is ``"model"`` for a server, ``"template"`` for an embedded model.

    Examples
    --------
    >>> resolve_phrasing("auto", Engine("fake")), resolve_phrasing("model", Engine("fake"))
    ('template', 'model')
    """
    if phrasing != "auto":
        return phrasing
    return "model" if engine.model_id.startswith(("http", "openai")) else "template"


def candidate_spans(documents: str | Path | Sequence[str], chunk_words: int, seed: int) -> list[dict[str, Any]]:
    """Answer spans of ``documents``, one passage after another (round-robin) in a seeded order."""
    from simulacra.text.tasks.qa import chunk_text, load_documents

    per_passage: list[list[dict[str, Any]]] = []
    for name, raw in load_documents(documents):
        for passage in chunk_text(clean_markdown(raw), chunk_words):
            spans = find_spans(passage, raw)
            if spans:
                per_passage.append([{"source": name, "passage": passage, "span": sp} for sp in spans])
    if not per_passage:
        raise InputError("The documents hold no sentence with an answer span (a number, a date, a name, a code "
                         "name): give longer prose documents")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(per_passage))
    for group in per_passage:
        perm = rng.permutation(len(group))
        group[:] = [group[i] for i in perm]
    out: list[dict[str, Any]] = []
    depth = max(len(g) for g in per_passage)
    for level in range(depth):
        out += [per_passage[i][level] for i in order if level < len(per_passage[i])]
    return out


def grounded_qa(engine: Engine, documents: str | Path | Sequence[str], n: int, *, chunk_words: int = 200,
                phrasing: str = "auto", dedup: bool = True, seed: int = 0, retries: int = 2,
                batch_factor: float = 2.0) -> TaskResult:
    """``n`` question/answer pairs grounded in ``documents`` (see the module docstring)."""
    from simulacra.text.tasks.qa import qa_checks

    how = resolve_phrasing(phrasing, engine)
    res = TaskResult("qa", config={"n": n, "seed": seed, "grounded": True, "phrasing": how, "chunk_words": chunk_words})
    candidates = candidate_spans(documents, chunk_words, seed)
    phrase, pos = res.stage("phrase question"), 0
    kept: list[dict[str, Any]] = []
    checks = qa_checks() + [("question", _off_sentence)]
    dup_stage = None
    while len(kept) < n and pos < len(candidates):
        take = candidates[pos:pos + max(4, int(np.ceil((n - len(kept)) * batch_factor)))]
        pos += len(take)
        rows = _phrase(engine, take, how, seed, pos, res, phrase)
        rows = apply_checks(res, rows, "checks", checks)
        if dedup:
            dup_stage = dup_stage or res.stage("dedup")
            rows = _new_unique(res, dup_stage, kept, rows)
        kept += rows
    _merge_stages(res)
    if len(kept) > n:  # the last batch overshot: the surplus is accounted for, not silently cut
        quota = res.stage("quota")
        quota.inputs, quota.outputs = len(kept), n
        for row in kept[n:]:
            res.reject(quota, row, "quota reached")
        kept = kept[:n]
    if len(kept) < n:
        res.notes.append(f"{len(kept)} of {n} grounded pairs: the documents gave {len(candidates)} answer spans and the "
                         "others failed the checks; give more documents")
    res.config["attempted"] = pos
    res.records = kept
    res.engine_stats = engine.stats()
    return res


def _phrase(engine: Engine, items: list[dict[str, Any]], how: str, seed: int, offset: int, res: TaskResult,
            stage: Any) -> list[dict[str, Any]]:
    stage.inputs += len(items)
    questions: list[str | None]
    if how == "template":
        questions = [template_question(it["span"]) for it in items]
    else:
        reqs = [ChatRequest(messages=_messages(it["span"]), max_tokens=64, temperature=0.3, stop=("\n",),
                            seed=call_seed(seed, offset, i)) for i, it in enumerate(items)]
        questions = [c.text.strip() if c.ok else None for c in engine.complete(reqs, label="phrasing questions")]
    rows = []
    for it, q in zip(items, questions):
        sp: Span = it["span"]
        row = {"question": q, "answer": sp.text, "answer_kind": sp.kind, "evidence": sp.sentence,
               "passage": it["passage"], "source": it["source"], "question_by": how, "verifier": "answer occurs in passage"}
        if not q:
            res.reject(stage, row, "no question form fits the span" if how == "template" else "the model wrote nothing")
            continue
        stage.outputs += 1
        rows.append(row)
    return rows


def _messages(span: Span) -> tuple[dict[str, str], ...]:
    msgs = [{"role": "system", "content": _SYSTEM}]
    for sent, ans, q in SHOTS:
        msgs += [{"role": "user", "content": f"Sentence: {sent}\nAnswer: {ans}"}, {"role": "assistant", "content": q}]
    msgs.append({"role": "user", "content": f"Sentence: {span.sentence}\nAnswer: {span.text}"})
    return tuple(msgs)


def _off_sentence(row: dict[str, Any]) -> str | None:
    """A model question whose content words are mostly not in the answer's sentence asks something else."""
    if row.get("question_by") != "model":
        return None
    words = [w for w in tokens(row["question"]) if w not in _STOP]
    have = set(tokens(row["evidence"]))
    if len(words) < 2 or sum(w in have for w in words) / len(words) < 0.5:
        return "not answerable from the passage"
    return None


def _new_unique(res: TaskResult, stage: Any, kept: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of ``new`` whose question duplicates neither a kept question nor an earlier new one."""
    from simulacra.text.dedup import find_duplicates

    dup = find_duplicates([r["question"] for r in kept] + [r["question"] for r in new])
    stage.inputs += len(new)
    out = []
    for j, row in enumerate(new):
        reason = dup.reason[len(kept) + j]
        if reason:
            res.reject(stage, row, reason)
        else:
            out.append(row)
    stage.outputs += len(out)
    return out


def _merge_stages(res: TaskResult) -> None:
    """One stage per name: the batches' stages summed, so the manifest shows totals."""
    merged: dict[str, Any] = {}
    for st in res.stages:
        if st.name in merged:
            m = merged[st.name]
            m.inputs += st.inputs
            m.outputs += st.outputs
            m.invalid += st.invalid
            for k, v in st.filtered.items():
                m.drop(k, v)
        else:
            merged[st.name] = st
    res.stages = list(merged.values())


__all__ = ["SHOTS", "candidate_spans", "grounded_qa", "resolve_phrasing"]
