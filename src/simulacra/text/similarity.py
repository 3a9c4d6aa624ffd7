"""Text similarity and diversity measures: ROUGE-L (bit-parallel LCS), distinct-n, compression ratio.

ROUGE-L follows the ``rouge-score`` package's defaults (lower-case, alphanumeric tokens, F-measure);
the longest common subsequence is computed with the bit-parallel algorithm (one big-integer operation
per token of the reference), so comparing a new instruction against a pool of thousands is fast.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+")
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Lower-case words and numbers of ``text`` in any script; Markdown marks and punctuation split them.

    The one tokeniser of finding an answer in a passage (:func:`simulacra.text.corpus.passages.holds`) and
    of decontamination (:mod:`simulacra.text.corpus.decontam`): an answer counts as held, or a question as
    contaminated, by the same words. Unlike :func:`tokens` (kept to ``rouge-score``'s ASCII rule so that
    scores compare with it), a word in another script is a word, not nothing.

    Examples
    --------
    >>> words("The `max_words` of 42.195 km, сколько?")
    ['the', 'max', 'words', 'of', '42', '195', 'km', 'сколько']
    """
    return _WORD.findall(text.lower())


def tokens(text: str) -> list[str]:
    """Lower-case alphanumeric tokens, as ``rouge-score`` tokenizes.

    Examples
    --------
    >>> tokens("Write a poem, about Cats!")
    ['write', 'a', 'poem', 'about', 'cats']
    """
    return _TOKEN.findall(text.lower())


def copied_share(text: str, source: str) -> tuple[float, float]:
    """How much of ``text`` is words of ``source``: ``(in_order, any_order)``, shares of ``text``'s tokens.

    ``in_order`` counts the longest run of them that ``source`` has in the same order (their longest common
    subsequence): a question that is its sentence with the answer swapped for ``what`` scores near 1, one whose
    clause is reordered lower. ``any_order`` counts those that occur anywhere in ``source``.

    Examples
    --------
    >>> copied_share("The model fits how many rows in seconds?", "The model fits 30,000 rows in seconds.")
    (0.75, 0.75)
    >>> [round(x, 2) for x in copied_share("How many rows does the model fit in seconds?",
    ...                                    "The model fits 30,000 rows in seconds.")]
    [0.44, 0.56]
    """
    q, s = tokens(text), tokens(source)
    if not q:
        return 0.0, 0.0
    have = set(s)
    return lcs_length(q, s) / len(q), sum(w in have for w in q) / len(q)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel).

    Examples
    --------
    >>> lcs_length("a b c d".split(), "a c x d".split())
    3
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(candidate: str | Sequence[str], reference: str | Sequence[str]) -> float:
    """ROUGE-L F-measure between two texts (or token lists).

    Examples
    --------
    >>> round(rouge_l("the cat sat on the mat", "the cat lay on the mat"), 3)
    0.833
    """
    a = tokens(candidate) if isinstance(candidate, str) else list(candidate)
    b = tokens(reference) if isinstance(reference, str) else list(reference)
    lcs = lcs_length(a, b)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


def max_rouge_l(candidate: str, pool: Iterable[Sequence[str]], stop_above: float | None = None) -> float:
    """The highest ROUGE-L of ``candidate`` against token lists in ``pool`` (stops early above ``stop_above``).

    Examples
    --------
    >>> round(max_rouge_l("write a poem about cats", [tokens("write a poem about dogs"), tokens("sum two numbers")]), 3)
    0.8
    """
    a = tokens(candidate)
    best = 0.0
    for ref in pool:
        score = rouge_l(a, ref)
        if score > best:
            best = score
            if stop_above is not None and best > stop_above:
                break
    return best


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Distinct-n: unique n-grams over all n-grams across ``texts`` (1.0 = no n-gram repeats).

    Examples
    --------
    >>> distinct_n(["a b a b", "a b"], 1)
    0.3333333333333333
    """
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        toks = tokens(text)
        grams = list(zip(*(toks[i:] for i in range(n))))
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def compression_ratio(texts: Sequence[str]) -> float:
    """Size of the joined texts over their zlib-compressed size (higher = more repetitive).

    Examples
    --------
    >>> compression_ratio(["same words again"] * 50) > compression_ratio([f"text number {i} of {i*7}" for i in range(50)])
    True
    """
    raw = "\n".join(texts).encode("utf-8")
    return len(raw) / max(1, len(zlib.compress(raw, 9))) if raw else 0.0


def self_rouge_l(texts: Sequence[str], sample: int = 200, seed: int = 0) -> float:
    """Mean pairwise ROUGE-L within a random sample of ``texts`` (lower = more diverse).

    Examples
    --------
    >>> self_rouge_l(["a b c", "a b c", "a b c"])
    1.0
    """
    if len(texts) < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(texts), size=min(sample, len(texts)), replace=False)
    toks = [tokens(texts[i]) for i in idx]
    scores = [rouge_l(toks[i], toks[j]) for i in range(len(toks)) for j in range(i + 1, len(toks))]
    return float(np.mean(scores)) if scores else 0.0


__all__ = ["compression_ratio", "copied_share", "distinct_n", "lcs_length", "max_rouge_l", "rouge_l", "self_rouge_l", "tokens",
           "words"]
