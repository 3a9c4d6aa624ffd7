"""Easy Data Augmentation (Wei & Zou, 2019): synonym replacement, random insertion, random swap and
random deletion, with the paper's defaults and per-operation control. Stop words are never replaced."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from simulacra.errors import InputError
from simulacra.text.perturb.synonyms import SynonymSource, resolve_synonyms

#: The paper's table of augmented sentences per original sentence, by training-set size.
PAPER_NUM_AUG = ((500, 16), (2000, 8), (5000, 4))


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English stop words (never replaced nor used as insertion seeds).

    Examples
    --------
    >>> "the" in stop_words() and "movie" not in stop_words()
    True
    """
    text = resources.files("simulacra.text.perturb").joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip())


def default_num_aug(n_examples: int) -> int:
    """The paper's recommended number of augmented sentences per original, for a training set size.

    Examples
    --------
    >>> [default_num_aug(n) for n in (300, 500, 1500, 5000, 20000)]
    [16, 16, 8, 4, 4]
    """
    for limit, n_aug in PAPER_NUM_AUG:
        if n_examples <= limit:
            return n_aug
    return 4


class EDA:
    """Easy Data Augmentation of short texts.

    Parameters
    ----------
    alpha_sr, alpha_ri, alpha_rs : float, default 0.1
        Share of the words changed by synonym replacement, random insertion and random swap
        (``max(1, int(alpha * n_words))`` changes); 0 turns the operation off.
    p_rd : float, default 0.1
        Probability that random deletion drops each word; 0 turns it off.
    n_aug : int, optional
        Augmented sentences per original; by default the paper's value for the data size
        (:func:`default_num_aug`), or 9 for a single sentence.
    synonyms : 'wordnet', 'none' or callable, default 'wordnet'
        Where synonyms come from (see :class:`~simulacra.text.perturb.synonyms.EmbeddingSynonyms`).
    stop_words : collection of str, optional
        Words never replaced; the built-in English list by default.
    random_state : int, optional
        Seed: the same seed gives the same sentences.

    Examples
    --------
    >>> eda = EDA(alpha_sr=0, alpha_ri=0, p_rd=0, n_aug=2, synonyms="none", random_state=0)
    >>> out = eda.augment("the film is a quiet triumph")
    >>> len(out), sorted(out[0].split()) == sorted("the film is a quiet triumph".split())
    (2, True)
    """

    operations = ("sr", "ri", "rs", "rd")

    def __init__(
        self,
        *,
        alpha_sr: float = 0.1,
        alpha_ri: float = 0.1,
        alpha_rs: float = 0.1,
        p_rd: float = 0.1,
        n_aug: int | None = None,
        synonyms: str | SynonymSource | Callable[[str], list[str]] | None = "wordnet",
        stop_words: Sequence[str] | frozenset[str] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.alpha_sr = alpha_sr
        self.alpha_ri = alpha_ri
        self.alpha_rs = alpha_rs
        self.p_rd = p_rd
        self.n_aug = n_aug
        self.synonyms = synonyms
        self.stop_words = stop_words
        self.random_state = random_state

    # -- set-up ------------------------------------------------------------------------------
    def _setup(self) -> None:
        rates = {"sr": self.alpha_sr, "ri": self.alpha_ri, "rs": self.alpha_rs, "rd": self.p_rd}
        bad = {k: v for k, v in rates.items() if not 0 <= float(v) <= 1}
        if bad:
            raise InputError(f"EDA rates must be between 0 and 1, got {bad}")
        if not any(rates.values()):
            raise InputError("Every EDA operation is turned off (all rates are 0); set at least one above 0.")
        if self.n_aug is not None and self.n_aug < 0:
            raise InputError(f"n_aug must be zero or more, got {self.n_aug}")
        self._rates = rates
        if getattr(self, "_syn_source", None) is not self.synonyms or not hasattr(self, "_syn"):
            self._syn = resolve_synonyms(self.synonyms)
            self._syn_source = self.synonyms
        self._stop = frozenset(self.stop_words) if self.stop_words is not None else stop_words()
        if not hasattr(self, "_rng"):
            self._rng = np.random.default_rng(self.random_state)

    # -- one sentence -------------------------------------------------------------------------
    def augment(self, sentence: str, n_aug: int | None = None, *, rng: np.random.Generator | None = None) -> list[str]:
        """``n_aug`` augmented versions of one sentence (the original is not included)."""
        self._setup()
        rng = rng if rng is not None else self._rng
        n = self.n_aug if n_aug is None else n_aug
        n = 9 if n is None else int(n)
        words = sentence.split()
        if n == 0 or not words:
            return []
        ops = [op for op in self.operations if self._rates[op] > 0]
        per_op = math.ceil(n / len(ops))
        out: list[str] = []
        for op in ops:
            fn = getattr(self, f"_{op}")
            out.extend(" ".join(fn(words, rng)) for _ in range(per_op))
        order = rng.permutation(len(out))[:n]
        return [out[i] for i in order]

    def _n_changes(self, alpha: float, n_words: int) -> int:
        return max(1, int(alpha * n_words))

    def _candidates(self, words: list[str]) -> list[str]:
        return sorted({w.lower() for w in words if w.lower() not in self._stop and w.isalpha()})

    def _sr(self, words: list[str], rng: np.random.Generator) -> list[str]:
        """Synonym replacement: up to n distinct non-stop words, each replaced (everywhere) by a synonym."""
        new = list(words)
        n = self._n_changes(self._rates["sr"], len(words))
        cands = self._candidates(words)
        done = 0
        for i in rng.permutation(len(cands)):
            syns = self._syn(cands[i])
            if not syns:
                continue
            pick = syns[int(rng.integers(len(syns)))]
            new = [pick if w.lower() == cands[i] else w for w in new]
            done += 1
            if done >= n:
                break
        return " ".join(new).split()

    def _ri(self, words: list[str], rng: np.random.Generator) -> list[str]:
        """Random insertion: n times, a synonym of a random non-stop word at a random position."""
        new = list(words)
        cands = self._candidates(words)
        for _ in range(self._n_changes(self._rates["ri"], len(words))):
            for _try in range(10):
                if not cands:
                    break
                syns = self._syn(cands[int(rng.integers(len(cands)))])
                if syns:
                    new.insert(int(rng.integers(len(new) + 1)), syns[int(rng.integers(len(syns)))])
                    break
        return " ".join(new).split()

    def _rs(self, words: list[str], rng: np.random.Generator) -> list[str]:
        """Random swap: n times, two random positions exchange their words."""
        new = list(words)
        if len(new) < 2:
            return new
        for _ in range(self._n_changes(self._rates["rs"], len(words))):
            i, j = rng.choice(len(new), size=2, replace=False)
            new[i], new[j] = new[j], new[i]
        return new

    def _rd(self, words: list[str], rng: np.random.Generator) -> list[str]:
        """Random deletion: each word dropped with probability p (one word always survives)."""
        if len(words) == 1:
            return list(words)
        keep = rng.random(len(words)) >= self._rates["rd"]
        if not keep.any():
            return [words[int(rng.integers(len(words)))]]
        return [w for w, k in zip(words, keep) if k]

    # -- a data set ----------------------------------------------------------------------------
    def augment_frame(
        self,
        data: pd.DataFrame,
        text: str,
        *,
        n_aug: int | None = None,
        include_original: bool = True,
        source_column: str | None = "augmentation",
    ) -> pd.DataFrame:
        """Augment every row of ``data``: each augmented row copies the other columns (the label too).

        ``n_aug`` defaults to the class's value or the paper's value for ``len(data)``. The result
        holds the originals first (if ``include_original``), then the augmented rows, with a
        ``source_column`` saying ``'real'`` or ``'eda'`` (None: no such column).

        Examples
        --------
        >>> df = pd.DataFrame({"t": ["a good film", "a bad film"], "y": [1, 0]})
        >>> out = EDA(synonyms="none", n_aug=3, random_state=0).augment_frame(df, "t")
        >>> len(out), list(out["augmentation"].value_counts().sort_index())
        (8, [6, 2])
        """
        if text not in data.columns:
            raise InputError(f"Text column '{text}' is not in the table; columns are: {', '.join(map(str, data.columns))}")
        self._setup()
        n = n_aug if n_aug is not None else self.n_aug if self.n_aug is not None else default_num_aug(len(data))
        texts = data[text].astype("string").fillna("").tolist()
        new_texts: list[str] = []
        origin: list[int] = []
        for i, sentence in enumerate(texts):
            aug = self.augment(sentence, n)
            new_texts.extend(aug)
            origin.extend([i] * len(aug))
        augmented = data.iloc[origin].reset_index(drop=True).copy()
        augmented[text] = new_texts
        parts = [data.reset_index(drop=True).copy(), augmented] if include_original else [augmented]
        if source_column:
            if include_original:
                parts[0][source_column] = "real"
            parts[-1][source_column] = "eda"
        return pd.concat(parts, ignore_index=True)

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("alpha_sr", "alpha_ri", "alpha_rs", "p_rd", "n_aug", "synonyms", "random_state")}


def eda(sentence: str, n_aug: int = 9, *, random_state: int | None = None, **params: Any) -> list[str]:
    """Augment one sentence with EDA (see :class:`EDA` for the parameters).

    Examples
    --------
    >>> out = eda("a gripping and beautifully acted story", n_aug=4, synonyms="none", random_state=1)
    >>> len(out)
    4
    """
    return EDA(n_aug=n_aug, random_state=random_state, **params).augment(sentence)
