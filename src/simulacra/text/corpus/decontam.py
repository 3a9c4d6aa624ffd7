"""Decontamination: which generated rows share word n-grams with an evaluation set.

A row is contaminated when it shares a word n-gram (lower case, punctuation removed, words of any script:
:func:`simulacra.text.similarity.words`, the tokeniser that answer search uses too) with any evaluation
text, or contains a whole evaluation text shorter than ``n`` words. The check is reported and the rows
are kept apart, never silently removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from simulacra.errors import InputError
from simulacra.text.similarity import words

#: field names under which an evaluation row keeps its text, in order of preference
TEXT_FIELDS = ("request", "question", "prompt", "instruction", "input", "text")


def ngrams(tokens: Sequence[str], n: int) -> set[tuple[str, ...]]:
    """The word n-grams of ``tokens`` (the whole sequence when it is shorter than ``n``)."""
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def eval_texts(path: str | Path) -> list[str]:
    """The texts of an evaluation set: JSONL rows (``request``, ``question``, ``prompt``... fields) or lines."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"The evaluation set '{path}' does not exist")
    out = []
    if p.suffix == ".jsonl":
        from simulacra.text.formats import read_jsonl

        for i, row in enumerate(read_jsonl(p), 1):
            field = next((f for f in TEXT_FIELDS if isinstance(row.get(f), str)), None)
            if field is None:
                raise InputError(f"{p}:{i} has none of the fields {', '.join(TEXT_FIELDS)}; give the text to compare")
            out.append(row[field])
    else:
        out = [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return out


class Contamination:
    """An index of the n-grams of an evaluation set; :meth:`check` says what a text shares with it.

    Examples
    --------
    >>> idx = Contamination(["How many miles is 42.195 km?", "Hi there!"], n=4)
    >>> idx.check("so how many miles is 42.195 km anyway")
    {'eval_index': 0, 'shared': 'how many miles is'}
    >>> idx.check("Hi there! What is 5 km in miles?")["eval_index"]
    1
    >>> idx.check("What is 5 km in miles?") is None
    True
    """

    def __init__(self, texts: Iterable[str], n: int = 8) -> None:
        if n < 2:
            raise InputError(f"The n-gram size must be at least 2, got {n}")
        self.n = n
        self.index: dict[tuple[str, ...], int] = {}
        self.size = 0
        for i, text in enumerate(texts):
            self.size += 1
            for g in ngrams(words(text), n):
                self.index.setdefault(g, i)

    def check(self, text: str) -> dict[str, Any] | None:
        """The first evaluation text ``text`` shares an n-gram with, or None."""
        toks = words(text)
        for k in sorted({len(g) for g in self.index}, reverse=True):
            for g in (tuple(toks[i:i + k]) for i in range(len(toks) - k + 1)):  # in reading order
                if g in self.index:
                    return {"eval_index": self.index[g], "shared": " ".join(g)}
        return None


def decontaminate(res: Any, rows: list[dict[str, Any]], texts: Sequence[str], fields: Sequence[str], n: int = 8,
                  source: str = "") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows that share no n-gram with ``texts`` (in any of ``fields``), and the report; the others are
    rejected in ``res`` (stage ``decontamination``) with the shared words."""
    idx = Contamination(texts, n=n)
    st = res.stage("decontamination")
    kept = []
    hits: dict[int, int] = {}
    for row in rows:
        st.inputs += 1
        found = next((h for h in (idx.check(str(row.get(f) or "")) for f in fields) if h), None)
        if found:
            hits[found["eval_index"]] = hits.get(found["eval_index"], 0) + 1
            res.reject(st, row, f"shares '{found['shared']}' with evaluation row {found['eval_index']}")
            continue
        st.outputs += 1
        kept.append(row)
    report = {"eval_set": source, "eval_rows": idx.size, "ngram": n, "rows_checked": len(rows),
              "rows_contaminated": len(rows) - len(kept), "eval_rows_hit": len(hits),
              "share_contaminated": round((len(rows) - len(kept)) / len(rows), 4) if rows else 0.0}
    return kept, report


__all__ = ["Contamination", "decontaminate", "eval_texts", "ngrams", "words"]
