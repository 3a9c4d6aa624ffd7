"""LLM augmentation: quotas, balancing, rejection accounting and the label-consistency filter, all through
the text engine (a FakeBackend answering the structured requests of the paraphrase task)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest

from simulacra.augment.text import LabelConsistencyFilter, as_text_engine, class_quotas, llm_augment
from simulacra.errors import InputError
from simulacra.testing.llm import FakeBackend
from simulacra.text.engine import Engine
from simulacra.text.types import ChatRequest

POS = ["a wonderful warm funny film", "great acting and a lovely story", "funny warm and wonderful",
       "a lovely great cast", "wonderful story great fun", "warm lovely funny moments"]
NEG = ["a dull boring mess", "awful plot and terrible acting", "boring dull and awful"]


@pytest.fixture()
def data() -> pd.DataFrame:
    return pd.DataFrame({"text": POS + NEG, "label": ["pos"] * 6 + ["neg"] * 3, "id": range(9)})


def answering(texts: Callable[[ChatRequest], list[str]]) -> FakeBackend:
    """A backend whose structured answers carry the texts ``texts(request)`` gives (as many as asked)."""

    def respond(req: ChatRequest) -> str:
        k = req.schema["properties"]["texts"]["minItems"] if req.schema else 1
        got = texts(req)
        return json.dumps({"texts": [got[i % len(got)] for i in range(k)]})

    return FakeBackend(responder=respond)


def _counter() -> Iterator[str]:
    return (f"new sentence number {i}" for i in itertools.count())


def test_quotas() -> None:
    counts = pd.Series({"a": 6, "b": 3})
    assert class_quotas(counts, per_example=2) == {"a": 12, "b": 6}
    assert class_quotas(counts, balance=True) == {"a": 0, "b": 3}


def test_balance_through_the_engine_and_other_columns_copied(data: pd.DataFrame) -> None:
    fresh = _counter()
    backend = answering(lambda req: [next(fresh)])
    out = llm_augment(data, "text", "label", backend, balance=True, filter_threshold=None, random_state=0)
    new = out[out.augmentation != "real"]
    assert out["label"].value_counts().to_dict() == {"pos": 6, "neg": 6}
    assert (new["label"] == "neg").all() and new["id"].isin([6, 7, 8]).all()
    assert new["text"].str.startswith("new sentence number").all()
    assert out.attrs["report"]["kept"] == 3 and backend.calls > 0
    assert all(r.schema is not None for r in backend.requests)  # structured requests of the text task


def test_copies_and_empty_answers_are_retried_and_counted(data: pd.DataFrame) -> None:
    answers = iter(["   ", POS[0], "fresh one", "fresh two"])  # blank once cleaned; a copy of a real text
    backend = answering(lambda req: [next(answers)])
    out = llm_augment(data.iloc[:2], "text", "label", backend, per_example=1, filter_threshold=None, random_state=0)
    rep = out.attrs["report"]
    assert rep["empty"] == 1 and rep["copy_or_duplicate"] == 1
    assert rep["made"] == rep["kept"] == 2 and rep["unfilled"] == 0
    assert set(out.iloc[2:]["text"]) == {"fresh one", "fresh two"}


def test_answers_are_cleaned_of_list_marks_and_quotes(data: pd.DataFrame) -> None:
    out = llm_augment(data.iloc[:1], "text", "label", answering(lambda req: ['  - "A bright, warm picture."']),
                      filter_threshold=None, random_state=0)
    assert out.iloc[1]["text"] == "A bright, warm picture."


def test_label_consistency_filter_rejects_confident_other_class(data: pd.DataFrame) -> None:
    def liar(req: ChatRequest) -> list[str]:  # paraphrases of the negative review that sound positive
        return ["wonderful warm lovely great funny"] if re.search("dull|awful|boring", req.messages[-1]["content"]) \
            else ["wonderful lovely great film story"]

    out = llm_augment(data.iloc[[0, 6]], "text", "label", answering(liar), per_example=1, filter_threshold=None,
                      random_state=0)
    assert out.attrs["report"]["kept"] == 2
    flt = LabelConsistencyFilter(threshold=0.55).fit(data["text"], data["label"])
    keep = flt.keep(["wonderful warm lovely great funny", "dull boring awful mess"], ["neg", "neg"])
    assert keep.tolist() == [False, True]
    filtered = llm_augment(data, "text", "label", answering(liar), per_example=1, filter_threshold=0.55,
                           random_state=0).attrs["report"]
    assert filtered["label_inconsistent"] >= 1 and filtered["kept"] == filtered["made"] - filtered["label_inconsistent"]


def test_unfilled_slots_are_reported_not_hidden(data: pd.DataFrame) -> None:
    out = llm_augment(data, "text", "label", answering(lambda req: [""]), per_example=1, filter_threshold=None,
                      max_tries=2)
    assert out.attrs["report"] == {"requested": 9, "made": 0, "unfilled": 9, "empty": 18, "copy_or_duplicate": 0,
                                   "label_inconsistent": 0, "kept": 0}
    assert len(out) == 9


def test_new_examples_per_class_with_the_fake_backend(data: pd.DataFrame) -> None:
    fb = FakeBackend()
    out = llm_augment(data, "text", "label", fb, mode="new", balance=True, filter_threshold=None, random_state=0)
    assert fb.calls > 0
    rep = out.attrs["report"]
    assert rep["requested"] == 3 and rep["made"] + rep["unfilled"] == 3 and (out.iloc[9:]["label"] == "neg").all()
    shown = [r.messages[-1]["content"] for r in fb.requests]
    assert any(t in p for p in shown for t in NEG)  # real examples of the class are in the prompt


def test_an_engine_is_used_as_given(data: pd.DataFrame) -> None:
    engine = Engine(answering(lambda req: ["made by the shared engine"]))
    assert as_text_engine(engine) is engine
    out = llm_augment(data.iloc[:1], "text", "label", engine, filter_threshold=None)
    assert out.iloc[1]["text"] == "made by the shared engine" and engine.calls == 1


def test_bad_input(data: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="not in the table"):
        llm_augment(data, "nope", "label", "fake")
    with pytest.raises(InputError, match="mode"):
        llm_augment(data, "text", "label", "fake", mode="poem")
    with pytest.raises(InputError, match="not an LLM backend"):
        llm_augment(data, "text", "label", lambda prompt: "text")
    with pytest.raises(InputError, match="two classes"):
        LabelConsistencyFilter().fit(["a", "b"], ["x", "x"])
    assert np.asarray(LabelConsistencyFilter().fit(data.text, data.label).keep([], [])).size == 0
