"""What SFT and DPO share: settings, LoRA, progress with an ETA, a clean stop on Ctrl-C, resuming, and
writing the tuned model as a plain Hugging Face folder that every text command can load.

A run writes its checkpoints under ``<output>/checkpoints`` (with the run's settings in ``run.json``) and
keeps the newest ``keep_checkpoints`` of them, and the best by evaluation loss when rows are held out for
evaluation (``eval_share``, SFT). The first Ctrl-C (SIGINT) lets the current optimiser step finish, saves a
checkpoint and stops with a :class:`TrainingInterrupted` saying how to resume; a second one interrupts at once.
``resume=True`` continues from the newest checkpoint, after checking that the data and settings are the same.
When the run ends the LoRA adapter is merged into the base (with evaluation: the best checkpoint's, the end
of the run evaluated too) and the model is saved to ``<output>`` (``config.json``, safetensors, the tokenizer
with its chat template, and ``simulacra-train.json``: what was trained, on what, how long, peak memory, the
evaluation losses and the checkpoints kept). Progress is a rich bar on a terminal, and plain lines (step,
loss, elapsed, ETA; at most every :data:`PLAIN_EVERY_S` seconds) where stderr is not one (CI logs, nohup).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from simulacra.errors import InputError, SimulacraError
from simulacra.text.types import stable_hash

MANIFEST = "simulacra-train.json"
#: seconds between two plain progress lines where stderr is not a terminal (the last step is always shown)
PLAIN_EVERY_S = 30.0


class TrainingInterrupted(SimulacraError):
    """Training was stopped (Ctrl-C); a checkpoint was saved and ``--resume`` continues from it."""


@dataclass
class TrainSettings:
    """How to train (SFT and DPO alike); every field is recorded in the run's manifest."""

    lora: bool = True
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    seed: int = 0
    save_steps: int = 25
    #: the newest checkpoints kept, during the run and after it (with evaluation, the best is kept besides);
    #: 0 removes them when the run ends (the newest is still kept while training, for resuming)
    keep_checkpoints: int = 2
    #: share of the rows held out (the same rows for every seed) to compute an evaluation loss at each
    #: checkpoint; the saved model is then the best checkpoint's (SFT only; 0: no evaluation)
    eval_share: float = 0.0
    threads: int | None = None
    scheduler: str = "cosine"
    #: bfloat16 mixed precision; None: on where the CPU has bfloat16 matrix units (AMX or AVX512-BF16), which
    #: measured 5.6x faster than float32 for the 135M model's matrix shapes here
    bf16: bool | None = None
    beta: float = 0.1  # DPO only
    #: ``cpu``, ``cuda`` (or ``cuda:N``), or None: a CUDA GPU when torch sees one, else the CPU
    device: str | None = None
    #: run the start that every row of a batch shares (the function-calling system prompt) once per batch
    #: (:mod:`simulacra.train.shared`; SFT only); None: on for the CPU, off on a GPU
    share_prompt: bool | None = None
    #: recompute activations in the backward pass (less memory, about a third more compute; it rules out sharing
    #: the prompt); None: off where the prompt is shared and on a GPU, on otherwise
    gradient_checkpointing: bool | None = None
    #: run the language-model head and the loss at the trained positions only (:mod:`simulacra.train.lean`; SFT
    #: only; DPO records it off); None: on for the CPU (on a GPU trl's fused head already skips the other positions)
    label_only_loss: bool | None = None
    #: keep LoRA's frozen base weights in bfloat16 while training under bfloat16 autocast (the same products, half
    #: the memory; restored to float32 before merging; SFT only); None: on for LoRA on the CPU when bf16 is on
    frozen_bf16: bool | None = None
    #: pad every batch to a multiple of this many tokens (so matrix shapes repeat; see :mod:`simulacra.train.lean`;
    #: SFT only); None: 16 on the CPU, no padding beyond the longest row on a GPU
    pad_to_multiple_of: int | None = None


