"""What people see at a glance: filters, grounded QA by construction, the judge's calibration, the quality report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulacra.testing.llm import FakeBackend
from simulacra.text.dedup import find_duplicates
from simulacra.text.engine import Engine
from simulacra.text.filters import copies_source, gives_away, mostly_noise, not_a_question, repetitive, template_leak
from simulacra.text.formats import write_result
from simulacra.text.tasks.calibration import JudgeRefusedError, cache_file, cached_calibration, calibrate, calibration_items, wilson
from simulacra.text.tasks.judge import judge
from simulacra.text.tasks.label import paraphrase
from simulacra.text.tasks.qa import generate_qa
from simulacra.text.tasks.spans import Span, clean_markdown, find_spans, template_question

DOC = """# Storage

The archive keeps 30 days of logs on the `cold-tier` volume. It was moved to Frankfurt in 2021 after
the old site flooded.

| a | b |
|---|---|

```
code = "not prose"
```

Each shard holds 512 rows, and the `compact_after` option merges shards older than a week.
"""


@pytest.mark.parametrize("text,check,reason", [
    ("Passage: the sky. What colour is it?", template_leak, "prompt template leaked"),
    ("### Answer\nblue", template_leak, "prompt template leaked"),
    ("<|im_start|>assistant hello", template_leak, "prompt template leaked"),
    ("hash tables", not_a_question, "not a question"),
    ("...", mostly_noise, "mostly punctuation"),
    ("#love #phone #deal", mostly_noise, "hashtags"),
    ("good good good good good good good good", repetitive, "repetition"),
])
def test_each_filter_catches_what_people_saw(text: str, check, reason: str) -> None:
    assert check(text) == reason


@pytest.mark.parametrize("text,check", [
    ("What colour is the sky on a clear day?", template_leak), ("What does the seed option fix?", not_a_question),
    ("A fine phone that lasts all day.", mostly_noise), ("The battery lasts a full day of heavy use.", repetitive),
    ("Summarize the following text: the meeting moved to Monday.", template_leak),
])
def test_filters_keep_good_text(text: str, check) -> None:
    assert check(text) is None


def test_answer_copying_the_passage_and_give_away_are_caught() -> None:
    passage = "The archive keeps thirty days of logs on the cold volume, and older logs are deleted every night at two."
    assert copies_source(passage, passage) == "copies the source"
    assert gives_away("Does the archive keep 30 days of logs?", "30 days") == "question gives away the answer"


def test_spans_come_from_prose_and_occur_verbatim() -> None:
    clean = clean_markdown(DOC)
    assert "not prose" not in clean and "|" not in clean and "`" not in clean
    spans = find_spans(clean, DOC)
    texts = {s.text for s in spans}
    assert {"30 days", "Frankfurt", "2021", "512 rows", "compact_after"} <= texts
    assert all(s.text in clean and s.text in s.sentence for s in spans)


def test_template_questions_ask_for_the_span_and_never_contain_it() -> None:
    span = Span("2021", "year", "It was moved to Frankfurt in 2021 after the old site flooded.")
    assert template_question(span) == "In what year was it moved to Frankfurt after the old site flooded?"
    assert template_question(Span("512 rows", "number", "Each shard holds 512 rows on disk.")) == "How many rows does each shard hold on disk?"
    assert template_question(Span("A", "name", "We use A, B and C here every day.")) is None  # a list item asks nothing


def test_template_questions_do_not_copy_their_sentence() -> None:
    """The question phrase goes first and the subject and verb are inverted, a leading phrase goes last, an
    aside in parentheses and a following clause are left out; where the clause's shape is not clear (a plural
    subject, a span that qualifies the next noun, a list item) the question stays in the sentence's order."""
    from simulacra.text.similarity import copied_share

    cases = {
        Span("io.writers", "code", "Every file is written by io.writers (see io.md), then checked."): "By what is every file written?",
        Span("on_invalid", "code", "After a failed repair, the matrix is refused with on_invalid."):
            "With what is the matrix refused after a failed repair?",
        Span("LightGBM", "name", "The model fits LightGBM trees to every column; the rest is numpy."): None,  # qualifies trees
        Span("3 seconds", "number", "The loader waits 3 seconds and then retries the request."): None,  # 'and' next
        # found by running the templates over other projects' Markdown: once 'What do fits multiple ...?' and
        # 'As what is the same true for well-known engines such?'
        Span("GaussianMixtures", "code", "GMLogLikelihood: Fits multiple GaussianMixtures to the real data in turns."): None,
        Span("SQLite", "name", "The same is true for well-known engines such as SQLite in the tests."): None,
        Span("JSON", "name", "The docs describe JSON as the default format of the files."):
            "What do the docs describe as the default format of the files?",  # a plural subject: 'do
    }
    for span, fronted in cases.items():
        q = template_question(span)
        assert q is not None and span.text not in q
        if fronted is not None:
            assert q == fronted
            assert copied_share(q, span.sentence)[0] <= 0.85  # the sentence in its own order: 0.9 and more
        else:
            assert q.split()[0] not in ("What", "Which", "By", "With")  # left in the sentence's order


