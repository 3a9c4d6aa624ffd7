"""Where training and decoding run: the device choice, what it changes in the trainer's arguments, and the
batched sampling a GPU uses (exercised here on the CPU with the tiny model)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from simulacra.errors import InputError


def test_device_defaults_to_the_cpu_without_a_gpu_and_refuses_what_it_cannot_use(monkeypatch):
    import torch

    from simulacra.text.backends.hf import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == resolve_device("auto") == resolve_device("cpu") == "cpu"
    with pytest.raises(InputError, match="sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(InputError, match="cpu, cuda or cuda:N"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device(None) == "cuda" and resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(InputError, match="sees 2 CUDA GPU"):  # a GPU that is not there
        resolve_device("cuda:2")


def test_trainer_arguments_follow_the_device(monkeypatch, tmp_path, fast_settings):
    import torch

    from simulacra.train.loop import settings_dict, shares_prompt, trainer_args

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cpu = trainer_args(replace(fast_settings, bf16=None), tmp_path)
    # on a CPU the shared prompt is run once per batch, which needs the activations kept
    assert cpu["use_cpu"] is True and cpu["gradient_checkpointing"] is False and shares_prompt(fast_settings)
    unshared = replace(fast_settings, share_prompt=False)
    assert trainer_args(unshared, tmp_path)["gradient_checkpointing"] is True and not shares_prompt(unshared)
    checkpointed = replace(fast_settings, gradient_checkpointing=True)
    assert trainer_args(checkpointed, tmp_path)["gradient_checkpointing"] is True and not shares_prompt(checkpointed)
    assert settings_dict(fast_settings)["device"] == "cpu" and settings_dict(fast_settings)["share_prompt"] is True
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    gpu = trainer_args(replace(fast_settings, bf16=None), tmp_path)
    assert gpu["use_cpu"] is False and gpu["gradient_checkpointing"] is False and gpu["bf16"] is True
    assert not shares_prompt(fast_settings) and shares_prompt(replace(fast_settings, share_prompt=True))
    assert settings_dict(fast_settings)["device"] == "cuda"


def test_dpo_never_shares_the_prompt_and_keeps_checkpointing_on_cpu(monkeypatch, tmp_path, tuned_tiny, tiny_api_path,
                                                                    fast_settings, write_rows):
    import json

    import torch

    from simulacra.text.calls import load_api
    from simulacra.train.dpo import train_dpo

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    folder, _ = tuned_tiny
    pair = {"request": "Add 3 and 4.", "chosen": '<tool_call>{"name": "add", "arguments": {"a": 3, "b": 4}}</tool_call>',
            "rejected": "None of the available functions can do that."}
    out = tmp_path / "dpo"
    with load_api(tiny_api_path) as api:
        train_dpo(write_rows(tmp_path / "p.jsonl", [pair]), base=folder, output=out, api=api,
                  settings=replace(fast_settings, epochs=1, lora=True), progress=False)
    recorded = json.loads((out / "simulacra-train.json").read_text())["settings"]
    assert recorded["share_prompt"] is False and recorded["gradient_checkpointing"] is True


def test_batched_sampling_answers_every_request_reproducibly(tiny_model: Path, tiny_api_path):
    from simulacra.text.backends.hf import TransformersBackend
    from simulacra.text.calls import load_api
    from simulacra.text.types import ChatRequest
    from simulacra.train.data import call_messages

    with load_api(tiny_api_path) as api:
        reqs = [ChatRequest(messages=tuple(call_messages(api, text)), temperature=0.9, max_tokens=8, seed=s)
                for s, text in enumerate(["Add 3 and 4.", "Say hello to Ann.", "What is the weather?"])]
    backend = TransformersBackend(tiny_model, device="cpu", batch_size=2, n_threads=1)
    assert backend.device == "cpu" and backend.batch_sampled is False and backend.prefix_cache is True
    backend.batch_sampled, backend.prefix_cache = True, False  # what a GPU does: sampled requests in batches
    seen: list[int] = []
    first = backend.complete(reqs, on_result=lambda i, c: seen.append(i))
    again = backend.complete(reqs)
    backend.close()
    assert sorted(seen) == [0, 1, 2] and len(first) == 3 and all(c.error is None for c in first)
    assert [c.text for c in first] == [c.text for c in again]  # each batch is seeded by its first request


def test_shared_prompt_gives_the_same_loss_and_gradients(tmp_path, tiny_model, tiny_api_path, rows):
    """Running the batch's common start once (its keys and values reused by every row) is the same computation
    as running every full row: same loss, same gradients."""
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from simulacra.text.backends.hf import load_causal_lm
    from simulacra.text.calls import load_api
    from simulacra.train.data import sft_example
    from simulacra.train.shared import MIN_SHARED, shared_length, sharing_trainer, split_inputs

    with load_api(tiny_api_path) as api:
        examples = [sft_example(r, "test", api) for r in rows * 2]  # 4 rows under the same system prompt
    config = SFTConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, use_cpu=True, report_to="none",
                       completion_only_loss=True, gradient_checkpointing=False, max_length=512, bf16=False)
    results = []
    for cls in (SFTTrainer, sharing_trainer(SFTTrainer)):
        model, tokenizer = load_causal_lm(tiny_model)
        trainer = cls(model=model, args=config, train_dataset=Dataset.from_list(examples), processing_class=tokenizer)
        batch = dict(next(iter(trainer.get_train_dataloader())))
        trainer.model.train()
        loss = trainer.compute_loss(trainer.model, dict(batch))
        loss.backward()
        grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
        results.append((float(loss.detach()), grads, batch))
    (plain, g1, batch), (shared, g2, _) = results
    n = shared_length(batch["input_ids"], batch["attention_mask"], batch["labels"])
    assert n >= MIN_SHARED and (batch["labels"][:, : n + 1] == -100).all()  # no trained token inside the shared start
    assert trainer.saved_tokens == n * 3 and trainer.row_tokens == batch["input_ids"].numel()
    assert shared == pytest.approx(plain, rel=1e-5)
    assert g1.keys() == g2.keys() and all(torch.allclose(g1[k], g2[k], atol=1e-6) for k in g1)
    one = {k: v[:1] for k, v in batch.items()}  # a single row: nothing to share
    assert split_inputs(trainer.model, one) is None
