"""Where EDA finds synonyms: WordNet (offline, via nltk) or nearest neighbours in a word embedding."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from simulacra.errors import InputError, MissingDependencyError, require

_WORD = re.compile(r"^[a-z][a-z' -]*$")
_SETUP_HINT = (
    "WordNet is not installed where simulacra looks for it. Run `bash scripts/setup.d/augment.sh` "
    "(Debian's wordnet-base, offline), set SIMULACRA_NLTK_DATA to an nltk_data folder that holds "
    "corpora/wordnet, or run `python -m nltk.downloader wordnet`."
)


@runtime_checkable
class SynonymSource(Protocol):
    """Anything that gives the synonyms of a lower-case word (the word itself excluded)."""

    def __call__(self, word: str) -> list[str]: ...


def nltk_data_dirs() -> list[Path]:
    """Folders searched for nltk data, first match wins: ``$SIMULACRA_NLTK_DATA``, then the venv's ``nltk_data``.

    Examples
    --------
    >>> all(isinstance(p, Path) for p in nltk_data_dirs())
    True
    """
    dirs = [Path(p) for p in os.environ.get("SIMULACRA_NLTK_DATA", "").split(os.pathsep) if p]
    dirs.append(Path(sys.prefix) / "nltk_data")
    dirs.append(Path(__file__).resolve().parents[4] / ".venv" / "nltk_data")  # editable checkout
    return dirs


def _load_wordnet() -> Any:
    nltk: Any = require("nltk", "augment", "EDA synonym replacement")
    for d in reversed(nltk_data_dirs()):
        if d.is_dir() and str(d) not in nltk.data.path:
            nltk.data.path.insert(0, str(d))
    from nltk.corpus import wordnet

    try:
        wordnet.ensure_loaded()
    except LookupError as exc:
        raise MissingDependencyError("wordnet data", "augment", _SETUP_HINT) from exc
    return wordnet


@lru_cache(maxsize=1)
def wordnet_corpus() -> Any:
    """The nltk WordNet reader, loaded once (a few seconds)."""
    return _load_wordnet()


class WordNetSynonyms:
    """Synonyms from WordNet: every lemma of every synset of the word, multi-word lemmas with spaces.

    Examples
    --------
    >>> syn = WordNetSynonyms()
    >>> "glad" in syn("happy")  # doctest: +SKIP
    True
    """

    def __init__(self, *, max_synonyms: int | None = None) -> None:
        self.max_synonyms = max_synonyms

    def __call__(self, word: str) -> list[str]:
        hit = _wordnet_synonyms(word.lower())
        return list(hit[: self.max_synonyms] if self.max_synonyms else hit)


@lru_cache(maxsize=200_000)
def _wordnet_synonyms(word: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for synset in wordnet_corpus().synsets(word):
        for lemma in synset.lemmas():
            name = lemma.name().replace("_", " ").replace("-", " ").lower()
            if name != word and _WORD.match(name):
                seen.setdefault(name, None)
    return tuple(seen)


class EmbeddingSynonyms:
    """Synonyms as the nearest neighbours of a word in a word embedding (cosine similarity).

    Parameters
    ----------
    vectors : mapping of word to vector
        Any word embedding (e.g. loaded from a GloVe text file with :meth:`from_text_file`, or fitted
        on unlabelled in-domain text with :meth:`from_texts`).
    k : int, default 8
        How many neighbours are candidates.
    min_similarity : float, default 0.5
        Neighbours less similar than this are not used.

    Examples
    --------
    >>> vecs = {"good": [1.0, 0.1], "great": [0.9, 0.15], "table": [0.0, 1.0]}
    >>> EmbeddingSynonyms(vecs, k=1)("good")
    ['great']
    """

    def __init__(self, vectors: Mapping[str, Iterable[float]], *, k: int = 8, min_similarity: float = 0.5) -> None:
        if not vectors:
            raise InputError("EmbeddingSynonyms needs a non-empty mapping of words to vectors.")
        self.words = [w.lower() for w in vectors]
        mat = np.asarray([np.asarray(v, dtype=float) for v in vectors.values()])
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        self.matrix = mat / np.where(norms > 0, norms, 1.0)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.k = k
        self.min_similarity = min_similarity
        self._cache: dict[str, list[str]] = {}

    def __call__(self, word: str) -> list[str]:
        word = word.lower()
        if word in self._cache:
            return self._cache[word]
        i = self.index.get(word)
        out: list[str] = []
        if i is not None:
            sims = self.matrix @ self.matrix[i]
            sims[i] = -np.inf
            top = np.argsort(-sims)[: self.k]
            out = [self.words[j] for j in top if sims[j] >= self.min_similarity and _WORD.match(self.words[j])]
        self._cache[word] = out
        return out

    @classmethod
    def from_text_file(cls, path: str | Path, *, limit: int = 100_000, **kwargs: Any) -> EmbeddingSynonyms:
        """Read a GloVe/word2vec text file (``word v1 v2 ...`` per line), the first ``limit`` words."""
        vectors: dict[str, list[float]] = {}
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.rstrip().split(" ")
                if len(parts) < 3 or (not vectors and len(parts) == 2):
                    continue
                vectors[parts[0]] = [float(x) for x in parts[1:]]
                if len(vectors) >= limit:
                    break
        return cls(vectors, **kwargs)

    @classmethod
    def from_texts(
        cls, texts: Iterable[str], *, dim: int = 100, min_count: int = 5, window: int = 4, **kwargs: Any
    ) -> EmbeddingSynonyms:
        """Fit word vectors on (unlabelled) texts: positive PMI of co-occurrence in a window, then SVD."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.linalg import svds

        docs = [t.lower().split() for t in texts]
        counts: dict[str, int] = {}
        for d in docs:
            for w in d:
                counts[w] = counts.get(w, 0) + 1
        vocab = {w: i for i, w in enumerate(sorted(w for w, c in counts.items() if c >= min_count))}
        if len(vocab) <= dim:
            raise InputError(f"Only {len(vocab)} words occur {min_count}+ times; give more text or a smaller dim.")
        rows, cols = [], []
        for d in docs:
            ids = np.array([vocab[w] for w in d if w in vocab], dtype=np.int64)
            for off in range(1, window + 1):
                rows += [ids[:-off], ids[off:]]
                cols += [ids[off:], ids[:-off]]
        r, c = np.concatenate(rows), np.concatenate(cols)
        n = len(vocab)
        cooc = coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)).tocsr()
        cooc.sum_duplicates()
        total = cooc.sum()
        row_sum = np.asarray(cooc.sum(axis=1)).ravel()
        col_sum = (row_sum / total) ** 0.75
        col_sum /= col_sum.sum()
        coo = cooc.tocoo()
        pmi = np.log(coo.data * 1.0 / (row_sum[coo.row] / total * col_sum[coo.col] * total))
        keep = pmi > 0
        ppmi = coo_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=(n, n)).tocsr()
        u, s, _ = svds(ppmi, k=dim, random_state=0)
        vecs = u * np.sqrt(s)
        words = sorted(vocab, key=vocab.__getitem__)
        return cls(dict(zip(words, vecs)), **kwargs)


def resolve_synonyms(source: str | SynonymSource | Callable[[str], list[str]] | None) -> Callable[[str], list[str]]:
    """A synonym function from ``'wordnet'`` (default), ``'none'`` or any callable ``word -> list``."""
    if source is None or source == "wordnet":
        return WordNetSynonyms()
    if source == "none":
        return lambda word: []
    if callable(source):
        return source
    raise InputError(f"Unknown synonym source {source!r}; use 'wordnet', 'none' or a callable word -> synonyms.")
