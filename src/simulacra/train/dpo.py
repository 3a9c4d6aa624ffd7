"""Preference tuning (DPO, LoRA by default) with trl's ``DPOTrainer``, on CPU or a CUDA GPU.

The reference model is the base itself with the adapter switched off (peft), so only one copy of the
weights is in memory. A base trained over several seeds (``tuned/seed-N``) gives one DPO model per seed
(``tuned-dpo/seed-N``); pairs with a ``seed`` field (as ``simulacra train pairs`` writes them from each
seed's own answers) train that seed's model only.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from simulacra.errors import InputError
from simulacra.train import loop
from simulacra.train.loop import TrainSettings
from simulacra.train.sft import Say, keep_apart, quiet, split_by_length

DPO_DEFAULTS = TrainSettings(learning_rate=5e-5, beta=0.1)


def train_dpo(pairs: str | Path, *, base: str | Path, output: str | Path, api: Any = None,
              settings: TrainSettings | None = None, resume: bool = False, progress: bool = True,
              say: Say | None = None) -> list[dict[str, Any]]:
    """DPO of ``base`` (a model folder, or a folder of ``seed-N`` models) on the pairs of ``pairs``.

    Returns each model's manifest.
    """
    from simulacra.train.data import pair_example, read_rows

    settings = dpo_settings(settings or DPO_DEFAULTS)
    say = say or (lambda msg: None)
    rows = read_rows(pairs)
    bases = loop.seed_folders(base)
    out = Path(output)
    infos = []
    for folder in bases:
        seed = int(folder.name[5:]) if folder != Path(base) else settings.seed
        mine = [(w, r) for w, r in rows if "seed" not in r or int(r["seed"]) == seed]
        if not mine:
            raise InputError(f"No pair in {pairs} for seed {seed} (the pairs carry a 'seed' field); make pairs "
                             f"from {folder} with simulacra train pairs")
        examples = [pair_example(r, w, api) for w, r in mine]
        target = out if len(bases) == 1 else out / folder.name
        infos.append(_train_one(examples, str(pairs), folder, target, replace(settings, seed=seed), resume, progress, say))
    return infos


def dpo_settings(settings: TrainSettings) -> TrainSettings:
    """``settings`` as DPO runs them: trl's own loss over its own batches, so the SFT-only CPU savings
    (:mod:`simulacra.train.lean`: the label-only loss, frozen weights in bfloat16, padding to a multiple) and
    the shared prompt (chosen and rejected differ) are off, and recorded off in the manifest.

    Asking for one of the savings explicitly is an error rather than silently ignored.

    >>> dpo_settings(TrainSettings(pad_to_multiple_of=16))
    Traceback (most recent call last):
    ...
    simulacra.errors.InputError: pad_to_multiple_of applies to SFT only: DPO computes trl's own loss over its own batches; leave it unset for DPO
    """
    asked = [name for name in ("label_only_loss", "frozen_bf16") if getattr(settings, name)]
    asked += ["pad_to_multiple_of"] if (settings.pad_to_multiple_of or 0) > 1 else []
    if settings.eval_share > 0:
        raise InputError("eval_share applies to SFT only: DPO holds no rows out for evaluation; leave it at 0 for DPO")
    if asked:
        raise InputError(f"{', '.join(asked)} {'applies' if len(asked) == 1 else 'apply'} to SFT only: DPO computes "
                         f"trl's own loss over its own batches; leave {'it' if len(asked) == 1 else 'them'} unset for DPO")
    return replace(settings, share_prompt=False, label_only_loss=False, frozen_bf16=False, pad_to_multiple_of=1)


def _train_one(examples: list[dict[str, Any]], source: str, base: Path, output: Path, settings: TrainSettings,
               resume: bool, progress: bool, say: Say) -> dict[str, Any]:
    if resume and (output / loop.MANIFEST).is_file():
        say(f"{output} is already trained; kept")
        return dict(json.loads((output / loop.MANIFEST).read_text()))
    import torch
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from simulacra.text.backends.hf import hf_folder, load_causal_lm

    quiet()
    torch.set_num_threads(settings.threads or int(os.environ.get("OMP_NUM_THREADS") or 1))
    base_folder = hf_folder(base)
    run = {"kind": "dpo", "base": str(base), "data": examples, "settings": loop.settings_dict(settings)}
    checkpoints, resume_from = loop.prepare_run(output, run, resume)
    model, tokenizer = load_causal_lm(base_folder)
    kept, long = split_by_length(examples, tokenizer, settings.max_length, fields=("chosen", "rejected"))
    keep_apart(long, kept, output, settings.max_length, say)
    config = DPOConfig(**loop.trainer_args(settings, checkpoints), beta=settings.beta)
    bar, stopper = loop.callbacks(f"DPO seed {settings.seed}", progress)
    trainer = DPOTrainer(model=model, ref_model=None, args=config, train_dataset=Dataset.from_list(kept),
                         processing_class=tokenizer, peft_config=loop.lora_config(settings) if settings.lora else None,
                         callbacks=[bar, stopper, loop.checkpoint_keeper(settings)])
    manifest = {"kind": "dpo", "base": str(base), "data": source, "rows": len(kept), "too_long": len(long),
                "settings": loop.settings_dict(settings)}
    info = loop.run_trainer(trainer, bar, stopper, output=output, resume_from=resume_from, manifest=manifest,
                            tokenizer=tokenizer, keep_checkpoints=settings.keep_checkpoints)
    say(f"DPO seed {settings.seed}: {info['steps']} steps in {info['seconds']:.0f} s, peak memory "
        f"{info['peak_memory_mb']:.0f} MB -> {output}")
    return info


__all__ = ["DPO_DEFAULTS", "dpo_settings", "train_dpo"]
