"""Supervised fine-tuning (LoRA by default) with trl's ``SFTTrainer``, on CPU or a CUDA GPU.

The loss is on the assistant's answer only (the rows are in conversational prompt/completion form, see
:mod:`simulacra.train.data`). Rows longer than ``max_length`` tokens are not truncated (that would cut the
target off): they are kept apart in ``<output>/too_long.jsonl``, counted in the manifest and reported. With
``eval_share`` that share of the rows is held out and evaluated at each checkpoint, and the saved model is the
checkpoint with the lowest evaluation loss (see :mod:`simulacra.train.loop`).

>>> from simulacra.train.sft import SFT_DEFAULTS
>>> SFT_DEFAULTS.lora, SFT_DEFAULTS.learning_rate
(True, 0.0002)
"""

from __future__ import annotations

import gc
import json
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from simulacra.errors import InputError
from simulacra.train import loop
from simulacra.train.loop import TrainSettings

SFT_DEFAULTS = TrainSettings()
Say = Callable[[str], None]


def count_tokens(tokenizer: Any, messages: list[dict[str, str]]) -> int:
    """Tokens of ``messages`` under the tokenizer's chat template."""
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def split_by_length(examples: list[dict[str, Any]], tokenizer: Any, max_length: int,
                    fields: tuple[str, ...] = ("completion",)) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(kept, too_long)``: an example is too long when its prompt and any answer field exceed ``max_length``."""
    kept: list[dict[str, Any]] = []
    long: list[dict[str, Any]] = []
    for ex in examples:
        n = max(count_tokens(tokenizer, ex["prompt"] + ex[f]) for f in fields)
        (kept if n <= max_length else long).append(ex if n <= max_length else {**ex, "tokens": n})
    return kept, long


def keep_apart(long: list[dict[str, Any]], kept: list[dict[str, Any]], output: Path, max_length: int, say: Say) -> None:
    """Write the too-long rows beside the model and say so; an error when nothing is left to train on."""
    from simulacra.train.data import write_jsonl

    if not long:
        return
    output.mkdir(parents=True, exist_ok=True)
    write_jsonl(long, output / "too_long.jsonl")
    say(f"{len(long)} of {len(long) + len(kept)} rows are longer than --max-length {max_length} tokens (longest "
        f"{max(r['tokens'] for r in long)}); kept apart in {output / 'too_long.jsonl'}, not trained on")
    if not kept:
        raise InputError(f"Every row is longer than --max-length {max_length} tokens; raise --max-length")


def quiet() -> None:
    """Silence the libraries' advice that does not concern a CPU run (tokenizer fork warnings, pin_memory)."""
    import os

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", message=".*pin_memory.*")
    import datasets
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()


def train_sft(data: str | Path | list[dict[str, Any]], *, base: str | Path = "smollm2-135m", output: str | Path,
              api: Any = None, settings: TrainSettings | None = None, seeds: list[int] | None = None,
              resume: bool = False, progress: bool = True, say: Say | None = None) -> list[dict[str, Any]]:
    """Fine-tune ``base`` on ``data`` and save the merged model(s) to ``output``; returns each seed's manifest.

    Parameters
    ----------
    data : a JSONL file or corpus folder (chat ``messages``, ``prompt``/``completion``, or function-calling
        ``request``/``call`` rows with ``api``), or the examples already loaded.
    base : ``smollm2-135m`` (the embedded GGUF, dequantised), another installed model name, a ``.gguf`` file
        or a Hugging Face model folder.
    seeds : one model per seed; several go to ``output/seed-N`` (the uplift reads them as repeats).
    resume : continue an interrupted run from its last checkpoint (finished seeds are kept).
    """
    from simulacra.train.data import load_sft

    examples = load_sft(data, api) if not isinstance(data, list) else data
    settings = settings or SFT_DEFAULTS
    say = say or (lambda msg: None)
    source = str(data) if not isinstance(data, list) else f"{len(data)} examples"

    def one(folder: Path, seed: int) -> dict[str, Any]:
        return _train_one(examples, source, base, folder, replace(settings, seed=seed), resume, progress, say)

    return loop.for_seeds(Path(output), seeds or [settings.seed], one)


