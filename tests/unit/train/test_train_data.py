"""Training rows: every accepted shape becomes prompt/completion, with the function-calling prompt format of
the corpus; bad rows name their file and line."""

from __future__ import annotations

import json

import pytest

from simulacra.errors import InputError
from simulacra.train.data import expected_calls, jsonl_files, load_pairs, load_sft, sft_example


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_every_row_shape_becomes_prompt_and_completion(tmp_path, tiny_api_path):
    from simulacra.text.calls import load_api, system_prompt

    rows = [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
            {"prompt": "2+2?", "completion": "4"},
            {"request": "Add 3 and 4.", "call": {"name": "add", "arguments": {"a": 3, "b": 4}}},
            {"request": "Weather?", "call": None},
            {"request": "Add 1 and 2, then greet Ann.", "calls": [{"name": "add", "arguments": {"a": 1, "b": 2}},
                                                                {"name": "greet", "arguments": {"name": "Ann"}}]}]
    with load_api(tiny_api_path) as api:
        out = load_sft(_write(tmp_path / "d.jsonl", rows), api)
        assert out[2]["prompt"][0] == {"role": "system", "content": system_prompt(api)}
    assert out[0] == {"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "hello"}]}
    assert out[1]["completion"][0]["content"] == "4"
    assert out[2]["completion"][0]["content"] == '<tool_call>{"name": "add", "arguments": {"a": 3, "b": 4}}</tool_call>'
    assert "<tool_call>" not in out[3]["completion"][0]["content"]
    assert out[4]["completion"][0]["content"].count("<tool_call>") == 2


@pytest.mark.parametrize("line, message", [
    ("{not json", "d.jsonl:2 is not valid JSON"),
    ('{"messages": [{"role": "user", "content": "x"}]}', "must end with an assistant message"),
    ('{"text": "x"}', "unknown row shape"),
    ('[1, 2]', "not a JSON object"),
])
def test_bad_rows_name_file_and_line(tmp_path, line, message):
    path = _write(tmp_path / "d.jsonl", [{"prompt": "a", "completion": "b"}, line])
    with pytest.raises(InputError, match=message):
        load_sft(path)


def test_pairs_and_their_errors(tmp_path, tiny_api_path):
    from simulacra.text.calls import load_api

    with load_api(tiny_api_path) as api:
        out = load_pairs(_write(tmp_path / "p.jsonl", [{"request": "Add 1 and 2", "chosen": "a", "rejected": "b"}]), api)
    assert out[0]["prompt"][1]["content"] == "Add 1 and 2" and out[0]["rejected"][0]["content"] == "b"
    with pytest.raises(InputError, match="same answer"):
        load_pairs(_write(tmp_path / "q.jsonl", [{"prompt": "x", "chosen": "a", "rejected": "a"}]))
    with pytest.raises(InputError, match="'chosen' and 'rejected'"):
        load_pairs(_write(tmp_path / "r.jsonl", [{"prompt": "x", "chosen": "a"}]))


def test_corpus_folder_reads_its_training_file_only(tmp_path):
    _write(tmp_path / "other.jsonl", [{"prompt": "a", "completion": "b"}])
    _write(tmp_path / "rejected.jsonl", [{"prompt": "a", "completion": "bad"}])
    assert [f.name for f in jsonl_files(tmp_path)] == ["other.jsonl"]
    for name in ("rows.jsonl", "messages.jsonl"):  # what simulacra corpus writes; messages first
        _write(tmp_path / name, [{"prompt": "a", "completion": "b"}])
        assert [f.name for f in jsonl_files(tmp_path)] == [name]
    with pytest.raises(InputError, match="does not exist"):
        jsonl_files(tmp_path / "nope")


def test_expected_calls_shapes():
    assert expected_calls({"request": "x", "call": None}, "f:1") == []
    assert expected_calls({"request": "x", "call": {"name": "a", "arguments": {}}}, "f:1") == [{"name": "a", "arguments": {}}]
    with pytest.raises(InputError, match="f:1"):
        expected_calls({"request": "x"}, "f:1")
    with pytest.raises(InputError, match="--api"):
        sft_example({"request": "x", "call": None}, "f:1")
