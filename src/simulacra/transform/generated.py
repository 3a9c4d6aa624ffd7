"""Columns whose values are made fresh rather than learned: identifiers and free text."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from simulacra.metadata.columns import IdColumn, TextColumn
from simulacra.transform.base import Encoder

_SHAPE = str.maketrans(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "d" * 10 + "A" * 26 + "a" * 26
)


def id_pattern(values: pd.Series) -> str | None:
    """The shape of string identifiers: a literal prefix they all share (up to the first digit), then
    'd' for a digit, 'A' for an upper- and 'a' for a lower-case letter; None when shapes differ.

    >>> id_pattern(pd.Series(["AB-0012", "AB-9931"]))
    '\\\\AB-dddd'
    """
    head = values.head(2000).tolist()
    if not head:
        return None
    shapes = {v.translate(_SHAPE) for v in head}
    if len(shapes) != 1:
        return None
    shape = shapes.pop()
    prefix = head[0]
    for v in head[1:]:
        while not v.startswith(prefix):
            prefix = prefix[:-1]
    cut = next((i for i, ch in enumerate(prefix) if ch.isdigit()), len(prefix))
    literal = "".join("\\" + ch if ch in "dAax\\" else ch for ch in prefix[:cut])
    return literal + shape[cut:]


def _tokens(pattern: str) -> list[tuple[bool, str]]:
    """(is_slot, text) pairs of a pattern; a backslash makes the next character literal."""
    out: list[tuple[bool, str]] = []
    escaped = False
    for ch in pattern:
        if escaped:
            out.append((False, ch))
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out.append((ch in _ALPHABETS or ch == "x", ch))
    return out


_ALPHABETS = {"d": "0123456789", "A": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "a": "abcdefghijklmnopqrstuvwxyz"}
_HEX = "0123456789abcdef"


class IdEncoder(Encoder):
    """New unique identifiers: never a real one reused.

    Row number ``i`` maps to an identifier through a fixed bijection, so identifiers are unique across
    any number of chunks, in the same shape as the real ones (integers, or strings like ``'AB-0042'``).
    """

    kind = "id"
    representation = "generated"

    def __init__(self, name: str, column: IdColumn | None = None) -> None:
        super().__init__(name)
        self.column = column or IdColumn()

    def analyze(self, series: pd.Series) -> IdEncoder:
        non_null = series.dropna()
        integer = bool(self.column.integer or pd.api.types.is_integer_dtype(series.dtype))
        pattern = self.column.pattern
        if not integer and pattern is None and len(non_null):
            pattern = id_pattern(non_null.astype(str))
        self.stats_ = {
            "missing_rate": float(series.isna().mean()) if len(series) else 0.0,
            "integer": integer,
            "pattern": pattern,
            "dtype": str(series.dtype),
        }
        return self

    def encode(self, series: pd.Series) -> np.ndarray:
        return np.full(len(series), np.nan)

    def decode(self, values: np.ndarray, rng: np.random.Generator | None = None) -> pd.Series:
        """``values`` are the global row numbers of the rows to make."""
        rows = np.asarray(values, dtype=np.int64)
        if self.stats_.get("integer"):
            out = pd.Series(rows + 1, name=self.name)
            dtype = self.stats_.get("dtype", "int64")
            return out.astype(dtype) if dtype.lower().startswith(("int", "uint")) else out
        tokens = _tokens(self.stats_.get("pattern") or "")
        alphabets = [_ALPHABETS.get(ch, _HEX) for slot, ch in tokens if slot]
        capacity = math.prod(len(a) for a in alphabets) if alphabets else 0
        if capacity < max(int(rows.max(initial=0)) + 1, 10**6):
            tokens = [(False, ch) for ch in "id-"] + [(True, "x")] * 12
            alphabets = [_HEX] * 12
        return pd.Series(_format(tokens, alphabets, rows), name=self.name, dtype=object)


def _format(tokens: list[tuple[bool, str]], alphabets: list[str], rows: np.ndarray) -> np.ndarray:
    capacity = math.prod(len(a) for a in alphabets)
    # an affine bijection on [0, capacity) scatters consecutive rows over the whole space
    mult = 6364136223846793005 % capacity
    while math.gcd(mult, capacity) != 1:
        mult += 1
    codes = (rows.astype(object) * mult + 1442695040888963407) % capacity
    digits = []
    for alphabet in reversed(alphabets):
        base = len(alphabet)
        pool = np.array(list(alphabet), dtype=object)
        digits.append(pool[(codes % base).astype(np.int64)])
        codes = codes // base
    digits.reverse()
    out = np.full(len(rows), "", dtype=object)
    slot = 0
    for is_slot, ch in tokens:
        if is_slot:
            out = out + digits[slot]
            slot += 1
        else:
            out = out + ch
    return out


class TextEncoder(Encoder):
    """Free text as word salad from the column's own frequent words and length distribution.

    A stand-in that keeps lengths and vocabulary statistics without copying a sentence; for real text
    use :mod:`simulacra.text`. Words seen fewer than ``min_count`` times are never used.
    """

    kind = "text"
    representation = "generated"

    def __init__(self, name: str, column: TextColumn | None = None, *, min_count: int = 5) -> None:
        super().__init__(name)
        self.column = column or TextColumn()
        self.min_count = min_count

    def analyze(self, series: pd.Series) -> TextEncoder:
        non_null = series.dropna().astype(str)
        words = non_null.str.split()
        lengths = words.str.len().to_numpy(dtype=np.int64) if len(words) else np.zeros(0, np.int64)
        counts = pd.Series([w for ws in words for w in ws], dtype=object).value_counts()
        counts = counts[counts >= max(self.min_count, 1)].head(20000)
        length_counts = np.bincount(np.clip(lengths, 0, 200)) if lengths.size else np.array([1])
        self.stats_ = {
            "missing_rate": float(series.isna().mean()) if len(series) else 0.0,
            "vocabulary": [str(w) for w in counts.index],
            "word_probabilities": (counts.to_numpy(float) / max(counts.sum(), 1)).tolist(),
            "length_probabilities": (length_counts / length_counts.sum()).tolist(),
        }
        return self

    def encode(self, series: pd.Series) -> np.ndarray:
        return np.full(len(series), np.nan)

    def decode(self, values: np.ndarray, rng: np.random.Generator | None = None) -> pd.Series:
        rng = rng or np.random.default_rng()
        n = len(values)
        vocab = np.array(self.stats_["vocabulary"] or ["lorem"], dtype=object)
        wp = np.asarray(self.stats_["word_probabilities"] or [1.0])
        lp = np.asarray(self.stats_["length_probabilities"])
        lengths = rng.choice(len(lp), size=n, p=lp / lp.sum())
        lengths = np.maximum(lengths, 1)
        out = np.full(n, "", dtype=object)
        for j in range(int(lengths.max(initial=0))):
            active = lengths > j
            words = vocab[rng.choice(len(vocab), size=int(active.sum()), p=wp / wp.sum())]
            sep = "" if j == 0 else " "
            out[active] = out[active] + sep + words
        return pd.Series(out, name=self.name, dtype=object)


_WORD = re.compile(r"\S+")