def _train_one(examples: list[dict[str, Any]], source: str, base: str | Path, output: Path, settings: TrainSettings,
               resume: bool, progress: bool, say: Say) -> dict[str, Any]:
    if resume and (output / loop.MANIFEST).is_file():
        say(f"{output} is already trained; kept")
        return dict(json.loads((output / loop.MANIFEST).read_text()))
    import torch
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from simulacra.text.backends.hf import hf_folder, load_causal_lm
    from simulacra.train.lean import (frozen_to_bf16, label_only_trainer, restore_float32, trim_allocator,
                                      trimming_callback)

    quiet()
    torch.set_num_threads(settings.threads or int(__import__("os").environ.get("OMP_NUM_THREADS") or 1))
    base_folder = hf_folder(base)
    run = {"kind": "sft", "base": str(base), "data": examples, "settings": loop.settings_dict(settings)}
    checkpoints, resume_from = loop.prepare_run(output, run, resume)
    model, tokenizer = load_causal_lm(base_folder)
    gc.collect()  # what loading (or dequantising a GGUF file) left behind, handed back before training starts
    trim_allocator()
    kept, long = split_by_length(examples, tokenizer, settings.max_length)
    keep_apart(long, kept, output, settings.max_length, say)
    kept, held = loop.hold_out(kept, settings.eval_share)
    config = SFTConfig(**loop.trainer_args(settings, checkpoints), completion_only_loss=True, packing=False,
                       pad_to_multiple_of=loop.pad_multiple(settings))
    bar, stopper = loop.callbacks(f"SFT seed {settings.seed}", progress)
    trainer_class: Any = SFTTrainer
    if loop.label_only(settings):
        trainer_class = label_only_trainer(trainer_class)
    if loop.shares_prompt(settings):  # outermost: it hands the rows' part of the batch to the loss above
        from simulacra.train.shared import sharing_trainer

        trainer_class = sharing_trainer(trainer_class)
    peft_config = loop.lora_config(settings) if settings.lora else None
    trainer: Any = trainer_class(model=model, args=config, train_dataset=Dataset.from_list(kept),
                                 eval_dataset=Dataset.from_list(held) if held else None,
                                 processing_class=tokenizer, peft_config=peft_config,
                                 callbacks=[bar, stopper, loop.checkpoint_keeper(settings), trimming_callback()])
    lowered = frozen_to_bf16(trainer.model, base_folder) if loop.frozen_bf16(settings) else []
    manifest = {"kind": "sft", "base": str(base), "base_folder": str(base_folder), "data": source, "rows": len(kept),
                "eval_rows": len(held), "too_long": len(long), "settings": loop.settings_dict(settings)}
    info = loop.run_trainer(trainer, bar, stopper, output=output, resume_from=resume_from, manifest=manifest,
                            tokenizer=tokenizer, before_merge=lambda m: restore_float32(m, base_folder, lowered),
                            keep_checkpoints=settings.keep_checkpoints)
    if hasattr(trainer, "saved_tokens"):
        info["prompt_shared"] = {"tokens_run": trainer.row_tokens - trainer.saved_tokens,
                                 "tokens_in_rows": trainer.row_tokens}
    say(f"SFT seed {settings.seed}: {info['steps']} steps in {info['seconds']:.0f} s, final loss "
        f"{info['final_loss'] if info['final_loss'] is None else round(info['final_loss'], 4)}, peak memory "
        f"{info['peak_memory_mb']:.0f} MB -> {output}")
    if "best_checkpoint" in info:
        say(f"SFT seed {settings.seed}: the saved model is {info['best_checkpoint']}'s, the lowest evaluation loss "
            f"({info['best_eval_loss']:.4f} on {len(held)} held-out rows)")
    if info["checkpoints"]:
        say(f"SFT seed {settings.seed}: checkpoints kept in {output / 'checkpoints'}: {', '.join(info['checkpoints'])}")
    return info


__all__ = ["SFT_DEFAULTS", "keep_apart", "quiet", "split_by_length", "train_sft"]