def test_a_list_item_followed_by_an_aside_asks_no_question() -> None:
    """Regression: the list check looked at the text right after the span, where an aside in parentheses hid
    the list's comma, so the docs corpus asked 'What, metadata.json, state.json and arrays.npz?'."""
    sentence = ("A model file is a zip archive of four members: manifest.json (format version, library version and "
                "checksums), metadata.json, state.json and arrays.npz.")
    assert template_question(Span("manifest.json", "code", sentence)) is None
    assert template_question(Span("LightGBM", "name", "LightGBM (a library) fits the boosted trees of each column.")) == \
        "What fits the boosted trees of each column?"


def test_grounded_qa_every_answer_in_its_passage_and_accounted() -> None:
    res = generate_qa(documents=[DOC], n=4, backend="fake")
    assert res.records and all(r["answer"] in r["passage"] for r in res.records)
    assert all(not_a_question(r["question"]) is None and r["verifier"] == "answer occurs in passage" for r in res.records)
    assert all(s.balanced for s in res.stages) and res.config["phrasing"] == "template"
    assert res.config["attempted"] == res.stages[0].inputs
    assert len(res.records) + len(res.filtered) == res.stages[0].inputs  # every attempted span accounted for


def test_grounded_qa_model_phrasing_is_checked() -> None:
    def responder(req):
        last = req.messages[-1]["content"]
        if "Answer: 2021" in last:
            return "In what year was the archive moved to Frankfurt?"
        if "Answer: Frankfurt" in last:
            return "Passage: where did it go?"  # leaks the template: dropped
        return "What is the weather like on Mars today?"  # not about the sentence: dropped

    res = generate_qa(documents=[DOC], n=5, phrasing="model", engine=Engine(FakeBackend(responder=responder)))
    assert [r["answer"] for r in res.records] == ["2021"]
    reasons = {f["_reason"] for f in res.filtered}
    assert "question: prompt template leaked" in reasons and "question: not answerable from the passage" in reasons
    assert res.notes and "of 5 grounded pairs" in res.notes[0]


def test_short_paraphrases_are_near_duplicates_but_different_texts_are_not() -> None:
    texts = ["The battery lasts all day.", "The battery lasts the whole day.", "The screen broke after a week.",
             "The screen broke after one week.", "I love this phone", "I love this case"]
    assert find_duplicates(texts).reason == [None, "near duplicate", None, "near duplicate", None, None]


def test_paraphrases_that_are_noise_or_copies_are_dropped_with_a_reason() -> None:
    def responder(req):
        return json.dumps({"texts": ["...", "#great #phone #love", "The battery lasts all day.", "Power holds until night."]})

    out, errors = paraphrase(["The battery lasts all day."], 4, engine=Engine(FakeBackend(responder=responder)), return_errors=True)
    assert out == [["Power holds until night."]]
    assert errors[0] is not None and "mostly punctuation" in errors[0] and "hashtags" in errors[0] and "copies the original" in errors[0]


