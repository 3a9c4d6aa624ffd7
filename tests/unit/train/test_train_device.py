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
    assert resolve_device(None) == "cuda" and resolve_device("cuda:1") == "cuda:1"


def test_trainer_arguments_follow_the_device(monkeypatch, tmp_path, fast_settings):
    import torch

    from simulacra.train.loop import settings_dict, trainer_args

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cpu = trainer_args(replace(fast_settings, bf16=None), tmp_path)
    assert cpu["use_cpu"] is True and cpu["gradient_checkpointing"] is True  # bounded memory on a CPU
    assert trainer_args(replace(fast_settings, gradient_checkpointing=False), tmp_path)["gradient_checkpointing"] is False
    assert settings_dict(fast_settings)["device"] == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    gpu = trainer_args(replace(fast_settings, bf16=None), tmp_path)
    assert gpu["use_cpu"] is False and gpu["gradient_checkpointing"] is False and gpu["bf16"] is True
    assert settings_dict(fast_settings)["device"] == "cuda"


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
