"""Question/answer pairs from topics, or grounded in passages of documents.

From topics, the question type and difficulty are sampled in Python so that a small model does not
write the same question again and again; its facts come from the model's memory, so use a strong model.
From documents, texts are cut into passages of about ``chunk_words`` words (on paragraph boundaries) and
the answer is a span of the passage chosen by the pipeline (:mod:`simulacra.text.tasks.grounded`), so it
occurs there verbatim: correctness comes from the document, not from the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.text.engine import Engine
from simulacra.text.filters import apply_checks, copies_source, gives_away, mostly_noise, not_a_question, repetitive, template_leak
from simulacra.text.result import TaskResult
from simulacra.text.schema import token_budget
from simulacra.text.similarity import rouge_l, tokens
from simulacra.text.tasks import as_engine, call_seed, dedup_stage
from simulacra.text.types import ChatRequest

QUESTION_TYPES = ("what", "why", "how", "when would", "compare", "define", "give an example of", "what happens if")
DIFFICULTY = ("simple", "intermediate", "challenging")
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being it its this that these "
    "those there their they them he she his her we you your i not no do does did so such than then too very can will "
    "would should could may might must has have had about into over under also which who whom what when where why how".split()
)
QA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"question": {"type": "string", "minLength": 8, "maxLength": 300},
                   "answer": {"type": "string", "minLength": 1, "maxLength": 700}},
    "required": ["question", "answer"], "additionalProperties": False,
}


def chunk_text(text: str, chunk_words: int = 200) -> list[str]:
    """Cut ``text`` into passages of about ``chunk_words`` words, on paragraph boundaries where possible.

    Examples
    --------
    >>> [len(c.split()) for c in chunk_text("a b c\\n\\nd e\\n\\nf g h i", chunk_words=4)]
    [3, 2, 4]
    """
    paras = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    chunks: list[str] = []
    current: list[str] = []
    for para in paras:
        words = para.split()
        if current and len(current) + len(words) > chunk_words:
            chunks.append(" ".join(current))
            current = []
        while len(words) > chunk_words:
            chunks.append(" ".join(words[:chunk_words]))
            words = words[chunk_words:]
        current += words
    if current:
        chunks.append(" ".join(current))
    return chunks


def load_documents(source: str | Path | Sequence[str]) -> list[tuple[str, str]]:
    """``(name, text)`` pairs from a directory of .txt/.md files, one file, or a list of texts."""
    if isinstance(source, (str, Path)) and Path(source).exists():
        p = Path(source)
        files = sorted(f for f in p.rglob("*") if f.suffix.lower() in (".txt", ".md")) if p.is_dir() else [p]
        if not files:
            raise InputError(f"No .txt or .md files in '{p}'")
        return [(str(f), f.read_text(encoding="utf-8", errors="replace")) for f in files]
    if isinstance(source, (str, Path)):
        raise InputError(f"Documents '{source}' do not exist; give a directory of .txt/.md files or a list of texts")
    return [(f"doc{i}", str(t)) for i, t in enumerate(source)]


def grounding(answer: str, passage: str) -> float:
    """Share of the answer's content words that occur in the passage (1.0 = fully grounded).

    Examples
    --------
    >>> grounding("Paris is the capital", "The capital of France is Paris.")
    1.0
    """
    words = [w for w in tokens(answer) if w not in STOPWORDS]
    if not words:
        return 0.0
    have = set(tokens(passage))
    return float(np.mean([w in have for w in words]))


def generate_qa(
    topics: Sequence[str] | None = None,
    n: int = 10,
    *,
    documents: str | Path | Sequence[str] | None = None,
    chunk_words: int = 200,
    phrasing: str = "auto",
    dedup: bool = True,
    seed: int = 0,
    retries: int = 2,
    temperature: float = 0.9,
    engine: Engine | None = None,
    backend: Any = None,
) -> TaskResult:
    """Generate ``n`` question/answer pairs about ``topics``, or grounded in ``documents``.

    From documents the answer is a span of the passage chosen by the pipeline (a number with its unit, a
    year, a code name, a proper name; see :mod:`simulacra.text.tasks.spans`), so every answer occurs
    verbatim in its passage. ``phrasing`` says who writes the question: ``"template"`` puts a question
    phrase in the span's place in its sentence (right by construction; what small models need: SmolLM2-135M
    wrote 0 sensible questions in 20 for given spans), ``"model"`` asks the LLM with few-shot examples and
    keeps a question only when it passes the checks, ``"auto"`` is ``"model"`` for a server and
    ``"template"`` for an embedded GGUF model.

    Examples
    --------
    >>> res = generate_qa(["volcanoes", "tides"], 4, backend="fake")
    >>> sorted(res.records[0])[:3], res.stages[0].inputs
    (['answer', 'question', 'topic'], 4)
    >>> doc = "The tower was finished in 1889 for the fair. It is 330 metres tall and weighs 10,100 tonnes."
    >>> res = generate_qa(documents=[doc], n=2, backend="fake")
    >>> [(r["question"], r["answer"]) for r in res.records]
    [('It is 330 metres tall and weighs how many tonnes?', '10,100'), ('In what year was the tower finished for the fair?', '1889')]
    """
    if (topics is None) == (documents is None):
        raise InputError("Give either topics or documents for QA generation")
    if phrasing not in ("auto", "template", "model"):
        raise InputError(f"phrasing must be 'auto', 'template' or 'model', not {phrasing!r}")
    eng = as_engine(engine, backend)
    if documents is not None:
        from simulacra.text.tasks.grounded import grounded_qa

        return grounded_qa(eng, documents, n, chunk_words=chunk_words, phrasing=phrasing, dedup=dedup, seed=seed,
                           retries=retries)
    rng = np.random.default_rng(seed)
    res = TaskResult("qa", config={"n": n, "seed": seed, "retries": retries, "grounded": False})
    topics = [t.strip() for t in (topics or []) if t and t.strip()]
    if not topics:
        raise InputError("The topic list is empty")
    contexts = [{"topic": topics[i % len(topics)]} for i in range(n)]
    kinds = rng.choice(len(QUESTION_TYPES), size=n)
    levels = rng.choice(len(DIFFICULTY), size=n)
    requests = [ChatRequest.user(_prompt(ctx, QUESTION_TYPES[k], DIFFICULTY[d]), schema=QA_SCHEMA, temperature=temperature,
                                 max_tokens=token_budget(QA_SCHEMA), seed=call_seed(seed, i))
                for i, (ctx, k, d) in enumerate(zip(contexts, kinds, levels))]
    results = eng.structured(requests, retries=retries, label="writing QA pairs")
    gen = res.stage("generate")
    gen.inputs = n
    rows = []
    for ctx, st in zip(contexts, results):
        row = {"question": None, "answer": None, **ctx}
        if st.ok:
            row.update(question=st.value["question"].strip(), answer=st.value["answer"].strip())
        else:
            row.update(_status="invalid", _error="; ".join(st.errors), _raw=st.raw[:2000])
            gen.invalid += 1
        rows.append(row)
    gen.outputs = len(rows)
    rows = _filter_echo(res, rows)
    rows = apply_checks(res, rows, "filters", qa_checks())
    if dedup:
        rows = dedup_stage(res, rows, "question")
    res.records = rows
    res.engine_stats = eng.stats()
    return res


def qa_checks() -> list[tuple[str, Any]]:
    """The at-a-glance checks of a question/answer row: leakage, not a question, give-away, noise, copying."""
    return [
        ("question", lambda r: template_leak(r["question"]) or not_a_question(r["question"])),
        ("question", lambda r: gives_away(r["question"], r["answer"])),
        ("answer", lambda r: template_leak(r["answer"]) or mostly_noise(r["answer"]) or repetitive(r["answer"])),
        ("answer", lambda r: copies_source(r["answer"], r["passage"]) if r.get("passage") else None),
    ]


def _prompt(ctx: dict[str, Any], kind: str, level: str) -> str:
    return (f"Write one {level} question about {ctx['topic']} that starts with '{kind}', and a correct, concise answer.\n"
            'Reply as JSON: {"question": "...", "answer": "..."}')


def _filter_echo(res: TaskResult, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop (with the reason) answers that only repeat the question: a common failure of small models."""
    stage = res.stage("answer check")
    stage.inputs = len(rows)
    kept = []
    for row in rows:
        if row.get("_status", "ok") == "ok" and rouge_l(row["answer"], row["question"]) > 0.8:
            res.reject(stage, row, "answer repeats the question")
            continue
        kept.append(row)
    stage.outputs = len(kept)
    return kept


__all__ = ["QA_SCHEMA", "chunk_text", "generate_qa", "grounding", "load_documents", "qa_checks"]