def test_wilson_interval() -> None:
    lo, hi = wilson(80, 92)
    assert 0.78 < lo < 0.87 < hi < 0.93
    assert len(calibration_items()) >= 40


def test_position_biased_judge_scores_exactly_half_and_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIMULACRA_CACHE_DIR", str(tmp_path))
    always_a = Engine(FakeBackend(model_id="always-a", responder=lambda req: json.dumps({"better": "A"})))
    cal = calibrate(always_a, "pairwise")
    assert cal.accuracy == 0.5 and cal.position_bias == 1.0 and not cal.passed
    assert cached_calibration("always-a", "pairwise")["accuracy"] == 0.5 and cache_file().parent == tmp_path
    with pytest.raises(JudgeRefusedError, match="--llm http"):
        judge([{"question": "q", "answer": "a"}, {"question": "q", "answer": "b"}], pairs=True, engine=always_a)


def test_score_judge_that_gives_ten_to_everything_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIMULACRA_CACHE_DIR", str(tmp_path))
    tens = Engine(FakeBackend(model_id="tens", responder=lambda req: json.dumps({"reason": "great", "score": 10})))
    with pytest.raises(JudgeRefusedError, match="0% right"):
        judge([{"question": "Is water wet?", "answer": "Bananas are yellow."}], engine=tens)


def test_verifier_decides_pairs_and_says_which() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    recs = [{"prompt": "Give n as JSON", "response": '{"n": 3}'}, {"prompt": "Give n as JSON", "response": "three"}]
    res = judge(recs, pairs=True, schema=schema, backend="fake")  # no LLM judgement is needed, so none is refused
    assert res.records == [{"prompt": "Give n as JSON", "chosen": '{"n": 3}', "rejected": "three",
                            "preference_source": "verifier: JSON schema"}]


def test_every_run_writes_a_quality_report(tmp_path: Path) -> None:
    res = generate_qa(documents=[DOC], n=3, backend="fake")
    write_result(res, tmp_path / "qa.jsonl", engine_stats={"model": "fake"})
    rep = json.loads((tmp_path / "qa.quality.json").read_text())
    assert rep["asked"] == 3 and rep["kept"] == len(res.records) and rep["grounding"]["answer_in_passage_rate"] == 1.0
    assert "question" in rep["fields"] and rep["fields"]["question"]["histogram"] and rep["examples"]["kept"]
    html = (tmp_path / "qa.quality.html").read_text()
    assert "<h1>Text quality: qa</h1>" in html and "Grounding" in html


def test_self_instruct_completion_form_continues_a_numbered_list() -> None:
    from simulacra.text.tasks.instruct import self_instruct

    seeds = ["Write a haiku about rain.", "Sort three numbers.", "Explain tides simply.", "Name two rivers in Asia.",
             "Summarize a news story.", "Plan a picnic menu.", "Give an antonym of 'happy'.", "List three fruits."]
    made = iter(["Describe a sunset in two sentences.", "Passage: the river is long. What is it?", "Love it #great #day #fun", "Translate 'cat' into French.",
                 "Suggest a title for a short story about a lighthouse.", "Write a limerick about a cat."] * 5)

    def responder(req):
        assert req.raw_prompt is not None and req.raw_prompt.rstrip().endswith("9.") and req.stop == ("\n",)
        return next(made)

    res = self_instruct(seeds, 3, outputs=False, prompt_form="completion", calls_per_round=3, task_verbs=False,
                        engine=Engine(FakeBackend(responder=responder)))
    assert res.config["prompt_form"] == "completion"
    assert [r["instruction"] for r in res.records] == ["Describe a sunset in two sentences.", "Translate 'cat' into French.",
                                                      "Suggest a title for a short story about a lighthouse."]
    reasons = {f["_reason"] for f in res.filtered}
    assert "prompt template leaked" in reasons and "hashtags" in reasons
    made = iter(["Build a Lego tower in the garden.", "Write a limerick about a cat."] * 5)
    res = self_instruct(seeds, 1, outputs=False, prompt_form="completion", calls_per_round=2,
                        engine=Engine(FakeBackend(responder=responder)))
    assert [r["instruction"] for r in res.records] == ["Write a limerick about a cat."]
    assert 'not a text task (starts with "build")' in {f["_reason"] for f in res.filtered}


