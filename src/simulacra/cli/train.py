"""``simulacra train sft|dpo|pairs``: fine-tune a small model on CPU or a CUDA GPU (LoRA), and close the RLAIF loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from simulacra.cli.common import console

train_app = typer.Typer(help="Fine-tune a model on CPU or a CUDA GPU: SFT and DPO with LoRA, preference pairs from the verifiers.",
                        no_args_is_help=True)

Api = Annotated[str | None, typer.Option("--api", help="The tools that made function-calling rows: a .py file, a module name or an OpenAPI file.")]
Output = Annotated[Path, typer.Option("--output", "-o", help="Folder for the tuned model (seed-N sub-folders with several seeds).")]
Lora = Annotated[bool, typer.Option("--lora/--full", help="LoRA adapters (merged at the end) or every weight.")]
Epochs = Annotated[float, typer.Option("--epochs", help="Passes over the data.")]
MaxSteps = Annotated[int, typer.Option("--max-steps", help="Stop after this many optimiser steps (overrides --epochs; -1: off).")]
Batch = Annotated[int, typer.Option("--batch-size", help="Rows per step (memory grows with it).")]
MaxLength = Annotated[int, typer.Option("--max-length", help="Longest row in tokens; longer rows are kept apart, not cut.")]
Rank = Annotated[int, typer.Option("--rank", help="LoRA rank.")]
Threads = Annotated[int | None, typer.Option("--threads", help="torch threads (default: OMP_NUM_THREADS or 1).")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")]
Device = Annotated[str | None, typer.Option("--device", help="cpu, cuda or cuda:N (default: a CUDA GPU when torch sees one, else the CPU).")]
SaveSteps = Annotated[int, typer.Option("--save-steps", help="Save a checkpoint every this many steps.")]
KeepCheckpoints = Annotated[int, typer.Option("--keep-checkpoints", min=0, help="Checkpoints kept in OUTPUT/checkpoints, the newest (and the best by evaluation loss besides); 0: removed at the end.")]


def _seeds(text: str) -> list[int]:
    from simulacra.errors import InputError

    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise InputError(f"--seeds expects integers separated by commas (e.g. 0,1,2), got '{text}'") from None


def _api(source: str | None) -> Any:
    if source is None:
        return None
    from simulacra.text.calls import load_api

    return load_api(source)


def _device(device: str | None) -> str:
    """The device to train on, checked before any data or model is read (a wrong one is a one-line error)."""
    from simulacra.text.backends.hf import resolve_device

    return resolve_device(device)


def _say(msg: str) -> None:
    console.print(msg, highlight=False)


@train_app.command("sft")
def sft(
    data: Annotated[Path, typer.Argument(help="JSONL file or corpus folder: chat messages, prompt/completion, or request/call rows (with --api).")],
    output: Output,
    base: Annotated[str, typer.Option("--base", help="smollm2-135m (the embedded model), another installed model, a .gguf file or a Hugging Face folder.")] = "smollm2-135m",
    api: Api = None,
    lora: Lora = True,
    epochs: Epochs = 1.0,
    max_steps: MaxSteps = -1,
    learning_rate: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 2e-4,
    batch_size: Batch = 4,
    max_length: MaxLength = 1024,
    rank: Rank = 16,
    seeds: Annotated[str, typer.Option("--seeds", help="Training seeds, e.g. 0,1,2: one model each (output/seed-N), the uplift's repeats.")] = "0",
    threads: Threads = None,
    device: Device = None,
    share_prompt: Annotated[bool | None, typer.Option("--share-prompt/--no-share-prompt", help="Run the start every row of a batch shares (the tools' system prompt) once per batch: same result, far fewer tokens (default: on for the CPU).")] = None,
    save_steps: SaveSteps = 25,
    keep_checkpoints: KeepCheckpoints = 2,
    eval_share: Annotated[float, typer.Option("--eval-share", min=0.0, max=0.99, help="Hold out this share of the rows and compute their loss at each checkpoint; the saved model is then the best checkpoint's (0: off).")] = 0.0,
    resume: Resume = False,
) -> None:
    """Supervised fine-tuning; the loss is on the assistant's answer only. Ctrl-C saves a checkpoint."""
    from simulacra.train.loop import TrainSettings
    from simulacra.train.sft import train_sft

    settings = TrainSettings(lora=lora, epochs=epochs, max_steps=max_steps, learning_rate=learning_rate,
                             batch_size=batch_size, max_length=max_length, rank=rank, alpha=2 * rank, threads=threads,
                             save_steps=save_steps, device=_device(device), share_prompt=share_prompt,
                             keep_checkpoints=keep_checkpoints, eval_share=eval_share)
    infos = train_sft(data, base=base, output=output, api=_api(api), settings=settings, seeds=_seeds(seeds),
                      resume=resume, say=_say)
    console.print(f"[green]✓[/green] {len(infos)} model(s) in [bold]{output}[/bold]; use it with --model {output}/"
                  f"{'seed-N' if len(infos) > 1 else ''} or in simulacra uplift llm --models base,{output}")


