"""The QA uplift (``simulacra uplift llm`` on held-out questions): the reference-based verifier, scripted models
and a scripted judge through the whole experiment, the tiny random model trained on QA rows, and the command line."""

from __future__ import annotations

import json
import math
import re

import pytest
from typer.testing import CliRunner

from simulacra.errors import InputError

QUESTIONS = [{"question": "How many knots does the quantile function have?", "answer": "1,001"},
             {"question": "Which library does autoreg use for gradient boosting?", "answer": "LightGBM"},
             {"question": "Does a saved model use pickle?", "answer": "no"}]
#: what each scripted model answers, per question: right (in other words), wrong, and padded with candidates
SCRIPTS = {
    "right": ["It has 1001 knots.", "autoreg uses LightGBM for the boosting.", "No, it does not."],
    "wrong": ["About 500.", "XGBoost", "Yes."],
    "padded": ["10, 100, 1,001 or 10,000", "LightGBM, XGBoost, CatBoost, scikit-learn", "Yes or no."],
}


@pytest.mark.parametrize(("answer", "reference", "match"), [
    ("1001", "1,001", True), ("It has 1 001 knots.", "1,001", True), ("65536 rows", "65,536", True),
    ("15%", "15 %", True), ("The PyYAML safe loader.", "PyYAML's safe loader", True), ("_ or .", "_ or .", True),
    ("--engine ray", "--engine ray", True), ('refine="auto"', 'refine="auto"', True),
    ("Chat: [Chat_Name] - [Chat_Type]", "--format chat", False),  # the symbols of a written group stay together
    ("1000", "1,001", False), ("autoreg", "LightGBM", False),
    ("80, 100, 200 or 500", "80", False),                       # other numbers
    ("LightGBM or XGBoost", "LightGBM", False),                 # a hedge
    ("CSV/Parquet.", "CSV", False),                             # a hedge with a slash
    ("In examples/customers.yaml.", "customers.yaml", True),    # a path is not a hedge
    ("LightGBM, XGBoost, CatBoost", "LightGBM", False),         # a list of candidates
    ("No. Well, yes.", "no", False),                            # both sides of a yes/no question
    ("LightGBM " + " ".join(f"word{i}" for i in range(20)), "LightGBM", False),  # padded
])
def test_verifier_cannot_be_fooled_cheaply(answer, reference, match):
    from simulacra.augment.llm_qa import score_qa

    got = score_qa(answer, reference)
    assert got["answer_match"] == float(match), got["reason"]
    assert bool(got["reason"]) != match


BOOSTING = "Which library does autoreg use for gradient boosting?"


@pytest.mark.parametrize(("answer", "reference", "question", "match"), [
    ("It is not LightGBM.", "LightGBM", BOOSTING, False),
    ("No, LightGBM is not used.", "LightGBM", BOOSTING, False),
    ("LightGBM isn't used.", "LightGBM", BOOSTING, False),
    ("autoreg doesn't use LightGBM", "LightGBM", BOOSTING, False),
    ("XGBoost rather than LightGBM.", "LightGBM", BOOSTING, False),
    ("Not 1001 knots.", "1,001", "How many knots?", False),
    ("LightGBM, not XGBoost", "LightGBM", BOOSTING, True),           # the reference outside the negation
    ("It uses LightGBM and not XGBoost.", "LightGBM", BOOSTING, True),
    ("Not XGBoost but LightGBM.", "LightGBM", BOOSTING, True),
    ("LightGBM is used, XGBoost is not.", "LightGBM", BOOSTING, True),
    ("LightGBM does not need tuning.", "LightGBM", BOOSTING, True),   # a new fact denied, not the answer
    ("It uses LightGBM with no extra setup.", "LightGBM", BOOSTING, True),
    ("Not only LightGBM.", "LightGBM", BOOSTING, True),
    ("XML is not supported.", "XML", "Which format is not supported?", True),  # a negative question
    ("No, it does not.", "no", "Does a saved model use pickle?", True),       # a negative reference
    ("Rows and columns.", "rows and columns", "What does it read?", True),
])
def test_a_denied_reference_is_no_match(answer, reference, question, match):
    from simulacra.augment.llm_qa import score_qa

    got = score_qa(answer, reference, question)
    assert got["answer_match"] == float(match), got["reason"]
    assert got["reason"].startswith("denied: ") != match


