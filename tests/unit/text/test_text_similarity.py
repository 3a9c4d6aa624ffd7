"""ROUGE-L by bit-parallel LCS against a plain dynamic program; diversity measures."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulacra.text.similarity import compression_ratio, distinct_n, lcs_length, max_rouge_l, rouge_l, tokens


def _lcs_dp(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


words = st.lists(st.sampled_from(list("abcdefg")), max_size=90)


@settings(max_examples=200, deadline=None)
@given(words, words)
def test_bit_parallel_lcs_equals_dynamic_programming(a: list[str], b: list[str]) -> None:
    assert lcs_length(a, b) == _lcs_dp(a, b)


def test_rouge_l_values() -> None:
    assert rouge_l("a b c", "a b c") == 1.0
    assert rouge_l("a b c", "x y z") == 0.0
    # LCS 3 of 4 and 6 tokens: P=.75 R=.5 F=.6
    assert abs(rouge_l("a b c d", "a x b y c z") - 0.6) < 1e-12
    assert tokens("Hello, World!") == ["hello", "world"]


def test_self_instruct_threshold_case() -> None:
    pool = [tokens("Write a short poem about the sea")]
    assert max_rouge_l("Write a short poem about the ocean", pool) > 0.7
    assert max_rouge_l("Classify the sentiment of this tweet", pool) < 0.3


def test_diversity_measures_order() -> None:
    same = ["the cat sat"] * 20
    varied = [f"text {i} about topic {i * 13} and more {i * 7}" for i in range(20)]
    assert distinct_n(same, 2) < distinct_n(varied, 2)
    assert compression_ratio(same) > compression_ratio(varied)
