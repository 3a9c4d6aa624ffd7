"""SFT on a tiny Llama: the model learns its targets and every text command can load it; Ctrl-C saves a
checkpoint and --resume continues; bad input is a clear error."""

from __future__ import annotations

import json
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from simulacra.errors import InputError
from simulacra.train.loop import TrainingInterrupted


def test_sft_learns_the_calls(tuned_tiny, tiny_api_path, rows):
    from simulacra.text.backends import get_backend
    from simulacra.text.calls import load_api, parse_call
    from simulacra.text.types import ChatRequest
    from simulacra.train.data import call_messages

    folder, info = tuned_tiny
    assert info[0]["steps"] == 60 and info[0]["final_loss"] < info[0]["losses"][0] / 5
    assert (folder / "config.json").is_file()
    manifest = json.loads((folder / "simulacra-train.json").read_text())
    # the trainer's save at the end is the one checkpoint of this run (--keep-checkpoints 2 by default)
    assert manifest["checkpoints"] == ["checkpoint-60"] and (folder / "checkpoints" / "checkpoint-60").is_dir()
    assert manifest["rows"] == 2 and manifest["kind"] == "sft" and manifest["peak_memory_mb"] > 0
    assert manifest["cpu_seconds"] > 0 and manifest["settings"]["bf16"] is False
    backend = get_backend(str(folder))  # the text engine's backend lookup: a model folder runs in transformers
    assert backend.model_id == "transformers:tuned"
    assert get_backend("local", model=str(folder), n_threads=1, concurrency=1).model_id == "transformers:tuned"  # --model
    with load_api(tiny_api_path) as api:
        reqs = [ChatRequest(messages=tuple(call_messages(api, r["request"])), temperature=0, max_tokens=40) for r in rows]
        out = backend.complete(reqs)
    assert parse_call(out[0].text) == rows[0]["call"]
    assert parse_call(out[1].text) is None


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes(tmp_path, tiny_model, tiny_api_path, rows, fast_settings, write_rows):
    from transformers import TrainerCallback

    from simulacra.text.calls import load_api
    from simulacra.train import loop
    from simulacra.train.sft import train_sft

    class CtrlC(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == 3:
                signal.raise_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C

    original = loop.callbacks
    settings = replace(fast_settings, epochs=3)
    data = write_rows(tmp_path / "calls.jsonl", rows)
    with load_api(tiny_api_path) as api:
        loop.callbacks = lambda label, show: (*original(label, show)[:1], _chain(original(label, show)[1], CtrlC()))
        try:
            with pytest.raises(TrainingInterrupted, match="step 3.*--resume"):
                train_sft(data, base=tiny_model, output=tmp_path / "out", api=api, settings=settings, progress=False)
        finally:
            loop.callbacks = original
        assert (tmp_path / "out" / "checkpoints" / "checkpoint-3").is_dir()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler was put back
        with pytest.raises(InputError, match="--resume"):
            train_sft(data, base=tiny_model, output=tmp_path / "out", api=api, settings=settings, progress=False)
        info = train_sft(data, base=tiny_model, output=tmp_path / "out", api=api, settings=settings, progress=False,
                         resume=True)
    assert info[0]["steps"] == 3 and info[0]["resumed_from"].endswith("checkpoint-3")
    assert (tmp_path / "out" / "config.json").is_file()


def _chain(stopper, extra):
    """The stopper, also running ``extra`` first at each step end (so the signal lands mid-training)."""
    own = stopper.on_step_end

    def both(args, state, control, **kw):
        extra.on_step_end(args, state, control, **kw)
        return own(args, state, control, **kw)

    stopper.on_step_end = both
    return stopper


def test_resume_refuses_a_different_run(tmp_path, tiny_model, tiny_api_path):
    from simulacra.text.calls import load_api
    from simulacra.train import loop

    loop.prepare_run(tmp_path / "o", {"kind": "sft", "data": [1]}, resume=False)
    (tmp_path / "o" / "checkpoints" / "checkpoint-1").mkdir()
    with pytest.raises(InputError, match="another run"):
        loop.prepare_run(tmp_path / "o", {"kind": "sft", "data": [2]}, resume=True)
    assert loop.prepare_run(tmp_path / "o", {"kind": "sft", "data": [1]}, resume=True)[1].name == "checkpoint-1"


def test_too_long_rows_are_kept_apart_not_cut(tmp_path, tiny_model, tiny_api_path, rows, fast_settings, write_rows):
    from simulacra.text.calls import load_api
    from simulacra.train.sft import train_sft

    rows = [*rows, {"request": "Add 1 and 2. " * 200, "call": {"name": "add", "arguments": {"a": 1, "b": 2}}}]
    said = []
    with load_api(tiny_api_path) as api:
        info = train_sft(write_rows(tmp_path / "c.jsonl", rows), base=tiny_model, output=tmp_path / "o", api=api,
                         settings=replace(fast_settings, epochs=1), progress=False, say=said.append)
    assert info[0]["rows"] == 2 and info[0]["too_long"] == 1
    assert len((tmp_path / "o" / "too_long.jsonl").read_text().splitlines()) == 1
    assert any("1 of 3 rows are longer" in s for s in said)


def test_function_calling_rows_need_the_api(tmp_path, tiny_model, rows, write_rows):
    from simulacra.train.sft import train_sft

    with pytest.raises(InputError, match="--api"):
        train_sft(write_rows(tmp_path / "c.jsonl", rows), base=tiny_model, output=tmp_path / "o", progress=False)


def test_prefix_cache_gives_the_same_answers(tuned_tiny, tiny_api_path):
    """Decoding from the system message's cached keys and values is the same as decoding the whole prompt."""
    from simulacra.text.backends.hf import TransformersBackend
    from simulacra.text.calls import load_api
    from simulacra.text.types import ChatRequest
    from simulacra.train.data import call_messages

    folder, _ = tuned_tiny
    with load_api(tiny_api_path) as api:
        reqs = [ChatRequest(messages=tuple(call_messages(api, r)), temperature=t, max_tokens=30, seed=5)
                for r in ("Add 3 and 4.", "What is the weather?", "Greet Bo loudly") for t in (0.0, 1.0)]
    cached, plain = TransformersBackend(folder), TransformersBackend(folder, prefix_cache=False)
    assert cached._split(reqs[0]) is not None
    a, b = cached.complete(reqs), plain.complete(reqs)
    assert [c.text for c in a[::2]] == [c.text for c in b[::2]]  # greedy: identical
    assert [c.prompt_tokens for c in a] == [c.prompt_tokens for c in b]
    assert [c.text for c in cached.complete(reqs[1::2])] == [c.text for c in a[1::2]]  # sampled: seeded
