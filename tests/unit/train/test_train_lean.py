"""Training in bounded memory on a CPU: the head and the loss at the trained positions only (the same loss and
gradients as trl's own), alone and under the shared prompt, and the allocator handed back its free memory."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest


def _loss_and_grads(trainer_class, tiny_model, examples, tmp_path, bf16=False):  # type: ignore[no-untyped-def]
    from datasets import Dataset
    from trl import SFTConfig

    from simulacra.text.backends.hf import load_causal_lm

    config = SFTConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, use_cpu=True, report_to="none",
                       completion_only_loss=True, gradient_checkpointing=False, max_length=512, bf16=bf16)
    model, tokenizer = load_causal_lm(tiny_model)
    trainer = trainer_class(model=model, args=config, train_dataset=Dataset.from_list(examples), processing_class=tokenizer)
    batch = dict(next(iter(trainer.get_train_dataloader())))
    trainer.model.train()
    items = (batch["labels"][:, 1:] != -100).sum()
    loss = trainer.compute_loss(trainer.model, dict(batch), num_items_in_batch=items)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    return float(loss.detach()), grads, trainer, batch


@pytest.fixture
def examples(tiny_api_path, rows):  # type: ignore[no-untyped-def]
    from simulacra.text.calls import load_api
    from simulacra.train.data import sft_example

    with load_api(tiny_api_path) as api:
        return [sft_example(r, "test", api) for r in rows * 2]  # 4 rows under the same system prompt


def test_label_only_loss_equals_the_full_loss_row_by_row_and_shared(tmp_path, tiny_model, examples):
    """The head run at the trained positions only gives trl's loss and gradients, both when every row is run
    whole and when the shared prompt is run once; and it never projects an untrained position."""
    import torch
    from trl import SFTTrainer

    from simulacra.train import lean
    from simulacra.train.shared import sharing_trainer

    plain, g_plain, _, batch = _loss_and_grads(SFTTrainer, tiny_model, examples, tmp_path / "a")
    variants = {"label only": lean.label_only_trainer(SFTTrainer),
                "shared + label only": sharing_trainer(lean.label_only_trainer(SFTTrainer))}
    projected: list[int] = []
    original = lean.label_only_loss

    def counting(model, inputs, num_items_in_batch=None):  # type: ignore[no-untyped-def]
        head = lean.causal_model(model).get_output_embeddings()
        hook = head.register_forward_hook(lambda m, i, o: projected.append(int(i[0].shape[0])))
        try:
            return original(model, inputs, num_items_in_batch)
        finally:
            hook.remove()

    lean.label_only_loss = counting  # type: ignore[assignment]
    try:
        for name, cls in variants.items():
            loss, grads, trainer, _ = _loss_and_grads(cls, tiny_model, examples, tmp_path / name)
            assert loss == pytest.approx(plain, rel=1e-5), name
            assert grads.keys() == g_plain.keys(), name
            assert all(torch.allclose(grads[k], g_plain[k], atol=1e-6) for k in grads), name
            metrics = trainer._metrics["train"]
            assert 0 <= metrics["mean_token_accuracy"][-1] <= 1 and metrics["entropy"][-1] > 0, name
    finally:
        lean.label_only_loss = original  # type: ignore[assignment]
    trained = int((batch["labels"][:, 1:] != -100).sum())
    padded = -(-trained // lean.HEAD_ROWS_MULTIPLE) * lean.HEAD_ROWS_MULTIPLE  # rows padded so shapes repeat
    assert projected == [padded, padded]  # the trained positions only (and padding), in both variants
    assert trained < padded < batch["labels"].numel() / 3


def test_the_backbone_runs_under_the_trainers_mixed_precision(tmp_path, tiny_model, examples):
    """The backbone is called directly (not through the model's autocast-wrapped forward): it must still compute
    in bfloat16 when the trainer does, both for the shared start and for the rows."""
    import torch
    from trl import SFTTrainer

    from simulacra.train import lean
    from simulacra.train.shared import sharing_trainer

    seen: list[torch.dtype] = []
    original = lean.backbone

    def watched(model):  # type: ignore[no-untyped-def]
        body = original(model)
        layer = body.layers[0].self_attn.q_proj

        def once(module, args, output) -> None:  # type: ignore[no-untyped-def]
            seen.append(output.dtype)
            hook.remove()

        hook = layer.register_forward_hook(once)
        return body

    lean.backbone = watched  # type: ignore[assignment]
    try:
        loss, _, _, _ = _loss_and_grads(sharing_trainer(lean.label_only_trainer(SFTTrainer)), tiny_model, examples,
                                        tmp_path, bf16=True)
    finally:
        lean.backbone = original  # type: ignore[assignment]
    assert seen == [torch.bfloat16, torch.bfloat16] and loss > 0  # the shared start, then the rows


def test_label_only_is_the_cpu_default_and_recorded(monkeypatch, fast_settings):
    import torch

    from simulacra.train.loop import label_only, settings_dict

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert label_only(fast_settings) and settings_dict(fast_settings)["label_only_loss"] is True
    assert not label_only(replace(fast_settings, label_only_loss=False))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert not label_only(fast_settings) and label_only(replace(fast_settings, label_only_loss=True))


def test_models_with_scaled_logits_keep_trls_loss(tiny_model):
    from simulacra.text.backends.hf import load_causal_lm
    from simulacra.train.lean import supports_label_only

    model, _ = load_causal_lm(tiny_model)
    assert supports_label_only(model)
    model.config.final_logit_softcapping = 30.0  # Gemma-style capping: the plain projection would be wrong
    assert not supports_label_only(model)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's (Linux)")
def test_trim_allocator_hands_free_memory_back():
    import ctypes

    from simulacra.train.lean import trim_allocator

    def rss_kb() -> int:
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1])
        return 0

    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # 2,000 blocks of 64 KB (below glibc's mmap threshold: they live in the heap), every other one kept so
    # that the free ones sit between live ones and the heap cannot simply shrink from its top
    blocks = [libc.malloc(64 * 1024) for _ in range(2000)]
    for b in blocks:
        ctypes.memset(b, 1, 64 * 1024)
    for b in blocks[::2]:
        libc.free(b)
    before = rss_kb()
    assert trim_allocator() is True
    after = rss_kb()
    for b in blocks[1::2]:
        libc.free(b)
    assert before - after > 32 * 1024  # most of the 64 MB freed in the middle came back


def test_frozen_weights_in_bf16_train_the_same_and_merge_from_float32(tmp_path, tiny_model, tiny_api_path, rows,
                                                                       fast_settings, write_rows):
    """Under bf16 autocast, LoRA's frozen weights stored in bfloat16 give the same products; the merged model is
    built from the float32 originals, so it equals the one trained without the option."""
    import torch
    from safetensors.torch import load_file

    from simulacra.text.backends.hf import load_causal_lm
    from simulacra.text.calls import load_api
    from simulacra.train.lean import frozen_to_bf16, restore_float32, weight_files
    from simulacra.train.loop import frozen_bf16
    from simulacra.train.sft import train_sft

    settings = replace(fast_settings, lora=True, bf16=True, epochs=3, learning_rate=1e-3, device="cpu")
    assert frozen_bf16(settings) and not frozen_bf16(replace(settings, bf16=False))
    assert not frozen_bf16(replace(settings, lora=False))
    merged = {}
    with load_api(tiny_api_path) as api:
        for flag in (False, True):
            out = tmp_path / f"bf16-{flag}"
            info = train_sft(write_rows(tmp_path / "r.jsonl", rows * 2), base=tiny_model, output=out, api=api,
                             settings=replace(settings, frozen_bf16=flag), progress=False)
            assert info[0]["settings"]["frozen_bf16"] is flag
            merged[flag] = load_file(str(out / "model.safetensors"))
    assert merged[True].keys() == merged[False].keys()
    assert all(merged[True][k].dtype == torch.float32 for k in merged[True])
    assert all(torch.equal(merged[True][k], merged[False][k]) for k in merged[True])

    from peft import get_peft_model

    from simulacra.train.loop import lora_config

    model = get_peft_model(load_causal_lm(tiny_model)[0], lora_config(settings))
    names = frozen_to_bf16(model, tiny_model)
    assert len(names) == 14 and "model.layers.0.self_attn.q_proj.weight" in names  # 7 projections x 2 layers
    layer = model.get_base_model().model.layers[0].self_attn.q_proj.base_layer
    assert layer.weight.dtype == torch.bfloat16
    restore_float32(model, tiny_model, names)
    original = load_file(str(weight_files(tiny_model)["model.layers.0.self_attn.q_proj.weight"]))
    assert torch.equal(layer.weight, original["model.layers.0.self_attn.q_proj.weight"])
    assert frozen_to_bf16(model, tmp_path) == [] and layer.weight.dtype == torch.float32  # nothing to restore from


def test_cpu_training_uses_repeating_shapes_and_trims_after_every_step(monkeypatch, tmp_path, tiny_model, tiny_api_path,
                                                                       rows, fast_settings, write_rows):
    """By default on CPU, every batch is padded to a multiple of 16 tokens and its shared start cut to one, so
    the matrix shapes repeat (oneDNN keeps a compiled kernel per shape), and the allocator is trimmed each step."""
    import torch

    from simulacra.text.calls import load_api
    from simulacra.train import lean
    from simulacra.train.sft import train_sft

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    starts: list[int] = []
    ends: list[int] = []
    trims: list[int] = []
    original, trim = lean.label_only_loss, lean.trim_allocator

    def watched(model, inputs, num_items_in_batch=None):  # type: ignore[no-untyped-def]
        positions = inputs["position_ids"]  # the rows' part after the shared start
        starts.append(int(positions[0, 0]))
        ends.append(int(positions[0, -1]) + 1)
        return original(model, inputs, num_items_in_batch)

    monkeypatch.setattr(lean, "label_only_loss", watched)
    monkeypatch.setattr(lean, "trim_allocator", lambda: trims.append(1) or True)
    settings = replace(fast_settings, lora=True, epochs=1, max_steps=3, batch_size=2)
    with load_api(tiny_api_path) as api:
        info = train_sft(write_rows(tmp_path / "r.jsonl", rows * 3), base=tiny_model, output=tmp_path / "out", api=api,
                         settings=settings, progress=False)
    assert info[0]["settings"]["pad_to_multiple_of"] == 16 and info[0]["settings"]["label_only_loss"] is True
    assert len(starts) == 3 and all(n % 16 == 0 and n >= 16 for n in starts)
    assert all(end % 16 == 0 for end in ends)
    assert len(trims) >= 3  # after loading, then after every step


def test_trim_allocator_is_a_no_op_without_glibc(monkeypatch):
    from simulacra.train import lean

    monkeypatch.setattr(lean.sys, "platform", "darwin")
    lean._malloc_trim.cache_clear()  # the lookup is cached per process
    try:
        assert lean.trim_allocator() is False
    finally:
        monkeypatch.undo()
        lean._malloc_trim.cache_clear()
