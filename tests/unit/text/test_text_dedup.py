"""Exact, MinHash and embedding deduplication."""

from __future__ import annotations

import numpy as np
import pytest

from simulacra.text.dedup import find_duplicates


def test_exact_near_and_kept_first() -> None:
    base = "The quick brown fox jumps over the lazy dog near the river bank today"
    texts = [base, base.upper() + "!", base.replace("today", "tonight"), "Completely different sentence about bread baking"]
    d = find_duplicates(texts, near=0.6)
    assert d.keep.tolist() == [True, False, False, True]
    assert d.reason[1] == "exact duplicate" and d.reason[2] == "near duplicate"
    assert d.duplicate_of.tolist() == [-1, 0, 0, -1]
    assert d.counts() == {"exact duplicate": 1, "near duplicate": 1}


def test_near_off_keeps_paraphrase() -> None:
    texts = ["a b c d e f g h", "a b c d e f g x"]
    assert find_duplicates(texts, near=None).keep.all()


def test_embedding_dedup_with_custom_function() -> None:
    vecs = {"x": [1.0, 0.0], "y": [0.99, 0.05], "z": [0.0, 1.0]}
    d = find_duplicates(["x", "y", "z"], exact=False, near=None, embed=lambda ts: np.array([vecs[t] for t in ts]))
    assert d.keep.tolist() == [True, False, True] and d.reason[1] == "semantic duplicate"


def test_tfidf_embedding_dedup() -> None:
    texts = ["refund my order please it arrived broken", "please refund my order, it arrived broken", "great camera"]
    d = find_duplicates(texts, exact=False, near=None, embed="tfidf", embed_threshold=0.5)
    assert d.keep.tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("texts", "options", "message"),
    [
        (["a", "b"], {"embed": "bert"}, "embed must be 'tfidf'"),
        (["a", "b"], {"near": 1.5}, "near must be a Jaccard threshold"),
        (["a", "b"], {"num_perm": 0}, "num_perm must be an integer"),
        (["a", "b"], {"embed": "tfidf", "embed_threshold": 3}, "embed_threshold must be"),
        (["a", None], {}, "Text 1 is a NoneType"),
        ("one text", {}, "not one string"),
        (["aa", "bb"], {"embed": lambda ts: np.zeros(len(ts))}, "one row per text"),
        (["aa", "bb"], {"embed": lambda ts: [["x"]] * len(ts)}, "must return numbers"),
    ],
)
def test_bad_options_are_clear_errors(texts, options, message) -> None:
    from simulacra.errors import InputError

    with pytest.raises(InputError, match=message):
        find_duplicates(texts, **options)