def test_token_f1_and_exact_match():
    from simulacra.augment.llm_qa import score_qa, token_f1

    assert token_f1("the LightGBM", "LightGBM") == 1.0 and token_f1("XGBoost", "LightGBM") == 0.0
    assert math.isclose(token_f1("uses LightGBM", "LightGBM"), 2 / 3)
    assert score_qa("1001.", "1,001")["exact_match"] == 1.0 and score_qa("It is 1001", "1,001")["exact_match"] == 0.0


def _scripted(name_of_path):  # type: ignore[no-untyped-def]
    """A backend factory whose model answers the questions by its script (found by the question's text)."""
    from simulacra.text.backends.fake import FakeBackend

    def factory(path: str) -> FakeBackend:
        script = SCRIPTS[name_of_path(path)]

        def respond(req):  # type: ignore[no-untyped-def]
            assert [m["role"] for m in req.messages] == ["user"] and req.temperature == 0.0  # the corpus's chat form
            return script[[q["question"] for q in QUESTIONS].index(req.messages[-1]["content"])]
        return FakeBackend(path, responder=respond)
    return factory


@pytest.fixture
def scripted_models(tmp_path, write_rows):  # type: ignore[no-untyped-def]
    """The held-out file, a 'right' model folder with two seeds, a 'padded' folder, and the factory."""
    for folder in ("right/seed-0", "right/seed-1", "padded"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "config.json").write_text("{}")
    which = lambda path: "wrong" if path.startswith("hf:") else "padded" if "padded" in path else "right"  # noqa: E731
    return write_rows(tmp_path / "qa.jsonl", QUESTIONS), _scripted(which)


def test_scripted_models_are_scored_right(tmp_path, scripted_models):
    from simulacra.augment.llm_qa import run_qa_uplift

    path, factory = scripted_models
    right, padded = str(tmp_path / "right"), str(tmp_path / "padded")
    result = run_qa_uplift(path, ["base", right, padded], factory=factory, device="cpu")
    s = result.summary().set_index("model")
    assert s.loc["base", "answer_match"] == 0.0 and s.loc["base", "token_f1"] == 0.0
    assert s.loc[right, "answer_match"] == 1.0 and s.loc[right, "repeats"] == 2 and s.loc[right, "answer_match_sd"] == 0.0
    assert s.loc[padded, "answer_match"] == 0.0 and 0 < s.loc[padded, "token_f1"] < 1
    assert s["judged_correct"].isna().all()
    verdicts = {v["method"]: v for v in result.verdicts()}
    assert verdicts[right]["metric"] == "answer_match" and verdicts[right]["gain"] == 1.0
    data = result.to_dict()
    assert data["task"] == "qa" and [e["model"] for e in data["summary"]] == ["base", right, padded]
    assert all("answer_match" in e and "answer_match_sd" in e for e in data["summary"])
    reasons = [a["reason"] for a in data["answers"] if a["model"] == padded]
    assert all(reasons) and "no judge given" in data["info"]["judge"]
    assert "| model | repeats | answer match" in result.to_text() and "Note: judged correctness not measured" in result.to_text()
    result.save_html(tmp_path / "u.html")
    page = (tmp_path / "u.html").read_text()
    assert "Question answering on held-out questions" in page and "no judge given" in page
    assert "why not a match" in page and "other numbers: 10 100 10000" in page


def _judge_cache(tmp_path, monkeypatch, accuracy: float) -> None:  # type: ignore[no-untyped-def]
    """A cached score-mode calibration of the scripted judge ``judge-x`` (the gate reads it as measured)."""
    monkeypatch.setenv("SIMULACRA_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    cal = {"model": "judge-x", "mode": "score", "accuracy": accuracy, "low": 0.1, "high": 0.95, "n": 46,
           "correct": 46 * accuracy, "threshold": 0.0, "passed": True, "calibration_version": 1}
    (tmp_path / "cache" / "judge-calibration.json").write_text(json.dumps({"judge-x": {"score": cal}}))


