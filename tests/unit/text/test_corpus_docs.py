"""simulacra corpus for documents: chunking, grounded rows, coverage, decontamination, export."""

from __future__ import annotations

import json

import pytest

from simulacra.errors import InputError
from simulacra.text.corpus.chunks import chunk_document
from simulacra.text.corpus.decontam import Contamination, decontaminate
from simulacra.text.corpus.docs import build_docs, coverage
from simulacra.text.corpus.docs_output import write_docs_corpus
from simulacra.text.result import TaskResult

GUIDE = """# Widget guide

The widget service was released in 2019 by the Northwind team. It stores 500 records per shard and keeps
12 replicas of every shard across 3 regions.

## Install

Install it with the package manager. The installer needs Python 3.11 and about 200 MB of disk. Run the
command below and wait for the message that says the service is ready.

```bash
# not a heading: a comment
pip install widget
widget start --port 8080
```

## Limits

| plan | requests per day | storage |
|---|---|---|
| free | 1,000 | 1 GB |
| team | 50,000 | 100 GB |
| enterprise | unlimited | 10 TB |

Requests above the limit get HTTP 429 and a Retry-After header of 60 seconds.

## Support

- Email support answers within 2 business days.
- The team plan adds a chat channel staffed by Oslo engineers.
- Enterprise customers get a named engineer.
"""


@pytest.fixture()
def docs(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "guide.md").write_text(GUIDE)
    (d / "faq.md").write_text("# FAQ\n\nThe widget logo was drawn by Ada Lovelace Studio in 2021. It is blue and has "
                              "7 corners. The mascot, Wally, was added to the website in March 2022 by the Oslo office.\n")
    return d


def test_chunks_keep_sections_tables_and_code_whole():
    chunks = chunk_document("guide.md", GUIDE, max_words=60, min_words=10)
    headings = [c.heading for c in chunks]
    assert headings == ["Widget guide", "Widget guide > Install", "Widget guide > Limits", "Widget guide > Support"]
    install = chunks[1]
    assert [k for k, _ in install.blocks] == ["paragraph", "code"]
    assert "# not a heading" in install.text and "widget start --port 8080" in install.text
    limits = chunks[2]
    table = next(t for k, t in limits.blocks if k == "table")
    assert table.count("\n") == 4  # all five table lines in one block
    # a long section is cut between blocks, never inside one
    small = chunk_document("guide.md", GUIDE, max_words=20, min_words=5)
    for c in small:
        for kind, text in c.blocks:
            if kind == "table":
                    assert text.count("\n") == 4 and text.startswith("| plan") and "enterprise" in text


def test_build_docs_rows_are_grounded_with_provenance_and_coverage(docs):
    res, chunks = build_docs(docs, 30, seed=1)
    assert all(st.balanced for st in res.stages)
    assert {r["task"] for r in res.records} == {"qa", "instruct"}
    for r in res.records:
        assert r["grounding"] >= 0.75 and r["source"].endswith(".md") and r["chunk"] in {c.id for c in chunks}
        assert r["seed"] == 1 and r["model"] == "template"
        if r["task"] == "qa":
            assert r["answer"] in r["passage"] or r["answer_kind"] == "table cell"
    cells = [r for r in res.records if r.get("answer_kind") == "table cell"]
    assert any(r["answer"] in ("1,000", "50,000", "unlimited", "1 GB", "100 GB", "10 TB") for r in cells)
    cov = coverage(res.records, chunks)
    assert cov["chunks_used"] == cov["chunks"] and cov["rows_per_chunk"]["max"] <= 3 * 30 / len(chunks) + 1


def test_chunk_quota_rejects_overuse_with_a_reason(docs):
    res, chunks = build_docs(docs, 40, seed=2, max_per_chunk=2)
    per: dict[str, int] = {}
    for r in res.records:
        per[r["chunk"]] = per.get(r["chunk"], 0) + 1
    assert max(per.values()) <= 2
    assert any(r["_reason"] == "chunk quota (2 rows per chunk)" for r in res.filtered)
    assert res.notes  # fewer rows than asked is said