@train_app.command("dpo")
def dpo(
    pairs: Annotated[Path, typer.Argument(help='JSONL pairs {"prompt" | "request", "chosen", "rejected"} (e.g. from simulacra train pairs).')],
    base: Annotated[str, typer.Option("--base", help="The model to tune (usually the SFT output; its seed-N folders each get DPO).")],
    output: Output,
    api: Api = None,
    lora: Lora = True,
    epochs: Epochs = 1.0,
    max_steps: MaxSteps = -1,
    learning_rate: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 5e-5,
    beta: Annotated[float, typer.Option("--beta", help="DPO temperature: how far from the reference model.")] = 0.1,
    batch_size: Batch = 4,
    max_length: MaxLength = 1024,
    rank: Rank = 16,
    threads: Threads = None,
    device: Device = None,
    save_steps: SaveSteps = 25,
    keep_checkpoints: KeepCheckpoints = 2,
    resume: Resume = False,
) -> None:
    """Direct preference optimisation against the base itself (the adapter switched off as reference)."""
    from simulacra.train.dpo import train_dpo
    from simulacra.train.loop import TrainSettings

    settings = TrainSettings(lora=lora, epochs=epochs, max_steps=max_steps, learning_rate=learning_rate, beta=beta,
                             batch_size=batch_size, max_length=max_length, rank=rank, alpha=2 * rank, threads=threads,
                             save_steps=save_steps, keep_checkpoints=keep_checkpoints, device=_device(device))
    infos = train_dpo(pairs, base=base, output=output, api=_api(api), settings=settings, resume=resume, say=_say)
    console.print(f"[green]✓[/green] {len(infos)} model(s) in [bold]{output}[/bold]")


@train_app.command("pairs")
def pairs(
    data: Annotated[Path, typer.Argument(help="Function-calling rows {request, call} (the corpus, or part of it).")],
    model: Annotated[str, typer.Option("--model", help="The tuned model whose answers are labelled (seed-N folders: each).")],
    api: Annotated[str, typer.Option("--api", help="The tools (the verifiers validate, run and compare the calls).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Pairs JSONL to write.")],
    samples: Annotated[int, typer.Option("--samples", help="Answers sampled per request.")] = 4,
    temperature: Annotated[float, typer.Option("--temperature", help="Sampling temperature.")] = 0.8,
    n: Annotated[int | None, typer.Option("-n", help="Use the first N requests only.")] = None,
    own_only: Annotated[bool, typer.Option("--own-only", help="Only pairs of two model answers (no reference answer as chosen).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
    device: Device = None,
) -> None:
    """Pairs of the model's own answers, chosen/rejected by the verifiers (validates, runs, matches the request)."""
    import json

    from simulacra.train.data import write_jsonl
    from simulacra.train.pairs import make_pairs

    rows, report = make_pairs(model, api, data, samples=samples, temperature=temperature, n=n, seed=seed,
                              own_only=own_only, device=_device(device), progress=_say)
    write_jsonl(rows, output)
    console.print(json.dumps(report, indent=2), highlight=False)
    console.print(f"[green]✓[/green] {len(rows)} pairs from {report['requests']} requests written to [bold]{output}[/bold]")


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
