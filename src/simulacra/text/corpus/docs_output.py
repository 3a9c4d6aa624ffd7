"""Writing a documents corpus: chat rows (closed book), chosen/rejected pairs and the dataset card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from simulacra.text.corpus.export import write_corpus
from simulacra.text.corpus.passages import context_message
from simulacra.text.result import TaskResult


def chat(row: dict[str, Any]) -> list[dict[str, str]]:
    """The chat messages of a row: the question (or instruction) and its grounded answer; an open-book row's
    question comes after its passages (:func:`~simulacra.text.corpus.passages.context_message`)."""
    prompt = row.get("question") or row.get("instruction") or ""
    if row.get("context"):
        prompt = context_message(prompt, row["context"])
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": row.get("answer") or row.get("response") or ""}]


def pairs(rows: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """Chosen/rejected pairs for the QA rows: the grounded answer against the answer of another question of
    the same kind from another chunk (an answer the verifier knows is wrong for this question)."""
    rng = np.random.default_rng([seed, 5])
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("task") == "qa":
            by_kind.setdefault(str(r.get("answer_kind")), []).append(r)
    out = []
    for r in rows:
        others = [o for o in by_kind.get(str(r.get("answer_kind")), []) if o["chunk"] != r["chunk"] and o["answer"] != r["answer"]]
        if r.get("task") != "qa" or not others:
            continue
        wrong = others[int(rng.integers(len(others)))]
        out.append({"prompt": chat(r)[:1],
                    "chosen": [{"role": "assistant", "content": r["answer"]}],
                    "rejected": [{"role": "assistant", "content": wrong["answer"]}],
                    "preference_source": f"verifier: the rejected answer belongs to {wrong['chunk']}"})
    return out


def write_docs_corpus(res: TaskResult, out: str | Path, *, command: str = "", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the corpus folder (:func:`~simulacra.text.corpus.export.write_corpus`)."""
    model = (res.engine_stats or {}).get("model", "?")
    book = res.config.get("open_book")
    card = {
        "title": f"Grounded QA and instructions from {res.config.get('source')}",
        "summary": "Question/answer pairs and instructions made by simulacra from documents, each grounded in one chunk "
                   "of them.", "source": f"documents under `{res.config.get('source')}` ({res.config.get('chunks')} chunks)",
        "command": command, "tags": ["question-answering", "instruction-tuning"],
        "method": [
            "Documents were cut into chunks along their Markdown sections; tables, lists and code blocks are never cut.",
            "Questions: an answer span (number, name, code name, year) chosen in the chunk by the pipeline, the question "
            f"phrased by template or by the model ({model}) and checked; table questions ask for a cell by its row and column.",
            "Instructions: explain a section (answered by its prose), show its code, reproduce its table, list its points.",
            "Each row has a grounding score (share of the answer's content words found in its chunk) and its provenance.",
            "Pairs: chosen = the grounded answer, rejected = the answer of a question of the same kind from another chunk.",
            *([f"Open book: the user message holds {1 + book['distractors']} passages of at most {book['passage_words']} "
               "words and then the question: the passage of the row's chunk that holds the answer and "
               f"{book['distractors']} distractor(s), the passages of other chunks that a {book['retriever']} retriever "
               "ranks highest for the question among those without the answer, in a seeded order."] if book else []),
        ],
        "fields": {"messages": "user (question or instruction" + (", after its passages" if book else "")
                               + "), assistant (grounded answer)",
                   "task": "qa or instruct", "source": "document file", "chunk": "chunk id (see chunks.jsonl)",
                   "heading": "section path of the chunk", "grounding": "share of answer words in the chunk",
                   "model": "who phrased the question (template or the model id)", "seed": "the run's seed"},
        "limitations": [*(["Open book: the passages are given with the question, so the rows teach reading an answer "
                           "out of retrieved passages, not the facts themselves."] if book else []),"Template questions can read stiffly; answers are short spans or whole sections.",
                        "Grounding checks that the answer comes from the chunk, not that the question is well posed."],
    }
    return write_corpus(res, out, chat=chat, card=card, pairs=pairs(res.records, int(res.config.get("seed", 0))),
                        extra=extra, hf_fields=("task", "source", "chunk", "heading", "grounding", "model", "seed"))


__all__ = ["chat", "pairs", "write_docs_corpus"]
