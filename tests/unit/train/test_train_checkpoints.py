"""SFT keeps the newest checkpoints and the best by evaluation loss (whose weights the saved model has), and
shows its progress as plain lines where stderr is not a terminal (CI logs, nohup)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from simulacra.errors import InputError
from simulacra.train import loop

#: eight function-calling rows for the tiny API (two of them held out at --eval-share 0.25)
ROWS = [{"request": f"Add {a} and {b}.", "call": {"name": "add", "arguments": {"a": a, "b": b}}}
        for a, b in ((1, 2), (3, 4), (5, 6), (7, 8), (2, 9))] + \
       [{"request": q, "call": None} for q in ("What is the weather?", "Who won the match?", "Sing a song.")]


def _scripted_eval_loss(step: int) -> float:
    """Lowest at step 6 of 15: the best checkpoint is neither the first nor the last."""
    return 1.0 + abs(step - 6) / 10


def _folders(path: Path) -> list[str]:
    return sorted((p.name for p in path.glob("checkpoint-*")), key=lambda n: int(n.split("-")[1]))


def test_prune_keeps_the_newest_and_the_best(tmp_path: Path) -> None:
    for step in (2, 4, 6, 8, 10):
        (tmp_path / f"checkpoint-{step}").mkdir()
    assert loop.prune_checkpoints(tmp_path, 2, str(tmp_path / "checkpoint-4")) == ["checkpoint-4", "checkpoint-8",
                                                                                   "checkpoint-10"]
    assert _folders(tmp_path) == ["checkpoint-4", "checkpoint-8", "checkpoint-10"]
    assert loop.prune_checkpoints(tmp_path, 2, tmp_path / "checkpoint-10") == ["checkpoint-8", "checkpoint-10"]
    assert loop.prune_checkpoints(tmp_path, 0) == [] and _folders(tmp_path) == []


def test_plain_progress_lines(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clock = iter([100.0, 110.0, 120.0, 130.0, 200.0])
    monkeypatch.setattr(loop.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(loop, "PLAIN_EVERY_S", 15.0)
    plain = loop.PlainProgress("SFT seed 0", 0, 40)  # 100 s
    plain.step(1, 2.5)  # 110 s: 10 s after the last line, not shown
    plain.step(2, 2.25)  # 120 s: shown
    plain.step(3, 2.0)  # 130 s: not shown
    plain.step(40, 0.5)  # the last step is always shown
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["SFT seed 0: 40 steps to go (of 40)",
                     "SFT seed 0: step 2/40 · loss 2.2500 · 0:00:20 elapsed · ETA 0:06:20",
                     "SFT seed 0: step 40/40 · loss 0.5000 · 0:01:40 elapsed · ETA 0:00:00"]


def test_eval_keeps_the_best_checkpoint_and_saves_its_weights(tmp_path, tiny_model, tiny_api_path, fast_settings,
                                                               write_rows, monkeypatch, capfd):
    from safetensors.numpy import load_file

    from simulacra.text.calls import load_api
    from simulacra.train.sft import train_sft

    import torch
    from trl import SFTTrainer

    for name in ("FORCE_COLOR", "FORCE_TERMINAL", "TTY_COMPATIBLE"):  # stderr is captured: not a terminal
        monkeypatch.delenv(name, raising=False)
    real_step = SFTTrainer.prediction_step

    def scripted(self, model, inputs, prediction_loss_only, ignore_keys=None):  # the model's loss, replaced
        loss, logits, labels = real_step(self, model, inputs, prediction_loss_only, ignore_keys)
        return torch.tensor(_scripted_eval_loss(self.state.global_step)), logits, labels

    monkeypatch.setattr(SFTTrainer, "prediction_step", scripted)
    settings = replace(fast_settings, epochs=5, save_steps=2, keep_checkpoints=1, eval_share=0.25)
    said: list[str] = []
    with load_api(tiny_api_path) as api:
        info = train_sft(write_rows(tmp_path / "c.jsonl", ROWS), base=tiny_model, output=tmp_path / "o", api=api,
                         settings=settings, progress=True, say=said.append)[0]
    # 6 training rows, batch 2: 15 steps; evaluated at 2, 4, ..., 14 and at the end
    assert info["rows"] == 6 and info["eval_rows"] == 2 and info["steps"] == 15
    steps = [s for s, _ in info["eval_losses"]]
    assert steps == [2, 4, 6, 8, 10, 12, 14, 15]
    assert [loss for _, loss in info["eval_losses"]] == pytest.approx([_scripted_eval_loss(s) for s in steps])
    assert info["best_checkpoint"] == "checkpoint-6" and info["best_eval_loss"] == pytest.approx(1.0)
    # keep_checkpoints=1: the newest, and the best besides
    assert info["checkpoints"] == ["checkpoint-6", "checkpoint-15"]
    assert _folders(tmp_path / "o" / "checkpoints") == ["checkpoint-6", "checkpoint-15"]
    saved = load_file(tmp_path / "o" / "model.safetensors")
    best = load_file(tmp_path / "o" / "checkpoints" / "checkpoint-6" / "model.safetensors")
    last = load_file(tmp_path / "o" / "checkpoints" / "checkpoint-15" / "model.safetensors")
    assert saved.keys() == best.keys() and all((saved[k] == best[k]).all() for k in saved)  # the best's weights
    assert not all((saved[k] == last[k]).all() for k in saved)
    assert json.loads((tmp_path / "o" / "simulacra-train.json").read_text())["best_checkpoint"] == info["best_checkpoint"]
    assert any("lowest evaluation loss" in s for s in said)
    err = capfd.readouterr().err
    assert "SFT seed 0: step 15/15 · loss " in err and " · ETA 0:00:00" in err  # throttled: the last step only
    assert "step 2/15" not in err
    assert err.count(" · eval loss ") == 8


def test_without_evaluation_the_newest_are_kept(tmp_path, tiny_model, tiny_api_path, fast_settings, write_rows):
    from simulacra.text.calls import load_api
    from simulacra.train.sft import train_sft

    settings = replace(fast_settings, epochs=2, save_steps=2)  # 8 rows, batch 2: 8 steps; default keep: 2
    with load_api(tiny_api_path) as api:
        info = train_sft(write_rows(tmp_path / "c.jsonl", ROWS), base=tiny_model, output=tmp_path / "o", api=api,
                         settings=settings, progress=False)[0]
    assert info["checkpoints"] == ["checkpoint-6", "checkpoint-8"] and "eval_losses" not in info
    assert _folders(tmp_path / "o" / "checkpoints") == ["checkpoint-6", "checkpoint-8"]


def test_bad_evaluation_settings(tmp_path, tiny_model, tiny_api_path, fast_settings, write_rows):
    from simulacra.text.calls import load_api
    from simulacra.train.dpo import dpo_settings
    from simulacra.train.sft import train_sft

    with load_api(tiny_api_path) as api, pytest.raises(InputError, match="leaves none to train on"):
        train_sft(write_rows(tmp_path / "c.jsonl", ROWS[:1]), base=tiny_model, output=tmp_path / "o", api=api,
                  settings=replace(fast_settings, eval_share=0.5), progress=False)
    with pytest.raises(InputError, match="SFT only"):
        dpo_settings(replace(fast_settings, eval_share=0.1))
    with pytest.raises(InputError, match="keep_checkpoints"):
        loop.checkpoint_keeper(replace(fast_settings, keep_checkpoints=-1))


def test_resume_after_pruning_keeps_the_whole_run_s_evaluation(tmp_path, tiny_model, tiny_api_path, fast_settings,
                                                                write_rows, monkeypatch):
    """Stopped (Ctrl-C) after pruning, the newest and the best checkpoint are left; the resumed run picks the
    best over the whole run, and its manifest lists the evaluations from before the stop too (it once listed
    only those after it, beside a best checkpoint from before)."""
    import signal

    import torch
    from trl import SFTTrainer

    from simulacra.errors import SimulacraError
    from simulacra.text.calls import load_api
    from simulacra.train.sft import train_sft

    real_step = SFTTrainer.prediction_step

    def scripted(self, model, inputs, prediction_loss_only, ignore_keys=None):
        loss, logits, labels = real_step(self, model, inputs, prediction_loss_only, ignore_keys)
        return torch.tensor(_scripted_eval_loss(self.state.global_step)), logits, labels

    monkeypatch.setattr(SFTTrainer, "prediction_step", scripted)
    keeper = loop.checkpoint_keeper

    def keeper_pressing_ctrl_c(settings):  # Ctrl-C once, at step 8 (the stop comes at the next step's end)
        inner = keeper(settings)
        own = inner.on_step_end

        def on_step_end(args, state, control, **kw):
            if state.global_step == 8:
                signal.raise_signal(signal.SIGINT)
            return own(args, state, control, **kw)

        inner.on_step_end = on_step_end
        return inner

    settings = replace(fast_settings, epochs=5, save_steps=2, keep_checkpoints=1, eval_share=0.25)
    data, out = write_rows(tmp_path / "c.jsonl", ROWS), tmp_path / "o"
    with load_api(tiny_api_path) as api:
        monkeypatch.setattr(loop, "checkpoint_keeper", keeper_pressing_ctrl_c)
        with pytest.raises(SimulacraError, match="--resume"):
            train_sft(data, base=tiny_model, output=out, api=api, settings=settings, progress=False)
        stopped = _folders(out / "checkpoints")
        assert stopped[0] == "checkpoint-6" and len(stopped) == 2  # the best, and the newest for resuming
        monkeypatch.setattr(loop, "checkpoint_keeper", keeper)
        info = train_sft(data, base=tiny_model, output=out, api=api, settings=settings, progress=False, resume=True)[0]
    assert info["resumed_from"].endswith(stopped[1]) and info["steps"] == 15
    assert [s for s, _ in info["eval_losses"]] == [2, 4, 6, 8, 10, 12, 14, 15]
    assert info["best_checkpoint"] == "checkpoint-6" and info["checkpoints"] == ["checkpoint-6", "checkpoint-15"]