def test_llama_backend_runs_raw_prompts_as_plain_completions() -> None:
    from simulacra.text.backends.llamacpp import generate, request_payload
    from simulacra.text.types import ChatRequest

    class Model:
        def create_completion(self, prompt, **kw):
            return {"choices": [{"text": f" continued<{prompt}>", "finish_reason": "stop"}], "usage": {}}

        def create_chat_completion(self, messages, **kw):
            return {"choices": [{"message": {"content": "chat"}, "finish_reason": "stop"}], "usage": {}}

    assert generate(Model(), request_payload(ChatRequest.raw("1. a\n2.")), {})["text"] == " continued<1. a\n2.>"
    assert generate(Model(), request_payload(ChatRequest.user("hi")), {})["text"] == "chat"


def test_template_questions_stay_fast_on_long_lists() -> None:
    """The list check after a span once backtracked exponentially (a 30-word sentence ran for minutes)."""
    import time

    sentence = "The model keeps 30 rows" + "".join(f", abcdefghij klmnop{i}" for i in range(10)) + " in memory."
    assert len(sentence.split()) <= 30  # a clause short enough to be asked about
    start = time.perf_counter()
    template_question(Span("30 rows", "number", sentence))
    assert time.perf_counter() - start < 1.0


def test_template_questions_keep_the_span_s_phrase_whole() -> None:
    """Found by running the templates over the Markdown docs of installed packages: the reordering once wrote
    'By which module do all errors thrown will be instances ...?' (the span inside the subject), 'Which extension
    has the file?' ('has' the verb itself), 'What was the function never documented as an officially supported?'
    (the span heading a noun phrase), '... only for Latin?' (a list cut after its first item) and 'Which value
    corresponding does this API return ...?'. Those stay in the sentence's order now; a span ending in ';' no
    longer raises."""
    kept_in_order = [
        Span("node:assert", "code", "All errors thrown by the node:assert module will be instances of the AssertionError class."),
        Span("API", "name", "The Module._debug() function was never documented as an officially supported API."),
        Span("URL", "code", "The resolution algorithm determines the full resolved URL for a module load."),
        Span("DejaVu LGC", "name", "All fonts are also available as derivative called DejaVu LGC with support only for "
                                   "Latin, Greek and Cyrillic scripts."),
        Span("Node-API", "name", "This API returns a Node-API value corresponding to a JavaScript Array type."),
        Span("node:dns", "code", "All other functions in the node:dns module connect to an actual DNS server."),
    ]
    for span in kept_in_order:
        q = template_question(span)
        assert q is not None and span.text not in q and q.split()[0] not in ("What", "Which", "By", "With", "In"), q
    assert template_question(Span("JavaScript", "name", "The docs show the result with JavaScript in the browser.")) is not None
    assert (template_question(Span(".mjs", "code", "The output file has an .mjs extension on disk."))
            == "Which extension does the output file have on disk?")
    assert (template_question(Span("cleanup", "code", "The nightly job does cleanup on every shard."))
            == "What does the nightly job do on every shard?")  # not 'What does the nightly job on every shard?'
    assert (template_question(Span("LightGBM", "name", "The model has been fitted with LightGBM on the table."))
            == "With what has the model been fitted on the table?")  # 'has' as an auxiliary stays one
    assert template_question(Span("x;", "code", "The first part ends in x; the second part starts with y here.")) is None