def _judge():  # type: ignore[no-untyped-def]
    """A scripted judge: 9 when the response holds the reference's words, else 2."""
    from simulacra.text.backends.fake import FakeBackend
    from simulacra.text.engine import Engine

    def respond(req):  # type: ignore[no-untyped-def]
        text = req.messages[-1]["content"]
        ref = re.search(r"\[Reference\]\n(.*?)\n", text).group(1).replace(",", "")  # type: ignore[union-attr]
        response = text.split("[Response]\n", 1)[1].split("\n\nGive", 1)[0]
        return json.dumps({"reason": "scripted", "score": 9 if ref.lower() in response.lower() else 2})
    return Engine(FakeBackend("judge-x", responder=respond))


def test_a_calibrated_judge_scores_and_a_failed_one_is_not_used(tmp_path, monkeypatch, scripted_models):
    from simulacra.augment.llm_qa import run_qa_uplift

    path, factory = scripted_models
    right = str(tmp_path / "right")
    _judge_cache(tmp_path, monkeypatch, 0.9)
    s = run_qa_uplift(path, ["base", right], factory=factory, judge=_judge(), device="cpu")
    summary = s.summary().set_index("model")
    assert summary.loc["base", "judged_correct"] == 0.0 and summary.loc[right, "judged_correct"] == 1.0
    assert "score calibration 90%" in s.info["judge"] and not s.info["notes"]

    (tmp_path / "cache" / "judge-calibration.json").unlink()
    (tmp_path / "cache").rmdir()
    _judge_cache(tmp_path, monkeypatch, 0.28)  # the embedded model's measured score calibration
    s = run_qa_uplift(path, ["base", right], factory=factory, judge=_judge(), device="cpu")
    assert s.summary()["judged_correct"].isna().all()
    assert "28%" in s.info["judge"] and "below the 75% gate" in s.info["notes"][0]


def test_bad_rows_and_bad_task_are_clear_errors(tmp_path, write_rows):
    from simulacra.augment.llm_qa import eval_task, read_questions

    with pytest.raises(InputError, match=r"qa.jsonl:2: a held-out QA row needs"):
        read_questions(write_rows(tmp_path / "qa.jsonl", [QUESTIONS[0], {"question": "Why?", "answer": ""}]))
    with pytest.raises(InputError, match="found keys prompt"):
        eval_task(write_rows(tmp_path / "x.jsonl", [{"prompt": "hi"}]))
    assert eval_task(write_rows(tmp_path / "c.jsonl", [{"request": "hi", "call": None}])) == "calls"


def test_tiny_model_tuned_on_qa_rows_gains(tmp_path, tiny_model, fast_settings, write_rows):
    """Train on the corpus's chat rows, score on the same questions: the prompt of the uplift is the one trained."""
    from simulacra.augment.llm_qa import run_qa_uplift
    from simulacra.train.sft import train_sft

    qa = [QUESTIONS[1], QUESTIONS[2]]
    chat = [{"messages": [{"role": "user", "content": q["question"]}, {"role": "assistant", "content": q["answer"]}]}
            for q in qa]
    train_sft(write_rows(tmp_path / "messages.jsonl", chat), base=tiny_model, output=tmp_path / "tuned",
              settings=fast_settings, progress=False)
    result = run_qa_uplift(write_rows(tmp_path / "qa.jsonl", qa), ["base", str(tmp_path / "tuned")], base=str(tiny_model),
                           max_tokens=12, device="cpu")
    s = result.summary().set_index("model")
    assert s.loc[str(tmp_path / "tuned"), "exact_match"] == 1.0 and s.loc["base", "answer_match"] == 0.0


