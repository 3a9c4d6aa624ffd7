"""Training in bounded memory on a CPU: the language-model head and the loss at the trained positions only, and
the allocator's free memory handed back to the system after every step.

**The loss at the trained positions.** An SFT row is mostly prompt (for the demo API, 454 of about 525 tokens),
whose labels are ``-100``: nothing is learnt there, yet projecting every position onto the 49,152-word vocabulary
costs a ``positions x vocabulary`` matrix in the forward pass and again in the backward pass. trl's fused head
skips those positions only where Triton runs (a GPU); on a CPU it projects them all. :func:`label_only_loss` runs
the model's backbone, keeps the hidden states of the positions whose next token is trained, and projects only
those: the same loss and the same gradients (a test checks both), at a fraction of the work and memory.

**The frozen weights in bfloat16.** Under bfloat16 autocast every matrix product casts its float32 weight to
bfloat16, and the backward pass keeps that copy: LoRA's frozen base weights cost their float32 storage plus a
bfloat16 copy per forward pass. :func:`frozen_to_bf16` stores them in bfloat16 once, which autocast then uses as
they are (the same products, bit for bit); :func:`restore_float32` reads the float32 originals back from the
base model's files before the adapter is merged, so the saved model is exactly what it would have been.

**Matrix shapes that repeat.** On a CPU, bfloat16 products run in oneDNN kernels compiled for each matrix
shape and kept (about 1 MB per shape, measured; never given back): a run whose batches all differ in length grows
by some 20 MB a step, gigabytes over an epoch. Batches are therefore padded to a multiple of :data:`PAD_MULTIPLE`
tokens, the shared prompt is cut to a multiple of 16 (:mod:`simulacra.train.shared`), and the head's rows are
padded to a multiple of :data:`HEAD_ROWS_MULTIPLE`, so a whole run uses a few dozen shapes.

**The allocator.** glibc keeps freed memory for reuse; activations of varying sizes leave its heap fragmented, so
the resident memory of a long run creeps up step after step although the live tensors do not grow.
:func:`trim_allocator` (``malloc_trim``) returns the free pages after each step.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from pathlib import Path
from typing import Any

#: the head's rows are padded to a multiple of this: the CPU's matrix kernels (oneDNN) are compiled and kept for
#: every new matrix shape, about 1 MB each, so shapes that never repeat make the memory grow step after step
HEAD_ROWS_MULTIPLE = 64
#: batches are padded to a multiple of this many tokens on the CPU, for the same reason
PAD_MULTIPLE = 16
#: configuration fields of models whose logits are scaled or capped: their loss is left to trl's own head
_SCALED_LOGITS = ("final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier", "logits_scaling")


def causal_model(model: Any) -> Any:
    """The Hugging Face causal LM inside ``model`` (a peft model's base, with its LoRA layers, or the model)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def backbone(model: Any) -> Any:
    """The transformer under the language-model head (``LlamaModel`` for a ``LlamaForCausalLM``)."""
    return causal_model(model).base_model


def supports_label_only(model: Any) -> bool:
    """Whether :func:`label_only_loss` computes exactly the model's loss: a plain linear head, without a bias,
    logit scaling or capping (Llama, SmolLM, Qwen, Mistral...)."""
    causal = causal_model(model)
    config = causal.config.get_text_config() if hasattr(causal.config, "get_text_config") else causal.config
    head = causal.get_output_embeddings()
    return (head is not None and getattr(head, "bias", None) is None and causal.base_model is not causal
            and all(getattr(config, f, None) is None for f in _SCALED_LOGITS))


def label_only_loss(model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None) -> tuple[Any, dict[str, Any]]:
    """``(loss, stats)``: the mean cross-entropy of the trained tokens (labels other than ``-100``), with the head
    run at those positions only; ``stats`` holds ``tokens``, ``entropy_sum`` and ``correct`` (for the metrics).

    ``num_items_in_batch`` (the trained tokens of the whole accumulated batch, as the Trainer counts them) divides
    the summed loss when given, else the batch's own count does, as in trl's SFT loss.
    """
    import torch
    import torch.nn.functional as F

    labels = inputs["labels"]
    forward = {k: v for k, v in inputs.items() if k not in ("labels", "use_cache", "num_items_in_batch")}
    hidden = backbone(model)(**forward, use_cache=False).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != -100
    picked = hidden[:, :-1][keep.to(hidden.device)]
    rows = picked.shape[0]
    padded = -(-rows // HEAD_ROWS_MULTIPLE) * HEAD_ROWS_MULTIPLE  # zero rows, cut off again below
    if padded > rows:
        picked = torch.cat([picked, picked.new_zeros(padded - rows, picked.shape[1])])
    logits = causal_model(model).get_output_embeddings()(picked)[:rows].float()
    wanted = targets[keep].to(logits.device)
    total = F.cross_entropy(logits, wanted, reduction="sum")
    count = keep.sum()
    loss = total / (torch.as_tensor(num_items_in_batch) if num_items_in_batch is not None else count.clamp(min=1))
    with torch.no_grad():
        logp = torch.log_softmax(logits.detach(), dim=-1)
        entropy = -(logp.exp() * logp).sum(dim=-1).sum()
        correct = (logits.detach().argmax(dim=-1) == wanted).sum()
    return loss, {"tokens": count, "entropy_sum": entropy, "correct": correct}


def record_metrics(trainer: Any, inputs: dict[str, Any], stats: dict[str, Any]) -> None:
    """Log what trl's SFT loss logs (entropy, mean token accuracy, tokens seen), from :func:`label_only_loss`."""
    metrics = getattr(trainer, "_metrics", None)
    if metrics is None:
        return
    mode = "train" if trainer.model.training else "eval"
    tokens = int(stats["tokens"])
    metrics[mode]["entropy"].append(float(stats["entropy_sum"]) / tokens if tokens else 0.0)
    metrics[mode]["mean_token_accuracy"].append(int(stats["correct"]) / tokens if tokens else 0.0)
    if mode == "train" and hasattr(trainer, "_total_train_tokens") and "attention_mask" in inputs:
        trainer._total_train_tokens += int(inputs["attention_mask"].sum())
        metrics[mode]["num_tokens"] = [trainer._total_train_tokens]


def label_only_trainer(base: type) -> type:
    """``base`` (trl's ``SFTTrainer`` or a subclass) with the loss of :func:`label_only_loss` while training."""

    class LabelOnlyTrainer(base):  # type: ignore[misc, valid-type]
        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            if return_outputs or not model.training or "labels" not in inputs or not supports_label_only(model):
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            with self.accelerator.autocast():  # what the model's own forward runs under (bf16 mixed precision)
                loss, stats = label_only_loss(model, inputs, num_items_in_batch)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes
            record_metrics(self, inputs, stats)
            return loss

    return LabelOnlyTrainer


def weight_files(folder: str | Path) -> dict[str, Path]:
    """Which safetensors file of a Hugging Face folder holds each weight (``{}`` when it has none)."""
    import json

    from safetensors import safe_open

    root = Path(folder)
    index = root / "model.safetensors.index.json"
    if index.is_file():
        return {k: root / v for k, v in json.loads(index.read_text())["weight_map"].items()}
    single = root / "model.safetensors"
    if not single.is_file():
        return {}
    with safe_open(str(single), "pt") as f:
        return dict.fromkeys(f.keys(), single)


def frozen_to_bf16(model: Any, folder: str | Path) -> list[str]:
    """Store the frozen float32 weights of ``model``'s LoRA-wrapped linear layers in bfloat16, when ``folder`` (the
    base model's files) holds every one of them to restore later; returns their names (none changed otherwise)."""
    import torch

    causal = causal_model(model)
    found = {f"{name}.weight": module.base_layer for name, module in causal.named_modules()
             if isinstance(getattr(module, "base_layer", None), torch.nn.Linear)
             and not module.base_layer.weight.requires_grad and module.base_layer.weight.dtype == torch.float32}
    files = weight_files(folder)
    if not found or any(name not in files for name in found):
        return []
    for layer in found.values():
        layer.weight.data = layer.weight.data.to(torch.bfloat16)
    # The other weights may still be views of the memory-mapped file, which keeps all of it mapped (and the float32
    # pages already read resident): copied, they leave the mapping unreferenced, and it is released.
    lowered = {id(layer.weight) for layer in found.values()}
    for param in causal.parameters():
        if id(param) not in lowered:
            param.data = param.data.clone()
    return list(found)


def restore_float32(model: Any, folder: str | Path, names: list[str]) -> None:
    """Read the weights ``names`` (from :func:`frozen_to_bf16`) back in float32 from ``folder``, one at a time."""
    import torch
    from safetensors import safe_open

    causal, files = causal_model(model), weight_files(folder)
    for name in names:
        layer = causal.get_submodule(name.rsplit(".", 1)[0]).base_layer
        with safe_open(str(files[name]), "pt") as f:
            layer.weight.data = f.get_tensor(name).to(torch.float32)


@functools.cache
def _malloc_trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def trim_allocator() -> bool:
    """Hand the C allocator's free memory back to the system (glibc's ``malloc_trim``); False where there is none."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def trimming_callback() -> Any:
    """A trainer callback that calls :func:`trim_allocator` after every optimiser step."""
    from transformers import TrainerCallback

    class TrimAllocator(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            trim_allocator()

    return TrimAllocator()


__all__ = ["HEAD_ROWS_MULTIPLE", "PAD_MULTIPLE", "backbone", "causal_model", "frozen_to_bf16", "restore_float32", "weight_files", "label_only_loss", "label_only_trainer", "record_metrics", "supports_label_only",
           "trim_allocator", "trimming_callback"]
