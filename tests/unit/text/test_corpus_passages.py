"""Open-book QA: passages of the chunks, the TF-IDF retriever, the open-book corpus rows and their prompt."""

from __future__ import annotations

import json

import pytest

from simulacra.errors import InputError
from simulacra.text.corpus.chunks import chunk_document
from simulacra.text.corpus.docs import build_docs
from simulacra.text.corpus.passages import (INSTRUCTION, Passage, Retriever, context_message, holds, open_book,
                                            passages_of, split_passages, words)
from simulacra.text.result import TaskResult

from .test_corpus_docs import GUIDE

LONG = ("# Service\n\n" + " ".join(f"Sentence number {i} says the shard {i} holds {i * 10} records." for i in range(30))
        + "\n\n| region | replicas | latency |\n|---|---|---|\n"
        + "\n".join(f"| region-{i} | {i} | {i * 7} ms |" for i in range(40)) + "\n")


def test_passages_are_short_keep_units_whole_and_lose_nothing():
    chunk = chunk_document("s.md", LONG, max_words=2000)[0]
    ps = split_passages(chunk, max_words=60)
    assert len(ps) > 4 and [p.id for p in ps] == [f"s#0/{k}" for k in range(len(ps))]
    assert all(len(p.text.split()) <= 60 for p in ps)
    sentences = [p for p in ps if "Sentence number" in p.text]
    assert all(p.text.rstrip().endswith("records.") for p in sentences)  # cut between sentences, never inside one
    tables = [p for p in ps if "| region-" in p.text]
    assert len(tables) > 1 and all(p.text.startswith("| region | replicas | latency |\n|---|---|---|\n") for p in tables)
    seen = words(" ".join(p.text for p in ps).replace("| region | replicas | latency |", ""))
    assert seen == words(chunk.text.replace("| region | replicas | latency |", ""))  # every word, in order, once
    with pytest.raises(InputError, match="at least 10 words"):
        split_passages(chunk, max_words=5)


def test_retriever_ranks_by_tfidf_cosine_with_the_heading():
    ps = passages_of(chunk_document("guide.md", GUIDE, min_words=3), 100)
    r = Retriever(ps)
    assert "Retry-After" in r.search("What header comes with HTTP 429 when requests go over the limit?", k=1)[0].text
    assert r.search("How do I install the widget?", k=1)[0].heading == "Widget guide > Install"
    assert len(r.search("widget", k=3)) == 3 and r.ranked("widget")[:3] == [ps.index(p) for p in r.search("widget", 3)]
    with pytest.raises(InputError, match="at least 1"):
        r.search("x", k=0)
    with pytest.raises(InputError, match="No passages"):
        Retriever([])


def test_holds_matches_words_in_order_and_together():
    assert holds("Run `widget start --port 8080` now", "widget start")
    assert not holds("start the widget", "widget start") and not holds("anything", "")


@pytest.fixture()
def docs(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "guide.md").write_text(GUIDE)
    (d / "service.md").write_text(LONG)
    return d


def test_open_book_rows_carry_the_gold_passage_and_a_retrieved_distractor(docs):
    res, chunks = build_docs(docs, 40, tasks=["qa"], seed=1)
    n = len(res.records)
    settings = open_book(res, chunks, passage_words=60, distractors=1, seed=1)
    assert settings["passages"] == len(passages_of(chunks, 60)) and len(res.records) == n > 10
    first = 0
    for row in res.records:
        ctx = row["context"]
        assert len(ctx) == 2 and row["gold_passage"] in [c["id"] for c in ctx]
        gold = next(c for c in ctx if c["id"] == row["gold_passage"])
        other = next(c for c in ctx if c["id"] != row["gold_passage"])
        assert gold["chunk"] == row["chunk"] and holds(gold["text"], row["answer"]) and len(gold["text"].split()) <= 60
        assert other["chunk"] != row["chunk"] and not holds(other["text"], row["answer"])
        first += ctx[0]["id"] == row["gold_passage"]
    assert 0 < first < n  # the gold passage's place is drawn, not always first
    again, chunks2 = build_docs(docs, 40, tasks=["qa"], seed=1)
    open_book(again, chunks2, passage_words=60, distractors=1, seed=1)
    assert [r["context"] for r in again.records] == [r["context"] for r in res.records]


def test_open_book_rejects_a_row_no_passage_answers_and_refuses_instructions(docs):
    res, chunks = build_docs(docs, 10, tasks=["qa"], seed=0)
    res.records.append({**res.records[0], "answer": "a phrase that is nowhere", "evidence": ""})
    n = len(res.records)
    open_book(res, chunks, distractors=0)
    assert len(res.records) == n - 1 and all(len(r["context"]) == 1 for r in res.records)
    lost = [r for r in res.filtered if r["_stage"] == "open book"]
    assert [r["answer"] for r in lost] == ["a phrase that is nowhere"] and "holds the answer" in lost[0]["_reason"]
    inst, chunks = build_docs(docs, 10, tasks=["qa", "instruct"], seed=0)
    with pytest.raises(InputError, match="--tasks qa"):
        open_book(inst, chunks)
    with pytest.raises(InputError, match="0 or more"):
        open_book(TaskResult("x"), chunks, distractors=-1)


def test_cli_open_book_corpus_prompt_is_the_evaluation_prompt(docs, tmp_path):
    from simulacra.augment.llm_qa import qa_messages
    from simulacra.cli.main import main

    out = tmp_path / "ob"
    main(["corpus", str(docs), "--open-book", "-n", "20", "-o", str(out), "--llm", "fake", "--passage-words", "60"])
    rows = [json.loads(x) for x in (out / "rows.jsonl").read_text().splitlines()]
    msgs = [json.loads(x)["messages"] for x in (out / "messages.jsonl").read_text().splitlines()]
    assert rows and all(r["task"] == "qa" for r in rows) and len(msgs) == len(rows)
    for row, m in zip(rows, msgs):
        assert m[0]["content"] == qa_messages(row["question"], row["context"])[0]["content"]
        assert m[0]["content"].startswith(INSTRUCTION) and m[0]["content"].endswith("Question: " + row["question"])
        assert m[1]["content"] == row["answer"]
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text().splitlines()]
    assert pairs and all(p["prompt"][0]["content"].startswith(INSTRUCTION) for p in pairs)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["open_book"]["passage_words"] == 60 and manifest["config"]["open_book"]["distractors"] == 1
    assert "Open book: the user message holds 2 passages" in (out / "hf" / "README.md").read_text()
    from typer.testing import CliRunner

    from simulacra.cli.main import app

    res = CliRunner().invoke(app, ["corpus", str(docs), "--open-book", "--tasks", "qa,instruct", "-n", "5", "-o",
                                   str(tmp_path / "x")])
    assert res.exit_code != 0 and "--open-book makes QA rows" in str(res.exception)


def test_context_message_numbers_passages_under_their_headings():
    text = context_message("Q?", [Passage("a/0", "a", "a.md", "A > B", "one"), {"heading": "C", "text": "two"}])
    assert text == f"{INSTRUCTION}\n\nPassage 1 (A > B):\none\n\nPassage 2 (C):\ntwo\n\nQuestion: Q?"
