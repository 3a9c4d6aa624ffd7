"""Checks for what people see at a glance in generated text, each returning the reason to drop a text.

A check is a function ``text -> str | None``: None keeps the text, a string is the reason it is dropped
(the reasons become the per-filter counts of the run manifest). :func:`apply_checks` runs checks over a
field of the rows of a :class:`~simulacra.text.result.TaskResult` and records every row it removes.

The checks catch prompt-template leakage (``Passage:``, ``### Answer``, role tags), questions that are
not questions, answers that copy their source, text that is mostly punctuation, hashtags or emoji, and
text that repeats itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from simulacra.text.similarity import rouge_l, tokens

Check = Callable[[str], "str | None"]

#: prompt scaffolding that must never reach an output: labels of our own prompts and chat-template tags
_LEAK = re.compile(
    r"(?im)^\s*(passage|context|document|sentence|question|answer|instruction|input|output|response|task)\s*\d*\s*:"
    r"|(?<=[.?!])\s+(passage|context|question|answer|response|instruction|output)\s*:"
    r"|#{2,}\s*(answer|question|instruction|response|input|output|passage)"
    r"|<\|?(im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|?>"
    r"|<(start|end)_of_turn>|\[/?INST\]|^\s*(system|user|assistant)\s*$"
)
_QUESTION_START = frozenset(
    "what which who whom whose when where why how is are was were do does did can could should would will "
    "may might must has have had in on at for from by to according under during".split()
)
_HASHTAG = re.compile(r"#\w+")
_WORDISH = re.compile(r"[^\W_]", re.UNICODE)


def template_leak(text: str) -> str | None:
    """A reason when ``text`` contains prompt scaffolding: ``Passage:``, ``### Answer``, role tags.

    Examples
    --------
    >>> template_leak("Passage: The sky is blue. What colour is it?"), template_leak("What colour is the sky?")
    ('prompt template leaked', None)
    >>> template_leak("<|im_start|>assistant")
    'prompt template leaked'
    """
    return "prompt template leaked" if _LEAK.search(text) else None


def not_a_question(text: str) -> str | None:
    """A reason unless ``text`` is one question: ends with '?', starts like a question, has 4+ words.

    Examples
    --------
    >>> not_a_question("hash tables"), not_a_question("What does the seed option change?")
    ('not a question', None)
    >>> not_a_question("Which option sets the seed? And why?")
    'more than one question'
    """
    t = text.strip()
    words = tokens(t)
    if not t.endswith("?") or len(words) < 4:
        return "not a question"
    if t.count("?") > 1:
        return "more than one question"
    if words[0] not in _QUESTION_START and not any(w in ("what", "which", "who", "when", "where", "why", "how") for w in words):
        return "not a question"
    return None


def mostly_noise(text: str, min_word_share: float = 0.6, max_hashtags: int = 2) -> str | None:
    """A reason when ``text`` is mostly punctuation, symbols or emoji, or carries hashtags.

    Examples
    --------
    >>> mostly_noise("..."), mostly_noise("#great #phone #love it"), mostly_noise("A fine phone.")
    ('mostly punctuation', 'hashtags', None)
    """
    t = text.strip()
    if not t:
        return "empty"
    if len(_HASHTAG.findall(t)) >= max_hashtags:
        return "hashtags"
    visible = [c for c in t if not c.isspace()]
    letters = sum(1 for c in visible if _WORDISH.match(c))
    if letters / len(visible) < min_word_share or not tokens(t):
        return "mostly punctuation"
    return None


def repetitive(text: str, max_share: float = 0.35, min_words: int = 8) -> str | None:
    """A reason when ``text`` repeats itself: one word, or one 3-gram, makes up too much of it.

    Examples
    --------
    >>> repetitive("very very very very very very very good"), repetitive("The battery lasts a full day of use.")
    ('repetition', None)
    >>> repetitive("buy it now buy it now buy it now buy it now")
    'repetition'
    """
    words = tokens(text)
    if len(words) < min_words:
        return "repetition" if len(words) >= 3 and len(set(words)) == 1 else None
    top = max(words.count(w) for w in set(words))
    if top / len(words) > max_share and top >= 4:
        return "repetition"
    grams = list(zip(words, words[1:], words[2:]))
    if grams:
        top_g = max(grams.count(g) for g in set(grams))
        if top_g >= 3 and 3 * top_g / len(words) > 0.5:
            return "repetition"
    return None


def copies_source(text: str, source: str, max_share: float = 0.6, min_words: int = 12) -> str | None:
    """A reason when ``text`` copies a long stretch of ``source`` (for answers, paraphrases, outputs).

    The share is the longest common subsequence over the words of ``source``, or ROUGE-L when the text is
    about as long as the source; short texts (under ``min_words`` words) are never "copies".

    Examples
    --------
    >>> src = "The seed fixes every random choice, so a rerun with the same seed writes the same rows again."
    >>> copies_source(src, src), copies_source("It fixes every random choice.", src)
    ('copies the source', None)
    """
    a, b = tokens(text), tokens(source)
    if len(a) < min_words or not b:
        return None
    if rouge_l(a, b) > max_share:
        return "copies the source"
    return None


def gives_away(question: str, answer: str) -> str | None:
    """A reason when the question contains its own answer (for answers of content words).

    Examples
    --------
    >>> gives_away("Is the default seed 0?", "0"), gives_away("What is the default seed?", "0")
    ('question gives away the answer', None)
    """
    q, a = " " + " ".join(tokens(question)) + " ", " ".join(tokens(answer))
    if a and f" {a} " in q:
        return "question gives away the answer"
    return None


def apply_checks(res: Any, rows: list[dict[str, Any]], stage_name: str,
                 checks: Sequence[tuple[str, Callable[[dict[str, Any]], str | None]]]) -> list[dict[str, Any]]:
    """Run row checks in order; a row failing one is recorded in ``res`` with its reason and dropped.

    ``checks`` are ``(field, fn)`` pairs: ``fn(row)`` returns None or a reason; the reason is recorded as
    ``"<field>: <reason>"``. Rows already invalid (``_status`` not ok) pass through untouched.

    Examples
    --------
    >>> from simulacra.text.result import TaskResult
    >>> res = TaskResult("qa")
    >>> rows = [{"question": "hash tables"}, {"question": "What is a hash table used for?"}]
    >>> kept = apply_checks(res, rows, "filters", [("question", lambda r: not_a_question(r["question"]))])
    >>> len(kept), res.stages[0].filtered
    (1, {'question: not a question': 1})
    """
    stage = res.stage(stage_name)
    stage.inputs = len(rows)
    kept = []
    for row in rows:
        reason = None
        if row.get("_status", "ok") == "ok":
            for field, fn in checks:
                found = fn(row)
                if found:
                    reason = f"{field}: {found}"
                    break
        if reason is not None:
            res.reject(stage, row, reason)
        else:
            kept.append(row)
    stage.outputs = len(kept)
    return kept


def text_checks(field: str, *, source: str | None = None) -> list[tuple[str, Callable[[dict[str, Any]], str | None]]]:
    """The standard checks of a free-text field: leakage, noise, repetition (and copying ``row[source]``).

    Examples
    --------
    >>> [name for name, _ in text_checks("text")]
    ['text', 'text', 'text']
    """
    def value(row: dict[str, Any]) -> str:
        return str(row.get(field) or "")

    out: list[tuple[str, Callable[[dict[str, Any]], str | None]]] = [
        (field, lambda r: template_leak(value(r))),
        (field, lambda r: mostly_noise(value(r))),
        (field, lambda r: repetitive(value(r))),
    ]
    if source is not None:
        out.append((field, lambda r: copies_source(value(r), str(r.get(source) or ""))))
    return out


__all__ = ["apply_checks", "copies_source", "gives_away", "mostly_noise", "not_a_question", "repetitive",
           "template_leak", "text_checks"]