def peak_memory_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def lora_config(settings: TrainSettings) -> Any:
    """The peft LoRA configuration: every attention and MLP projection of a Llama-style model."""
    from peft import LoraConfig

    return LoraConfig(r=settings.rank, lora_alpha=settings.alpha, lora_dropout=settings.dropout, bias="none",
                      task_type="CAUSAL_LM",
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])


def gpu_memory() -> dict[str, Any]:
    """``{"gpu": name, "gpu_peak_memory_mb": ...}`` when torch has used a CUDA GPU in this process, else ``{}``."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return {}
    return {"gpu": torch.cuda.get_device_name(), "gpu_peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}


def trainer_args(settings: TrainSettings, checkpoints: Path) -> dict[str, Any]:
    """The ``TrainingArguments`` fields shared by SFTConfig and DPOConfig (no reporting, bounded)."""
    resolved = settings_dict(settings)
    on_cpu = resolved["device"] == "cpu"
    return {"gradient_checkpointing": resolved["gradient_checkpointing"], "output_dir": str(checkpoints),
            "per_device_train_batch_size": settings.batch_size,
            "gradient_accumulation_steps": settings.grad_accum, "num_train_epochs": settings.epochs,
            "max_steps": settings.max_steps, "learning_rate": settings.learning_rate, "seed": settings.seed,
            "data_seed": settings.seed, "logging_steps": 1, "save_strategy": "steps", "save_steps": settings.save_steps,
            "save_total_limit": None, "report_to": "none", "use_cpu": on_cpu, "disable_tqdm": True,
            "dataloader_num_workers": 0, "bf16": resolved["bf16"], "lr_scheduler_type": settings.scheduler, "warmup_steps": 0.03, "max_length": settings.max_length,
            **(_eval_args(settings) if settings.eval_share > 0 else {})}


def _eval_args(settings: TrainSettings) -> dict[str, Any]:
    """Evaluation at every checkpoint, the best by evaluation loss loaded at the end (the pruning of
    :func:`checkpoint_keeper` replaces the trainer's own ``save_total_limit``)."""
    return {"eval_strategy": "steps", "eval_steps": settings.save_steps, "per_device_eval_batch_size": settings.batch_size,
            "metric_for_best_model": "eval_loss", "greater_is_better": False, "load_best_model_at_end": True,
            "prediction_loss_only": True}


def hold_out(rows: list[Any], share: float) -> tuple[list[Any], list[Any]]:
    """``(train, evaluation)``: ``share`` of ``rows`` (at least one) held out, the same ones whatever the seed.

    >>> hold_out(list(range(10)), 0.2)
    ([0, 1, 2, 3, 5, 7, 8, 9], [4, 6])
    >>> hold_out([1, 2], 0.0)
    ([1, 2], [])
    """
    if not 0 <= share < 1:
        raise InputError(f"The evaluation share must be from 0 to below 1, got {share}")
    if share == 0:
        return list(rows), []
    import numpy as np

    n_eval = max(1, round(share * len(rows)))
    if n_eval >= len(rows):
        raise InputError(f"Holding out {share:.0%} of {len(rows)} row(s) for evaluation leaves none to train on; "
                         "lower --eval-share or give more rows")
    held = set(np.random.default_rng(0).permutation(len(rows))[:n_eval].tolist())
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]


def shares_prompt(settings: TrainSettings) -> bool:
    """Whether SFT runs each batch's shared start once (see :attr:`TrainSettings.share_prompt`)."""
    if settings.share_prompt is not None:
        return settings.share_prompt and settings.gradient_checkpointing is not True
    return _on_cpu(settings) and settings.gradient_checkpointing is not True


def _on_cpu(settings: TrainSettings) -> bool:
    """Whether the run trains on the CPU (the default of the CPU-only memory savings below)."""
    from simulacra.text.backends.hf import resolve_device

    return resolve_device(settings.device) == "cpu"


def pad_multiple(settings: TrainSettings) -> int | None:
    """What batches are padded to a multiple of (see :attr:`TrainSettings.pad_to_multiple_of`)."""
    from simulacra.train.lean import PAD_MULTIPLE

    if settings.pad_to_multiple_of is not None:
        return settings.pad_to_multiple_of if settings.pad_to_multiple_of > 1 else None
    return PAD_MULTIPLE if _on_cpu(settings) else None


