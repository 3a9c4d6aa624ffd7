"""Open-book question answering: short passages of the chunks, a lexical retriever over them, and the prompt that
puts the retrieved passages in front of a question.

The same three pieces serve the corpus and the evaluation, so that a model meets at test time the prompt it was
trained on:

- :func:`split_passages` cuts a chunk (:mod:`simulacra.text.corpus.chunks`) into passages of at most
  ``max_words`` words (default :data:`PASSAGE_WORDS`), packing whole blocks; a longer block is cut between
  sentences, list items, table rows (the table's header repeated) or code lines, never inside one;
- :class:`Retriever` ranks passages for a question by the cosine of their TF-IDF vectors (scikit-learn; words and
  word pairs, sub-linear term frequency), the passage's heading path included;
- :func:`context_message` writes the user message: an instruction, the numbered passages with their headings, and
  the question.

In the open-book corpus (``simulacra corpus --open-book``) a row's passages are the passage of its chunk that
holds its answer and, by default, one distractor: the passage of another chunk that the retriever ranks highest for
the question among those that do not hold the answer, in a seeded order. At evaluation
(``simulacra uplift llm --context DOCS/``) the top-k retrieved passages take their place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.text.corpus.chunks import Chunk, table_rows
from simulacra.text.result import TaskResult
from simulacra.text.similarity import words

#: the default length of a passage, in words
PASSAGE_WORDS = 100
#: the default number of passages in an open-book prompt (one holds the answer in training)
TOP_K = 2
INSTRUCTION = "Answer the question from the passages of the documentation below, in a few words."
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+(?=\S)")
_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s+")


@dataclass(frozen=True)
class Passage:
    """A piece of a chunk: its id (``<chunk id>/<k>``), the chunk's id, source file and heading path, and its text."""

    id: str
    chunk: str
    source: str
    heading: str
    text: str

    def as_dict(self) -> dict[str, str]:
        """JSON-able form (for a row's ``context`` and the evaluation's answers)."""
        return {"id": self.id, "chunk": self.chunk, "source": self.source, "heading": self.heading, "text": self.text}


def _n(text: str) -> int:
    return len(text.split())


def _pieces(kind: str, text: str, max_words: int) -> list[str]:
    """A block cut into pieces of at most ``max_words`` words, between its natural units (see the module docstring)."""
    if _n(text) <= max_words:
        return [text]
    if kind == "table":
        lines = text.splitlines()
        head = table_rows(text)[0]
        top = "\n".join(lines[:2]) if len(lines) > 1 and head else ""
        units = lines[2:] if top else lines
        return _pack(units, max_words - _n(top), "\n", prefix=top + "\n" if top else "")
    if kind == "list":
        items: list[str] = []
        for line in text.splitlines():
            if _ITEM.match(line) or not items:
                items.append(line)
            else:
                items[-1] += "\n" + line
        return _pack(items, max_words, "\n")
    if kind == "code":
        return _pack(text.splitlines(), max_words, "\n")
    return _pack(_SENTENCE.split(text), max_words, " ")


def _pack(units: Sequence[str], max_words: int, sep: str, prefix: str = "") -> list[str]:
    """Consecutive units joined into groups of at most ``max_words`` words (a longer unit stays whole)."""
    out: list[list[str]] = []
    for unit in units:
        if out and sum(map(_n, out[-1])) + _n(unit) <= max(1, max_words):
            out[-1].append(unit)
        else:
            out.append([unit])
    return [prefix + sep.join(group) for group in out]


def split_passages(chunk: Chunk, max_words: int = PASSAGE_WORDS) -> list[Passage]:
    """The passages of ``chunk`` (see the module docstring), in reading order.

    Examples
    --------
    >>> from simulacra.text.corpus.chunks import chunk_document
    >>> ch = chunk_document("g.md", "# Guide\\n\\n" + "One two three four. " * 20, min_words=3)[0]
    >>> [(p.id, len(p.text.split())) for p in split_passages(ch, max_words=30)]
    [('g#0/0', 28), ('g#0/1', 28), ('g#0/2', 24)]
    """
    if max_words < 10:
        raise InputError(f"A passage needs at least 10 words, got {max_words}")
    units = [piece for kind, text in (chunk.blocks or [("paragraph", chunk.text)]) for piece in _pieces(kind, text, max_words)]
    groups = _pack(units, max_words, "\n\n")
    return [Passage(f"{chunk.id}/{k}", chunk.id, chunk.source, chunk.heading, text) for k, text in enumerate(groups)]


def passages_of(chunks: Sequence[Chunk], max_words: int = PASSAGE_WORDS) -> list[Passage]:
    """The passages of every chunk, in order."""
    return [p for ch in chunks for p in split_passages(ch, max_words)]


