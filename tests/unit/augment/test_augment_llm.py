"""LLM augmentation: quotas, balancing, rejection accounting and the label-consistency filter."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from simulacra.augment.text import LabelConsistencyFilter, as_batch_generate, class_quotas, llm_augment
from simulacra.errors import InputError

POS = ["a wonderful warm funny film", "great acting and a lovely story", "funny warm and wonderful",
       "a lovely great cast", "wonderful story great fun", "warm lovely funny moments"]
NEG = ["a dull boring mess", "awful plot and terrible acting", "boring dull and awful"]


@pytest.fixture()
def data() -> pd.DataFrame:
    return pd.DataFrame({"text": POS + NEG, "label": ["pos"] * 6 + ["neg"] * 3, "id": range(9)})


def test_quotas() -> None:
    counts = pd.Series({"a": 6, "b": 3})
    assert class_quotas(counts, per_example=2) == {"a": 12, "b": 6}
    assert class_quotas(counts, balance=True) == {"a": 0, "b": 3}


def test_balance_with_a_callable_and_other_columns_copied(data: pd.DataFrame) -> None:
    counter = itertools.count()
    out = llm_augment(data, "text", "label", lambda prompt: f"new sentence number {next(counter)}",
                      balance=True, filter_threshold=None, random_state=0)
    new = out[out.augmentation != "real"]
    assert out["label"].value_counts().to_dict() == {"pos": 6, "neg": 6}
    assert (new["label"] == "neg").all() and new["id"].isin([6, 7, 8]).all()
    assert out.attrs["report"]["kept"] == 3


def test_copies_and_empty_answers_are_retried_and_counted(data: pd.DataFrame) -> None:
    answers = iter(["", POS[0], "fresh one", "fresh one", "fresh two"] + [f"x{i}" for i in range(50)])
    out = llm_augment(data.iloc[:2], "text", "label", lambda p: next(answers), per_example=1, filter_threshold=None,
                      random_state=0)
    rep = out.attrs["report"]
    assert rep["empty"] == 1 and rep["copy_or_duplicate"] == 2
    assert rep["made"] == rep["kept"] == 2 and rep["unfilled"] == 0


def test_label_consistency_filter_rejects_confident_other_class(data: pd.DataFrame) -> None:
    bad = {"neg": "wonderful warm lovely great funny", "pos": "wonderful lovely great film story"}
    gen = lambda prompt: bad["neg"] if '"neg"' in prompt or "(neg)" in prompt else bad["pos"]
    out = llm_augment(data.iloc[[0, 6]], "text", "label", gen, per_example=1, filter_threshold=None, random_state=0)
    assert out.attrs["report"]["kept"] == 2
    flt = LabelConsistencyFilter(threshold=0.55).fit(data["text"], data["label"])
    keep = flt.keep(["wonderful warm lovely great funny", "dull boring awful mess"], ["neg", "neg"])
    assert keep.tolist() == [False, True]


def test_unfilled_slots_are_reported_not_hidden(data: pd.DataFrame) -> None:
    out = llm_augment(data, "text", "label", lambda p: "", per_example=1, filter_threshold=None, max_tries=2)
    assert out.attrs["report"] == {"requested": 9, "made": 0, "unfilled": 9, "empty": 18, "copy_or_duplicate": 0,
                                   "label_inconsistent": 0, "kept": 0}
    assert len(out) == 9


def test_simulacra_backend_goes_through_text_tasks(data: pd.DataFrame) -> None:
    from simulacra.testing.llm import FakeBackend

    fb = FakeBackend()
    out = llm_augment(data, "text", "label", fb, mode="new", balance=True, filter_threshold=None, random_state=0)
    assert fb.calls > 0
    rep = out.attrs["report"]
    assert rep["made"] + rep["unfilled"] == 3 and (out.iloc[9:]["label"] == "neg").all()
    batch = as_batch_generate(fb)(["hello", "world"], [1, 2])
    assert len(batch) == 2 and all(isinstance(t, str) for t in batch)


def test_bad_input(data: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="not in the table"):
        llm_augment(data, "nope", "label", lambda p: "x")
    with pytest.raises(InputError, match="mode"):
        llm_augment(data, "text", "label", lambda p: "x", mode="poem")
    with pytest.raises(InputError, match="cannot generate"):
        as_batch_generate(42)
    with pytest.raises(InputError, match="two classes"):
        LabelConsistencyFilter().fit(["a", "b"], ["x", "x"])
    assert np.asarray(LabelConsistencyFilter().fit(data.text, data.label).keep([], [])).size == 0