def test_cli_qa_needs_no_api_and_calls_need_one(tmp_path, tiny_model, write_rows):
    from simulacra.cli.main import app

    qa = write_rows(tmp_path / "qa.jsonl", QUESTIONS)
    res = CliRunner().invoke(app, ["uplift", "llm", "--eval", str(qa), "--base", str(tiny_model), "--max-tokens", "4",
                                   "--json", str(tmp_path / "u.json"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "u.json").read_text())
    assert data["task"] == "qa" and data["summary"][0]["model"] == "base" and "answer_match" in data["summary"][0]
    res = CliRunner().invoke(app, ["uplift", "llm", "--eval", str(write_rows(tmp_path / "c.jsonl", [{"request": "x", "call": None}]))])
    assert res.exit_code != 0 and "--api" in str(res.exception)


def test_a_wrong_model_is_said_before_the_judge_is_calibrated(tmp_path, monkeypatch, write_rows):
    import simulacra.augment.llm_qa as qa

    def never(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the judge was calibrated before the models were checked")
    monkeypatch.setattr(qa, "judge_for_qa", never)
    with pytest.raises(InputError, match="not a folder"):
        qa.run_qa_uplift(write_rows(tmp_path / "qa.jsonl", QUESTIONS), ["base", "nowhere/"], judge="fake", device="cpu")


def _bench(name: str):  # type: ignore[no-untyped-def]
    import importlib.util
    import sys
    from pathlib import Path

    folder = Path(__file__).resolve().parents[3] / "benchmarks"
    sys.path.insert(0, str(folder))  # bench_docsqa imports bench_train
    try:
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


def test_bench_corpus_overlap_and_combined_report_keep_the_qa_metrics(tmp_path, scripted_models):
    """The benchmark's corpus reports its overlap with the held-out questions, and a report combined from
    several QA runs (bench_train.combine) keeps the QA metrics and headline."""
    from simulacra.augment.llm_qa import run_qa_uplift

    bench = _bench("bench_docsqa")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Tool\n\n## Sizes\n\n| name | rows |\n|---|---|\n| small | 1,000 |\n| large | 65,536 |\n\n"
                               "## Engine\n\nThe engine runs in blocks of 65,536 rows, written by the writer called "
                               "Parquet, and it reads the file called spec.yaml from the folder.\n")
    info = bench.build_corpus(docs, ["qa"], 20, 0, tmp_path / "corpus")
    assert info["rows"] > 0 and set(info["rows_sharing_an_ngram_with_heldout"]) == {"5-gram", "6-gram", "8-gram"}
    assert (tmp_path / "corpus" / "messages.jsonl").exists()
    book = bench.build_corpus(docs, ["qa"], 20, 0, tmp_path / "book", (40, 1))
    rows = [json.loads(x) for x in (tmp_path / "book" / "rows.jsonl").read_text().splitlines()]
    assert book["rows"] == len(rows) > 0 and all(r["context"] and r["gold_passage"] for r in rows)
    path, factory = scripted_models
    paths = []
    for i, models in enumerate((["base"], [str(tmp_path / "right")])):
        run_qa_uplift(path, models, factory=factory, device="cpu").save_json(tmp_path / f"u{i}.json")
        paths.append(tmp_path / f"u{i}.json")
    combined = bench.combine(paths, None).to_dict()
    assert combined["task"] == "qa" and combined["headline_metric"] == "answer_match"
    assert [(e["model"], e["repeats"], e["answer_match"]) for e in combined["summary"]] == [
        ("base", 1, 0.0), (str(tmp_path / "right"), 2, 1.0)]


def test_a_backend_that_skips_an_answer_is_an_error_not_a_shifted_score(tmp_path, scripted_models):
    """Answers are matched to rows by position: a backend that returned one answer fewer shifted every later
    answer onto the wrong question and dropped the last row from the scores without a word."""
    from simulacra.augment.llm_qa import run_qa_uplift
    from simulacra.errors import BackendError

    path, factory = scripted_models

    def short(path_: str):  # type: ignore[no-untyped-def]
        backend = factory(path_)
        complete = backend.complete
        backend.complete = lambda requests, on_result=None: complete(requests)[1:]  # the first answer lost
        return backend

    with pytest.raises(BackendError, match="answered 2 of 3 requests"):
        run_qa_uplift(path, ["base"], factory=short, device="cpu")


def test_a_failing_model_loses_no_finished_run_and_the_rerun_resumes(tmp_path, scripted_models):
    """Every run's answers went only to memory until every model had run: a later model that failed (out of
    memory, a bad load) threw away the finished runs. With a cache they are kept and a rerun answers only the rest."""
    from simulacra.augment.llm_qa import run_qa_uplift

    path, factory = scripted_models
    right, padded, cache = str(tmp_path / "right"), str(tmp_path / "padded"), tmp_path / "answers.sqlite"
    loaded: list[str] = []

    def failing(path_: str):  # type: ignore[no-untyped-def]
        loaded.append(path_)
        if "padded" in path_:
            raise MemoryError("out of memory loading the third model")
        return factory(path_)

    with pytest.raises(MemoryError):
        run_qa_uplift(path, ["base", right, padded], factory=failing, device="cpu", cache=cache)
    assert len(loaded) == 4  # base, right's two seeds, then padded failed
    loaded.clear()

    def counting(path_: str):  # type: ignore[no-untyped-def]
        loaded.append(path_)
        return factory(path_)

    result = run_qa_uplift(path, ["base", right, padded], factory=counting, device="cpu", cache=cache)
    assert loaded == [padded]  # the finished runs came from the cache
    s = result.summary().set_index("model")
    assert s.loc[right, "answer_match"] == 1.0 and s.loc[right, "repeats"] == 2 and s.loc["base", "answer_match"] == 0.0
    (tmp_path / "padded" / "adapter.safetensors").write_bytes(b"trained again")  # a changed folder is answered again
    loaded.clear()
    run_qa_uplift(path, ["base", right, padded], factory=counting, device="cpu", cache=cache)
    assert loaded == [padded]


def test_cli_keeps_answers_beside_the_report(tmp_path, monkeypatch, scripted_models):
    from simulacra.augment import llm as llm_mod
    from simulacra.cli.main import app

    path, factory = scripted_models
    original = llm_mod.answer_with_models
    monkeypatch.setattr(llm_mod, "answer_with_models", lambda *a, **k: original(*a, **{**k, "factory": factory}))
    import simulacra.augment.llm_qa as qa_mod
    monkeypatch.setattr(qa_mod, "answer_with_models", lambda *a, **k: original(*a, **{**k, "factory": factory}))
    out = tmp_path / "out"
    out.mkdir()
    res = CliRunner().invoke(app, ["uplift", "llm", "--eval", str(path), "--models", "base," + str(tmp_path / "right"),
                                   "--json", str(out / "u.json")])
    assert res.exit_code == 0, res.output
    assert (out / ".simulacra-uplift.sqlite").is_file() and json.loads((out / "u.json").read_text())["task"] == "qa"


OPEN_DOCS = {"synth.md": "# Synthesizers\n\nThe quantile function of every numeric column has 1,001 knots, which keeps the "
                         "tails of skewed columns close to the real ones.\n\n## Boosting\n\nThe autoreg synthesizer "
                         "uses LightGBM for the gradient boosting of each column given the columns before it.\n",
             "other.md": "# Weather\n\nIt rains a lot in Bergen, where the umbrellas are sold in every shop of the "
                         "harbour and the streets are steep.\n"}


def _reader(name_of_path):  # type: ignore[no-untyped-def]
    """A scripted open-book model: 'reader' answers with the reference when it is in the passages of its prompt, the
    others by their script; every prompt must be the open-book corpus's prompt."""
    from simulacra.augment.llm_qa import answer_in, qa_messages
    from simulacra.text.backends.fake import FakeBackend

    def factory(path: str) -> FakeBackend:
        def respond(req):  # type: ignore[no-untyped-def]
            text = req.messages[-1]["content"]
            question = text.rsplit("Question: ", 1)[1]
            i = [q["question"] for q in QUESTIONS].index(question)
            passages = [{"heading": h, "text": t} for h, t in re.findall(r"Passage \d+ \((.*?)\):\n(.*?)(?:\n\n|$)",
                                                                         text.rsplit("\n\nQuestion: ", 1)[0] + "\n\n", re.S)]
            assert len(passages) == 2 and list(req.messages) == qa_messages(question, passages)
            if name_of_path(path) != "reader":
                return SCRIPTS[name_of_path(path)][i]
            ref = QUESTIONS[i]["answer"]
            return ref if any(answer_in(p["text"], ref) for p in passages) else "I cannot tell from these passages."
        return FakeBackend(path, responder=respond)
    return factory


def test_open_book_retrieves_for_every_model_and_reports_the_recall(tmp_path, write_rows):
    from simulacra.augment.llm_qa import answer_in, run_qa_uplift

    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in OPEN_DOCS.items():
        (docs / name).write_text(text)
    (tmp_path / "reader").mkdir()
    (tmp_path / "reader" / "config.json").write_text("{}")
    reader = str(tmp_path / "reader")
    which = lambda path: "wrong" if path.startswith("hf:") else "reader"  # noqa: E731
    result = run_qa_uplift(write_rows(tmp_path / "qa.jsonl", QUESTIONS), ["base", reader], factory=_reader(which),
                           device="cpu", context=docs, top_k=2, passage_words=20)
    s = result.summary().set_index("model")
    # the pickle question's answer is in no document: recall 2 of 3, the ceiling the reader reaches
    assert result.info["retrieval_recall"] == pytest.approx(2 / 3) and s.loc[reader, "answer_match"] == pytest.approx(2 / 3)
    assert s.loc["base", "answer_match"] == 0.0
    assert "top 2 of" in result.info["retrieval"] and result.info["context"] == str(docs)
    assert "retrieval recall" in result.info["notes"][0] and "2 of 3 questions" in result.to_text()
    got = {(a["model"], a["request"]): a for a in result.answers}
    first = got[(reader, QUESTIONS[0]["question"])]
    assert first["answer_in_passages"] and first["passages"][0].startswith("synth#") and len(first["passages"]) == 2
    assert not got[(reader, QUESTIONS[2]["question"])]["answer_in_passages"]
    assert [a["passages"] for a in result.answers if a["model"] == "base"] == [a["passages"] for a in result.answers
                                                                               if a["model"] == reader]
    assert answer_in("The function has 1001 knots", "1,001") and not answer_in("knots", "1,001 knots")
    result.save_html(tmp_path / "u.html")
    assert "retrieval recall" in (tmp_path / "u.html").read_text()


def test_cli_open_book_with_the_tiny_model(tmp_path, tiny_model, write_rows):
    from simulacra.cli.main import app

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "synth.md").write_text(OPEN_DOCS["synth.md"])
    qa = write_rows(tmp_path / "qa.jsonl", QUESTIONS[:2])
    res = CliRunner().invoke(app, ["uplift", "llm", "--eval", str(qa), "--base", str(tiny_model), "--max-tokens", "4",
                                   "--context", str(docs), "--top-k", "1", "--json", str(tmp_path / "u.json"),
                                   "--device", "cpu"])
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "u.json").read_text())
    assert data["info"]["retrieval_recall"] == 1.0 and all(len(a["passages"]) == 1 for a in data["answers"])
    calls = write_rows(tmp_path / "c.jsonl", [{"request": "x", "call": None}])
    res = CliRunner().invoke(app, ["uplift", "llm", "--eval", str(calls), "--api", "simulacra.text.calls.demo_api",
                                   "--context", str(docs)])
    assert res.exit_code != 0 and "--context is for QA rows" in str(res.exception)
    res = CliRunner().invoke(app, ["uplift", "llm", "--eval", str(qa), "--context", str(tmp_path / "empty.md")])
    assert res.exit_code != 0