def label_only(settings: TrainSettings) -> bool:
    """Whether SFT computes the head and the loss at the trained positions only (see
    :attr:`TrainSettings.label_only_loss`)."""
    return settings.label_only_loss if settings.label_only_loss is not None else _on_cpu(settings)


def frozen_bf16(settings: TrainSettings) -> bool:
    """Whether LoRA's frozen weights are kept in bfloat16 (see :attr:`TrainSettings.frozen_bf16`); never without
    LoRA or without bfloat16 autocast, where it would change the computation."""
    bf16 = bf16_default(settings.device) if settings.bf16 is None else settings.bf16
    if not (settings.lora and bf16):
        return False
    return settings.frozen_bf16 if settings.frozen_bf16 is not None else _on_cpu(settings)


def bf16_default(device: str | None = None) -> bool:
    """Whether to train in bfloat16 mixed precision: on a GPU that supports it, or on a CPU that computes in
    bfloat16 natively (AMX tiles or AVX512-BF16)."""
    import torch

    from simulacra.text.backends.hf import resolve_device

    if resolve_device(device) != "cpu":
        return bool(torch.cuda.is_bf16_supported())

    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    avx = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    return bool(amx() or avx())


class PlainProgress:
    """Progress as plain lines on stderr, for a log rather than a terminal: step, loss, elapsed time and ETA,
    at most every :data:`PLAIN_EVERY_S` seconds and at the last step; an evaluation loss whenever there is one.
    """

    def __init__(self, label: str, first_step: int, total: int) -> None:
        self.label, self.first, self.total = label, first_step, total
        self.start = self.last = time.monotonic()
        self.say(f"{label}: {total - first_step} steps to go (of {total})")

    def say(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def step(self, step: int, loss: float | None) -> None:
        now = time.monotonic()
        if step < self.total and now - self.last < PLAIN_EVERY_S:
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed / max(step - self.first, 1) * (self.total - step)
        shown = "" if loss is None else f" · loss {loss:.4f}"
        self.say(f"{self.label}: step {step}/{self.total}{shown} · {_clock(elapsed)} elapsed · ETA {_clock(eta)}")


def _clock(seconds: float) -> str:
    """``H:MM:SS``.

    >>> _clock(3725.4)
    '1:02:05'
    """
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def callbacks(label: str, show: bool) -> tuple[Any, Any]:
    """``(progress, stopper)`` trainer callbacks: progress with loss and ETA (a rich bar on a terminal, plain
    lines in a log), which also records the losses, and the Ctrl-C stop."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.bar: Any = None
            self.task: Any = None
            self.plain: PlainProgress | None = None
            self.losses: list[float] = []
            self.eval_loss: float | None = None  # the latest, for the bar

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if not show:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

            console = Console(stderr=True)
            if not console.is_terminal:  # a log: a bar would show only when it stops
                self.plain = PlainProgress(label, state.global_step, state.max_steps)
                return
            self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), "ETA", TimeRemainingColumn(), console=console)
            self.task = self.bar.add_task(label, total=state.max_steps, completed=state.global_step)
            self.bar.start()

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))
                if self.bar is not None:
                    self.bar.update(self.task, description=f"{label} · loss {logs['loss']:.3f}{self._eval()}")
            if logs and "eval_loss" in logs:
                self.eval_loss = float(logs["eval_loss"])
                if self.plain is not None:
                    self.plain.say(f"{label}: step {state.global_step} · eval loss {logs['eval_loss']:.4f}")

        def _eval(self) -> str:
            return "" if self.eval_loss is None else f" · eval {self.eval_loss:.3f}"

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.update(self.task, completed=state.global_step)
            if self.plain is not None:
                self.plain.step(state.global_step, self.losses[-1] if self.losses else None)

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.stop()
                self.bar = None

    class Stopper(TrainerCallback):  # type: ignore[misc]
        requested = False
        step = 0

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.step = state.global_step
            if self.requested:
                control.should_save = True
                control.should_training_stop = True

    return Progress(), Stopper()


@contextlib.contextmanager
def stop_on_sigint(stopper: Any) -> Iterator[None]:
    """The first SIGINT asks ``stopper`` to save and stop after the current step; the second interrupts."""
    def handler(signum: int, frame: Any) -> None:
        if stopper.requested:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        stopper.requested = True
        print("\nStopping after this step and saving a checkpoint (Ctrl-C again to abort at once)...",
              file=sys.stderr, flush=True)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: no signal handling, a KeyboardInterrupt stays one
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _checkpoints(folder: Path) -> list[Path]:
    """The ``checkpoint-N`` folders, oldest (smallest N) first."""
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def last_checkpoint(checkpoints: Path) -> Path | None:
    """The newest ``checkpoint-N`` folder, or None."""
    found = _checkpoints(checkpoints)
    return found[-1] if found else None


def prune_checkpoints(folder: Path, keep: int, best: str | Path | None = None) -> list[str]:
    """Remove all but the ``keep`` newest checkpoints and ``best``; the names kept, oldest first."""
    found = _checkpoints(folder)
    kept = {p.name for p in found[len(found) - keep:]} if keep > 0 else set()
    if best is not None:
        kept.add(Path(best).name)
    for p in found:
        if p.name not in kept:
            shutil.rmtree(p, ignore_errors=True)
    return [p.name for p in found if p.name in kept]


def checkpoint_keeper(settings: TrainSettings) -> Any:
    """A trainer callback that prunes the checkpoints after each save (the newest ``keep_checkpoints``, at least
    one for resuming, and the best by evaluation loss), and with evaluation evaluates and saves the last step too,
    so that the best is chosen over the whole run."""
    from transformers import TrainerCallback

    if settings.keep_checkpoints < 0:
        raise InputError(f"keep_checkpoints must be 0 or more, got {settings.keep_checkpoints}")

    class Keeper(TrainerCallback):  # type: ignore[misc]
        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if settings.eval_share > 0 and state.global_step >= state.max_steps:
                control.should_evaluate = control.should_save = True

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            prune_checkpoints(Path(args.output_dir), max(1, settings.keep_checkpoints), state.best_model_checkpoint)

    return Keeper()


def prepare_run(output: Path, run: dict[str, Any], resume: bool) -> tuple[Path, Path | None]:
    """The checkpoint folder and the checkpoint to resume from (None: start from the beginning, also when
    ``resume`` finds nothing saved yet); refuses to overwrite a model or to resume a different run."""
    checkpoints = output / "checkpoints"
    run_file = checkpoints / "run.json"
    key = stable_hash(run)
    if resume and run_file.is_file():
        if json.loads(run_file.read_text()).get("key") != key:
            raise InputError(f"The checkpoint in {output} is from another run (different data, base or settings); "
                             "give the same arguments as the interrupted run, or remove that folder")
        found = last_checkpoint(checkpoints)
        if found is not None:
            return checkpoints, found
        shutil.rmtree(checkpoints)  # stopped before its first checkpoint: start again
    if (output / MANIFEST).is_file() or last_checkpoint(checkpoints) is not None:
        raise InputError(f"{output} already holds a trained model or a checkpoint; choose another -o, remove it, or "
                         "add --resume to continue an interrupted run")
    checkpoints.mkdir(parents=True, exist_ok=True)
    summary = {k: v for k, v in run.items() if k != "data"}
    run_file.write_text(json.dumps({"key": key, "rows": len(run.get("data", [])), **summary}, indent=2, default=str))
    return checkpoints, None


def run_trainer(trainer: Any, progress: Any, stopper: Any, *, output: Path, resume_from: Path | None,
                manifest: dict[str, Any], tokenizer: Any, before_merge: Callable[[Any], None] | None = None,
                keep_checkpoints: int = 0) -> dict[str, Any]:
    """Train, then merge and save the model to ``output`` (keeping the newest ``keep_checkpoints`` checkpoints
    and the best); raise :class:`TrainingInterrupted` on Ctrl-C. ``before_merge(model)`` runs on the trained model
    before its adapter is merged."""
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the progress bar shows the loss; no dict printed per step
    start, cpu = time.perf_counter(), time.process_time()
    with stop_on_sigint(stopper):
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    if stopper.requested:
        raise TrainingInterrupted(f"Stopped at step {stopper.step}; the checkpoint is in {output / 'checkpoints'}. "
                                  "Run the same command with --resume to continue")
    model = trainer.model
    if before_merge is not None:
        before_merge(model)
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    tmp = output / ".model.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    info = {**manifest, "steps": int(trainer.state.global_step), "seconds": round(time.perf_counter() - start, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1), "load_average": os.getloadavg()[0],
            "resumed_from": str(resume_from) if resume_from else None, "final_loss": progress.losses[-1] if progress.losses else None,
            "losses": progress.losses, "peak_memory_mb": peak_memory_mb(), **gpu_memory(), **_evaluation(trainer.state)}
    best = trainer.state.best_model_checkpoint
    info["checkpoints"] = prune_checkpoints(output / "checkpoints", keep_checkpoints, best if keep_checkpoints else None)
    (tmp / MANIFEST).write_text(json.dumps(info, indent=2, default=str))
    for f in tmp.iterdir():
        os.replace(f, output / f.name)
    tmp.rmdir()
    if not info["checkpoints"]:
        shutil.rmtree(output / "checkpoints", ignore_errors=True)
    return info


def _evaluation(state: Any) -> dict[str, Any]:
    """The evaluation losses of the whole run (from the trainer's log, which a resumed run reloads) and the best
    checkpoint (whose weights the saved model has), for the manifest."""
    losses = [[h["step"], float(h["eval_loss"])] for h in state.log_history if "eval_loss" in h]
    if not losses:
        return {}
    best = state.best_model_checkpoint
    return {"eval_losses": losses, "best_checkpoint": Path(best).name if best else None, "best_eval_loss": state.best_metric}


def seed_folders(path: str | Path) -> list[Path]:
    """The models of a run over several seeds (``seed-N`` sub-folders, by N), or ``[path]`` for one model."""
    p = Path(path)
    found = [d for d in p.glob("seed-*") if d.is_dir() and d.name[5:].isdigit() and (d / "config.json").is_file()]
    return sorted(found, key=lambda d: int(d.name[5:])) if found else [p]


def for_seeds(output: Path, seeds: list[int], train_one: Callable[[Path, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``train_one(folder, seed)`` per seed: ``output`` itself for one seed, ``output/seed-N`` for several."""
    if not seeds:
        raise InputError("Give at least one training seed")
    if len(seeds) == 1:
        return [train_one(output, seeds[0])]
    return [train_one(output / f"seed-{s}", s) for s in seeds]


def settings_dict(settings: TrainSettings) -> dict[str, Any]:
    """The settings as recorded, with ``bf16`` resolved to what the run used."""
    from simulacra.text.backends.hf import resolve_device

    device = resolve_device(settings.device)
    checkpointing = settings.gradient_checkpointing
    if checkpointing is None:
        checkpointing = device == "cpu" and not shares_prompt(settings)
    return {**asdict(settings), "bf16": bf16_default(settings.device) if settings.bf16 is None else settings.bf16,
            "device": device, "share_prompt": shares_prompt(settings), "gradient_checkpointing": checkpointing,
            "label_only_loss": label_only(settings), "frozen_bf16": frozen_bf16(settings),
            "pad_to_multiple_of": pad_multiple(settings)}


__all__ = ["MANIFEST", "PLAIN_EVERY_S", "PlainProgress", "TrainSettings", "TrainingInterrupted", "callbacks",
           "checkpoint_keeper", "for_seeds", "frozen_bf16", "gpu_memory", "hold_out", "label_only", "last_checkpoint",
           "lora_config", "pad_multiple", "peak_memory_mb", "prepare_run", "prune_checkpoints", "run_trainer",
           "seed_folders", "shares_prompt", "stop_on_sigint", "trainer_args"]
