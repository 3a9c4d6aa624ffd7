"""Duplicate removal: exact (after normalisation), near-duplicate (MinHash LSH, datasketch), and optional
embedding-based (cosine similarity over any embedding function; TF-IDF vectors by default).

Nothing is dropped silently: :func:`find_duplicates` returns, for each text, whether it is kept and, if
not, why and which earlier text it duplicates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulacra.errors import InputError, require

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass
class Duplicates:
    """Result of :func:`find_duplicates`: ``keep[i]``, ``reason[i]`` (None if kept), ``duplicate_of[i]`` (-1)."""

    keep: np.ndarray
    reason: list[str | None]
    duplicate_of: np.ndarray

    def counts(self) -> dict[str, int]:
        """How many texts each rule removed."""
        out: dict[str, int] = {}
        for r in self.reason:
            if r is not None:
                out[r] = out.get(r, 0) + 1
        return out


def normalize(text: str) -> str:
    """Lower-case, punctuation removed, whitespace collapsed: the key of exact deduplication.

    Examples
    --------
    >>> normalize("  Hello,   World! ")
    'hello world'
    """
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _shingles(text: str, k: int = 3, short_words: int = 20) -> set[str]:
    """Word ``k``-shingles; for texts under ``short_words`` words, character 4-grams (a short paraphrase
    changes one word in five and shares almost no word 3-gram with its original, but most character 4-grams).
    """
    words = normalize(text).split()
    if 0 < len(words) < short_words:
        padded = f" {' '.join(words)} "
        return {padded[i:i + 4] for i in range(max(1, len(padded) - 3))}
    if len(words) < k:
        return {" ".join(words)} if words else {""}
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def find_duplicates(
    texts: Sequence[str],
    *,
    exact: bool = True,
    near: float | None = 0.7,
    near_short: float = 0.5,
    num_perm: int = 128,
    embed: Embed | str | None = None,
    embed_threshold: float = 0.92,
    seed: int = 1,
) -> Duplicates:
    """Mark duplicates in ``texts``; the first occurrence is kept.

    Parameters
    ----------
    exact
        Remove texts equal after :func:`normalize`.
    near
        Jaccard threshold of MinHash LSH over word 3-shingles (None: off).
    near_short
        The threshold for texts under 20 words, compared on character 4-grams: measured on short
        paraphrases ("The battery lasts all day." / "The battery lasts the whole day.") their Jaccard is
        0.53-0.74, and 0.02-0.48 between different short texts.
    embed
        ``"tfidf"`` or a function ``texts -> (n, d) array``; texts with cosine similarity above
        ``embed_threshold`` to an earlier kept text are removed (None: off).

    Examples
    --------
    >>> d = find_duplicates(["A cat sat on the mat today", "a cat sat on the mat today!", "Dogs bark at night"])
    >>> d.keep.tolist(), d.reason
    ([True, False, True], [None, 'exact duplicate', None])
    """
    _check_options(texts, near, num_perm, embed, embed_threshold)
    n = len(texts)
    keep = np.ones(n, dtype=bool)
    reason: list[str | None] = [None] * n
    dup_of = np.full(n, -1, dtype=np.int64)
    if exact:
        first: dict[str, int] = {}
        for i, text in enumerate(texts):
            key = normalize(text)
            if key in first:
                keep[i], reason[i], dup_of[i] = False, "exact duplicate", first[key]
            else:
                first[key] = i
    if near is not None and n > 1:
        _near(texts, keep, reason, dup_of, near, near_short, num_perm, seed)
    if embed is not None and keep.sum() > 1:
        _embedded(texts, keep, reason, dup_of, embed, embed_threshold)
    return Duplicates(keep, reason, dup_of)


def _check_options(texts: Sequence[str], near: float | None, num_perm: int, embed: Embed | str | None,
                   embed_threshold: float) -> None:
    """Refuse options and inputs that cannot work, with a message that says what to give instead."""
    if isinstance(texts, str):
        raise InputError("find_duplicates needs a list of texts, not one string; wrap it in a list.")
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InputError(
            f"Text {bad} is a {type(texts[bad]).__name__}, not a string; convert or drop missing values first."
        )
    if near is not None and not (isinstance(near, (int, float)) and 0 < near <= 1):
        raise InputError(f"near must be a Jaccard threshold in (0, 1] or None, got {near!r}")
    if isinstance(num_perm, bool) or not isinstance(num_perm, (int, np.integer)) or num_perm < 2:
        raise InputError(f"num_perm must be an integer of 2 or more (128 is usual), got {num_perm!r}")
    if embed is not None and embed != "tfidf" and not callable(embed):
        raise InputError(f"embed must be 'tfidf', a function texts -> (n, d) array, or None; got {embed!r}")
    if not (isinstance(embed_threshold, (int, float)) and -1 <= embed_threshold <= 1):
        raise InputError(f"embed_threshold must be a cosine similarity in [-1, 1], got {embed_threshold!r}")


def _near(texts: Sequence[str], keep: np.ndarray, reason: list[str | None], dup_of: np.ndarray,
          threshold: float, threshold_short: float, num_perm: int, seed: int) -> None:
    datasketch: Any = require("datasketch", "llm", "near-duplicate detection")
    limits = {False: threshold, True: threshold_short}
    # LSH finds candidates (at a lower threshold, so few true pairs are missed); exact Jaccard confirms them
    indexes = {short: datasketch.MinHashLSH(threshold=0.8 * t, num_perm=num_perm) for short, t in limits.items()}
    sets: dict[int, set[str]] = {}
    for i in np.flatnonzero(keep):
        short = len(normalize(texts[int(i)]).split()) < 20
        sh = _shingles(texts[int(i)])
        mh = datasketch.MinHash(num_perm=num_perm, seed=seed)
        mh.update_batch([s.encode("utf-8") for s in sh])
        hits = sorted(int(h) for h in indexes[short].query(mh)
                      if len(sh & sets[int(h)]) / max(1, len(sh | sets[int(h)])) >= limits[short])
        if hits:
            keep[i], reason[i], dup_of[i] = False, "near duplicate", hits[0]
        else:
            sets[int(i)] = sh
            indexes[short].insert(str(i), mh)


def _embedded(texts: Sequence[str], keep: np.ndarray, reason: list[str | None], dup_of: np.ndarray,
              embed: Embed | str, threshold: float) -> None:
    idx = np.flatnonzero(keep)
    sub = [texts[int(i)] for i in idx]
    if embed == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vecs = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(sub).toarray()
    else:
        assert callable(embed)  # checked by _check_options
        try:
            vecs = np.asarray(embed(sub), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputError(f"The embed function must return numbers, an (n, d) array: {exc}") from None
        if vecs.ndim != 2 or len(vecs) != len(sub):
            raise InputError(
                f"The embed function returned an array of shape {vecs.shape} for {len(sub)} texts; "
                "it must return one row per text, shape (n, d)."
            )
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs = vecs / np.where(norms == 0, 1.0, norms)
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, 0.0)
    alive = np.ones(len(idx), dtype=bool)
    for a in range(len(idx)):
        if not alive[a]:
            continue
        later = np.flatnonzero((sims[a, a + 1:] > threshold) & alive[a + 1:]) + a + 1
        alive[later] = False
        for b in later:
            keep[idx[b]], reason[idx[b]], dup_of[idx[b]] = False, "semantic duplicate", idx[a]


__all__ = ["Duplicates", "find_duplicates", "normalize"]