def test_decontamination_reports_and_keeps_rows_apart():
    res = TaskResult("x")
    rows = [{"question": "How many replicas of every shard are kept across regions?"}, {"question": "Who drew the logo?"}]
    kept, report = decontaminate(res, rows, ["how many replicas of every shard are kept"], ("question",), n=5)
    assert [r["question"] for r in kept] == ["Who drew the logo?"]
    assert report["rows_contaminated"] == 1 and report["eval_rows_hit"] == 1
    assert res.filtered[0]["_reason"].startswith("shares 'how many replicas of every")
    with pytest.raises(InputError):
        Contamination(["x"], n=1)


def test_decontamination_sees_words_in_any_script_as_answer_search_does():
    """An evaluation set in Cyrillic had no n-grams at all under the old ASCII-only tokeniser (nothing matched)."""
    from simulacra.text.corpus.passages import holds

    idx = Contamination(["Сколько реплик каждого шарда хранится в регионах?"], n=4)
    assert idx.check("Скажи, сколько реплик каждого шарда хранится?") == {"eval_index": 0,
                                                                           "shared": "сколько реплик каждого шарда"}
    assert holds("Он хранит три реплики.", "три реплики")  # the same words in both


def test_export_and_cli(docs, tmp_path):
    from simulacra.cli.main import main

    ev = tmp_path / "eval.jsonl"
    ev.write_text(json.dumps({"question": "When was the widget service released by the Northwind team?"}) + "\n")
    out = tmp_path / "corpus"
    main(["corpus", str(docs), "--tasks", "qa,instruct", "-n", "20", "-o", str(out), "--llm", "fake", "--eval", str(ev),
          "--ngram", "4"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["coverage"]["chunks"] == len((out / "chunks.jsonl").read_text().splitlines())
    assert manifest["decontamination"]["rows_checked"] >= manifest["output"]["rows"]
    msgs = [json.loads(x) for x in (out / "messages.jsonl").read_text().splitlines()]
    assert len(msgs) == manifest["output"]["rows"] and msgs[0]["messages"][0]["role"] == "user"
    pairs = [json.loads(x) for x in (out / "pairs.jsonl").read_text().splitlines()]
    assert all(p["chosen"][0]["content"] != p["rejected"][0]["content"] for p in pairs)
    assert "chunks along their Markdown sections" in (out / "hf" / "README.md").read_text()
    rows = [json.loads(x) for x in (out / "rows.jsonl").read_text().splitlines()]
    assert not any("northwind team" in r.get("question", "").lower() and "released" in r.get("question", "").lower()
                   for r in rows)
    res, _ = build_docs(docs, 10, seed=3)
    write_docs_corpus(res, tmp_path / "again")
    assert (tmp_path / "again" / "rejected.jsonl").exists()


def test_same_seed_same_corpus_whatever_the_hash_seed(docs):
    """Code names of equal length were tried in set order, which changes with PYTHONHASHSEED."""
    import os
    import subprocess
    import sys

    (docs / "codes.md").write_text("# Codes\n\nSet `opt_a` and `opt_b` and `opt_c` before you call `fit` with `opt_d` "
                                   "so that the run with `opt_e` keeps `opt_f` and `opt_g` in one table today.\n\n"
                                   "The `run_a` step writes `run_b` and `run_c` files while `run_d` waits for `run_e` to end.\n")
    script = ("import json, sys; from simulacra.text.corpus.docs import build_docs; "
              "res, _ = build_docs(sys.argv[1], 40, seed=0); print(json.dumps([r.get('question') or r.get('instruction') "
              "for r in res.records]))")
    outs = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", script, str(docs)], env=env, capture_output=True, text=True, check=True)
        outs.add(done.stdout)
    assert len(outs) == 1
