"""Training on CPU or a CUDA GPU: supervised fine-tuning and DPO with LoRA (transformers, peft, trl), from the
embedded GGUF model or any Hugging Face folder, and preference pairs labelled by the function-calling verifiers.

Only the ``train`` extra imports this part's heavy libraries, inside the functions that need them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TrainSettings", "TrainingInterrupted", "make_pairs", "train_dpo", "train_sft"]


def __getattr__(name: str) -> Any:
    if name in ("TrainSettings", "TrainingInterrupted"):
        from simulacra.train import loop

        return getattr(loop, name)
    if name == "train_sft":
        from simulacra.train.sft import train_sft

        return train_sft
    if name == "train_dpo":
        from simulacra.train.dpo import train_dpo

        return train_dpo
    if name == "make_pairs":
        from simulacra.train.pairs import make_pairs

        return make_pairs
    raise AttributeError(f"module 'simulacra.train' has no attribute {name!r}")
