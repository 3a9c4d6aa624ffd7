"""SFT on a tiny Llama: the model learns its target, Ctrl-C saves a checkpoint, --resume continues, bad rows
are clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulacra.errors import InputError
from simulacra.train.loop import TrainSettings

ROWS = [{"request": "Add 3 and 4.", "call": {"name": "add", "arguments": {"a": 3, "b": 4}}},
        {"request": "What is the weather?", "call": None}]
FAST = TrainSettings(lora=False, learning_rate=1e-2, batch_size=2, epochs=60, scheduler="constant", max_length=512, save_steps=1000,
                     threads=1)


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def test_sft_learns_the_calls(tmp_path, tiny_model, tiny_api_path):
    from simulacra.text.backends import get_backend
    from simulacra.text.calls import load_api, parse_call
    from simulacra.text.types import ChatRequest
    from simulacra.train.data import call_messages
    from simulacra.train.sft import train_sft

    with load_api(tiny_api_path) as api:
        info = train_sft(_data(tmp_path), base=tiny_model, output=tmp_path / "tuned", api=api, settings=FAST,
                         progress=False)
        assert info[0]["steps"] == 60 and info[0]["final_loss"] < info[0]["losses"][0] / 5
        backend = get_backend(str(tmp_path / "tuned"))
        reqs = [ChatRequest(messages=tuple(call_messages(api, r["request"])), temperature=0, max_tokens=40) for r in ROWS]
        out = backend.complete(reqs)
    assert parse_call(out[0].text) == ROWS[0]["call"]
    assert parse_call(out[1].text) is None
    assert (tmp_path / "tuned" / "config.json").is_file() and not (tmp_path / "tuned" / "checkpoints").exists()