class Retriever:
    """TF-IDF cosine retrieval over passages (scikit-learn's ``TfidfVectorizer``: words and word pairs, sub-linear
    term frequency, English stop words dropped); the heading path is part of what a passage is matched on.

    Examples
    --------
    >>> ps = [Passage("a/0", "a", "a.md", "Cats", "Cats purr and sleep."), Passage("b/0", "b", "b.md", "Dogs", "Dogs bark.")]
    >>> [p.id for p in Retriever(ps).search("Why do dogs bark?", k=1)]
    ['b/0']
    """

    def __init__(self, passages: Sequence[Passage]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not passages:
            raise InputError("No passages to retrieve from; give documents with text")
        self.passages = list(passages)
        self.vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), stop_words="english",
                                          token_pattern=r"(?u)\b\w[\w.-]*\w\b|\b\w\b")
        self.matrix = self.vectorizer.fit_transform([f"{p.heading}\n{p.text}" for p in self.passages])

    def scores(self, query: str) -> np.ndarray:
        """The cosine similarity of ``query`` to every passage."""
        return np.asarray((self.matrix @ self.vectorizer.transform([query]).T).toarray()).ravel()

    def ranked(self, query: str) -> list[int]:
        """Indices of the passages, best first (ties in passage order)."""
        return [int(i) for i in np.argsort(-self.scores(query), kind="stable")]

    def search(self, query: str, k: int = TOP_K) -> list[Passage]:
        """The ``k`` passages most similar to ``query``, best first."""
        if k < 1:
            raise InputError(f"The number of passages to retrieve must be at least 1, got {k}")
        return [self.passages[i] for i in self.ranked(query)[:k]]


def context_message(question: str, passages: Sequence[Passage | dict[str, Any]]) -> str:
    """The user message of an open-book question: the instruction, the numbered passages, then the question.

    Examples
    --------
    >>> print(context_message("Who purrs?", [Passage("a/0", "a", "a.md", "Cats", "Cats purr.")]))
    Answer the question from the passages of the documentation below, in a few words.
    <BLANKLINE>
    Passage 1 (Cats):
    Cats purr.
    <BLANKLINE>
    Question: Who purrs?
    """
    parts = [INSTRUCTION]
    for i, p in enumerate(passages, 1):
        d = p.as_dict() if isinstance(p, Passage) else p
        parts.append(f"Passage {i} ({d['heading']}):\n{d['text']}")
    parts.append(f"Question: {question}")
    return "\n\n".join(parts)


def holds(text: str, answer: str) -> bool:
    """Whether the words of ``answer`` occur in ``text``, in order and together.

    Examples
    --------
    >>> holds("The default is `autoreg` (LightGBM).", "autoreg"), holds("auto regression", "autoreg")
    (True, False)
    """
    t, a = words(text), words(answer)
    return bool(a) and any(t[i:i + len(a)] == a for i in range(len(t) - len(a) + 1))


def _gold(row: dict[str, Any], own: Sequence[Passage]) -> Passage | None:
    """The passage of a row's chunk that holds its answer: the one that also holds its evidence (the sentence or the
    table row), else the one sharing most words with the evidence; None when no passage holds the answer."""
    answer = str(row.get("answer") or "")
    with_answer = [p for p in own if holds(p.text, answer)]
    if not with_answer:
        return None
    evidence = str(row.get("evidence") or "")
    exact = [p for p in with_answer if evidence and holds(p.text, evidence)]
    if exact:
        return exact[0]
    ev = set(words(evidence))
    return max(with_answer, key=lambda p: len(ev & set(words(p.text))))


def open_book(res: TaskResult, chunks: Sequence[Chunk], *, passage_words: int = PASSAGE_WORDS, distractors: int = 1,
              seed: int = 0) -> dict[str, Any]:
    """Give every QA row of ``res`` its passages (``context``: the passage holding its answer and ``distractors``
    retrieved passages of other chunks that do not hold it, in a seeded order; ``gold_passage``: the id of the
    first). A QA row whose answer no passage of its chunk holds is rejected (stage ``open book``); instruction rows
    are an error (their answer is the whole chunk). Returns the settings, for the manifest."""
    if distractors < 0:
        raise InputError(f"The number of distractor passages must be 0 or more, got {distractors}")
    if any(r.get("task") != "qa" for r in res.records):
        raise InputError("Open-book rows are QA rows: instructions are answered by their whole chunk, which the "
                         "passages would hand over; use --tasks qa with --open-book")
    every = passages_of(chunks, passage_words)
    by_chunk: dict[str, list[Passage]] = {}
    for p in every:
        by_chunk.setdefault(p.chunk, []).append(p)
    retriever = Retriever(every)
    rng = np.random.default_rng([seed, 11])
    st = res.stage("open book")
    kept = []
    for row in res.records:
        st.inputs += 1
        gold = _gold(row, by_chunk.get(str(row.get("chunk")), []))
        if gold is None:
            res.reject(st, row, f"no passage of {passage_words} words of its chunk holds the answer")
            continue
        others = list(islice((every[i] for i in retriever.ranked(str(row["question"]))
                              if every[i].chunk != gold.chunk and not holds(every[i].text, str(row["answer"]))),
                             distractors))  # stops at the first few: no answer check on every passage
        context = [gold, *others]
        order = rng.permutation(len(context))
        row["context"] = [context[i].as_dict() for i in order]
        row["gold_passage"] = gold.id
        st.outputs += 1
        kept.append(row)
    res.records = kept
    settings = {"passage_words": passage_words, "distractors": distractors, "passages": len(every),
                "retriever": "TF-IDF cosine (scikit-learn), words and word pairs", "instruction": INSTRUCTION}
    res.config["open_book"] = settings
    return settings


__all__ = ["INSTRUCTION", "PASSAGE_WORDS", "TOP_K", "Passage", "Retriever", "context_message", "holds", "open_book", "passages_of",
           "split_passages", "words"]
