"""Tasks with the fake backend: accounting, filters with published defaults, conditioning, quotas, pairs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from simulacra.errors import InputError
from simulacra.testing.llm import FakeBackend
from simulacra.text.engine import Engine
from simulacra.text.tasks.evolve import elimination_reason, evolve
from simulacra.text.tasks.instruct import self_instruct
from simulacra.text.tasks.judge import judge
from simulacra.text.tasks.label import generate_labelled, paraphrase
from simulacra.text.tasks.qa import chunk_text, generate_qa
from simulacra.text.tasks.rows import generate_rows

PERSON = {
    "type": "object",
    "properties": {
        "country": {"type": "string", "enum": ["France", "Japan", "Peru"], "x-weights": [0.6, 0.3, 0.1]},
        "age": {"type": "integer", "minimum": 18, "maximum": 80},
        "job": {"type": "string", "maxLength": 40},
        "bio": {"type": "string", "maxLength": 120},
    },
}
SEEDS = ["Write a haiku about autumn rain", "Sort the numbers from smallest to largest", "Explain why the sky is blue",
         "Give three tips for a job interview", "Translate the sentence into Spanish", "Summarize the article in one line",
         "Classify the tweet as positive or negative", "Suggest a name for a coffee shop"]


def _balanced(res) -> bool:
    return all(s.balanced for s in res.stages) and res.manifest()["accounting_balanced"]


def test_rows_valid_sampled_fields_and_several_rows_per_call() -> None:
    fb = FakeBackend()
    res = generate_rows(PERSON, 40, rows_per_call=4, seed=2, engine=Engine(fb))
    frame = res.to_frame()
    assert len(frame) == 40 and "_status" not in frame and _balanced(res)
    assert frame["age"].between(18, 80).all() and set(frame["country"]) <= {"France", "Japan", "Peru"}
    assert (frame["country"] == "France").mean() > 0.4  # weights honoured by numpy sampling
    assert fb.calls == 10  # 4 rows per call
    prompt = fb.requests[0].messages[0]["content"]
    assert "Row 1: country=" in prompt and "age=" in prompt  # the model is told the sampled facts
    assert set(fb.requests[0].schema["properties"]["rows"]["items"]["properties"]) == {"job", "bio"}


def test_rows_conditions_table_fixes_values() -> None:
    cond = pd.DataFrame({"country": ["Peru"] * 6, "age": [30, 31, 32, 33, 34, 35]})
    res = generate_rows(PERSON, conditions=cond, backend="fake")
    frame = res.to_frame()
    assert frame["age"].tolist() == [30, 31, 32, 33, 34, 35] and set(frame["country"]) == {"Peru"}
    with pytest.raises(InputError, match="not properties"):
        generate_rows(PERSON, conditions=pd.DataFrame({"zzz": [1]}), backend="fake")


def test_rows_invalid_kept_with_error_not_dropped() -> None:
    res = generate_rows(PERSON, 8, rows_per_call=2, retries=1, engine=Engine(FakeBackend(invalid_rate=1.0)))
    assert len(res.records) == 8 and all(r["_status"] == "invalid" and r["_error"] for r in res.records)
    assert res.stages[0].invalid == 8 and _balanced(res)
    assert all(18 <= r["age"] <= 80 for r in res.records)  # the sampled part survives


def test_rows_full_row_validation_catches_model_fields() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "string", "pattern": "^[0-9]+$"}}}
    res = generate_rows(schema, 2, rows_per_call=1, backend="fake", retries=0)
    assert all(r["_status"] == "invalid" and "does not match" in r["_error"] for r in res.records)


def _qa_responder(req):
    import random

    words = random.Random(req.seed).sample("river stone garden light market window quiet travel music paper winter "
                                           "silver forest engine letter harbor ocean story".split(), 5)
    return json.dumps({"question": f"Why does the {' '.join(words)} change?", "answer": f"Because of {words[0]}."})


def test_qa_topics_and_question_types_vary() -> None:
    fb = FakeBackend(responder=_qa_responder)
    res = generate_qa(["volcanoes", "tides", "bread"], 12, engine=Engine(fb), seed=1)
    assert len(res.records) == 12 and _balanced(res)
    assert {r["topic"] for r in res.records} == {"volcanoes", "tides", "bread"}
    prompts = {r.messages[0]["content"].split("'")[1] for r in fb.requests}
    assert len(prompts) > 3  # question types sampled in Python


def test_qa_documents_answers_are_spans_of_the_passage() -> None:
    passage = ("The Loire is the longest river in France at 1,006 kilometres. It flows into the Atlantic Ocean near "
               "Saint-Nazaire. Its basin covers 117,000 square kilometres, a fifth of France.")
    fb = FakeBackend()
    res = generate_qa(documents=[passage], n=3, engine=Engine(fb), dedup=False, retries=0)
    assert res.records and _balanced(res) and fb.calls == 0  # the template phrases: no model call is needed
    for r in res.records:
        assert r["answer"] in r["passage"] and r["answer"] not in r["question"] and r["question"].endswith("?")
    assert chunk_text("w " * 450, 200) and len(chunk_text("w " * 450, 200)) == 3


def test_self_instruct_published_defaults_and_filters() -> None:
    fb = FakeBackend()
    res = self_instruct(SEEDS, 12, engine=Engine(fb), seed=0, calls_per_round=2, per_call=2)
    assert len(res.records) == 12 and _balanced(res)
    assert all(r["output"] for r in res.records)
    later = [r for r in fb.requests if "Example tasks" in r.messages[0]["content"]][-1].messages[0]["content"]
    shown = [ln for ln in later.splitlines() if ln[:2].rstrip(".").isdigit()]
    assert len(shown) == 8
    generated = {r["instruction"] for r in res.records}
    assert sum(any(g in ln for g in generated) for ln in shown) == 2  # 6 human + 2 generated


def test_self_instruct_rejects_similar_short_and_blacklisted() -> None:
    cands = ["Write a haiku about autumn rain today", "Draw a map of the city", "Do it", "Plan a three day trip to Kyoto",
             "?? what is this task about"]

    def responder(req):
        return json.dumps({"instructions": cands}) if "Example tasks" in req.messages[0]["content"] else None

    res = self_instruct(SEEDS, 3, engine=Engine(FakeBackend(responder=responder)), max_rounds=2, calls_per_round=2,
                        per_call=5)
    reasons = {f["_reason"] for f in res.filtered}
    assert {"ROUGE-L > 0.7 with the pool", "blacklisted keyword: map", "too short (< 3 words)",
            "starts with punctuation", "quota reached"} - {"quota reached"} <= reasons
    assert [r["instruction"] for r in res.records] == ["Plan a three day trip to Kyoto"]
    assert res.notes and "stopped after 2 rounds" in res.notes[0] and _balanced(res)


def test_evolve_rounds_and_elimination() -> None:
    res = evolve(["Explain gravity to a child", "List three fruits"], rounds=2, backend="fake", seed=3)
    assert _balanced(res) and all(r["_op"] and r["output"] for r in res.records)
    assert elimination_reason("a b", "Rewrite the #Given Prompt# as a b c", "ok") == "copies words of the evolving prompt"
    assert elimination_reason("List fruits", "List ten tropical fruits with origin", "the the of .") == \
        "response is only punctuation and stop words"

    def same(req):
        if "#Given Prompt#" in req.messages[0]["content"]:
            return json.dumps({"instruction": req.messages[0]["content"].split("#Given Prompt#:\n")[1].split("\n\n")[0]})
        return None

    res2 = evolve(["Explain gravity to a child"], rounds=2, engine=Engine(FakeBackend(responder=same)), retries=0)
    assert res2.records == [] and [f["_reason"] for f in res2.filtered] == ["no information gain"] * 2


def test_label_quotas_and_duplicate_replacement() -> None:
    res = generate_labelled(["pos", "neg", "neutral"], {"pos": 6, "neg": 3, "neutral": 0}, domain="reviews", backend="fake")
    counts = res.to_frame()["label"].value_counts().to_dict()
    assert counts == {"pos": 6, "neg": 3} and _balanced(res)

    res2 = generate_labelled(["a"], 5, engine=Engine(FakeBackend(responder=lambda r: json.dumps({"texts": ["same text here"] * 5}))),
                             per_call=5, max_calls_factor=1)
    assert len(res2.records) == 1 and any("exact duplicate" == f["_reason"] for f in res2.filtered)
    assert "quota not reached" in res2.notes[0] and _balanced(res2)


def test_paraphrase_api_for_augmentation() -> None:
    out, errors = paraphrase(["Great battery.", "Poor screen."], 3, backend="fake", return_errors=True)
    assert [len(o) for o in out] == [3, 3] and errors == [None, None]
    bad, errs = paraphrase(["x"], 2, engine=Engine(FakeBackend(invalid_rate=1.0)), retries=0, return_errors=True)
    assert bad == [[]] and errs[0].startswith("parse")


def test_judge_scores_and_pairs() -> None:
    records = [{"question": "2+2?", "answer": "4"}, {"question": "2+2?", "answer": "5"}, {"question": "Capital of Peru?", "answer": "Lima"}]
    res = judge(records, "correctness", backend="fake", min_accuracy=0)
    assert all(1 <= r["score"] <= 10 and r["reason"] for r in res.records)

    def scorer(req):
        text = req.messages[0]["content"]
        if "Compare two responses" in text:  # a judge that knows: "4", "Lima" and every calibration 'better' win
            from simulacra.text.tasks.calibration import calibration_items

            a = text.split("[Response A]\n")[1].split("\n\n[Response B]")[0]
            good = {it["better"] for it in calibration_items()} | {"4", "Lima"}
            return json.dumps({"better": "A" if a in good else "B"})
        return json.dumps({"response": "Cusco"})

    res2 = judge(records, pairs=True, engine=Engine(FakeBackend(model_id="fake", responder=scorer)))
    by_prompt = {r["prompt"]: r for r in res2.records}
    assert by_prompt["2+2?"]["chosen"] == "4" and by_prompt["2+2?"]["rejected"] == "5"
    assert by_prompt["Capital of Peru?"]["chosen"] == "Lima" and by_prompt["Capital of Peru?"]["rejected"] == "Cusco"
    assert all(r["preference_source"].startswith("judge (calibrated") for r in res2.records)
    assert res2.config["judge_calibration"]["accuracy"] == 1.0 and _balanced(res2)
    with pytest.raises(InputError, match="lack a prompt"):
        judge([{"foo": 1}], backend="fake")


def test_judge_out_of_range_score_resampled() -> None:
    state = {"target": False, "n": 0}

    def responder(req):
        if "[Response]\na" in req.messages[0]["content"]:
            state["n"] += 1
            return json.dumps({"reason": "x", "score": 11 if state["n"] == 1 else 7})
        return json.dumps({"reason": "x", "score": 5})

    res = judge([{"question": "q", "answer": "a"}], engine=Engine(FakeBackend(responder=responder)), min_accuracy=0)
    assert res.records[0]["score"] == 7 and state["n"] == 2


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 25), per_call=st.integers(1, 6), invalid=st.sampled_from([0.0, 0.3, 1.0]), seed=st.integers(0, 99))
def test_rows_never_lose_a_row(n: int, per_call: int, invalid: float, seed: int) -> None:
    res = generate_rows(PERSON, n, rows_per_call=per_call, seed=seed, retries=1,
                        engine=Engine(FakeBackend(invalid_rate=invalid)))
    assert len(res.records) == n and _balanced(res)
    bad = [r for r in res.records if r.get("_status") == "invalid"]
    assert res.stages[0].invalid == len(bad) and all(r["_error"] for r in bad)


def test_self_instruct_resumes_after_interruption_with_identical_result(tmp_path) -> None:
    class Crash(FakeBackend):
        def answer(self, request):
            if self.calls >= 9:
                raise KeyboardInterrupt
            return super().answer(request)

    clean_fb = FakeBackend()
    clean = self_instruct(SEEDS, 10, engine=Engine(clean_fb), calls_per_round=2, per_call=2, seed=4)
    cache = tmp_path / "c.sqlite"
    with pytest.raises(KeyboardInterrupt):
        self_instruct(SEEDS, 10, engine=Engine(Crash(), cache=cache), calls_per_round=2, per_call=2, seed=4)
    fb = FakeBackend()
    resumed = self_instruct(SEEDS, 10, engine=Engine(fb, cache=cache), calls_per_round=2, per_call=2, seed=4)
    assert resumed.records == clean.records
    assert fb.calls == clean_fb.calls - 9  # nothing generated before the crash is asked again


def test_qa_answer_that_repeats_the_question_is_filtered() -> None:
    def responder(req):
        q = f"What is item {req.seed} made of today?"
        return json.dumps({"question": q, "answer": q if req.seed % 2 else "Mostly of recycled steel and glass."})

    res = generate_qa(["items"], 6, engine=Engine(FakeBackend(responder=responder)), retries=0, dedup=False)
    assert all(r["answer"].startswith("Mostly") for r in res.records)
    assert {f["_reason"] for f in res.filtered} == {"answer repeats the question"} and _balanced(res)
