"""``simulacra evaluate``: fidelity, utility, privacy, bias and validity of a synthetic table."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def evaluate_command(
    real: Path = typer.Argument(..., help="The real table the synthesizer was trained on (CSV, Parquet, JSONL)."),
    synthetic: Path = typer.Argument(..., help="The synthetic table."),
    holdout: Optional[Path] = typer.Option(None, "--holdout", help="Real rows the synthesizer never saw (utility and privacy)."),
    target: Optional[str] = typer.Option(None, "--target", help="Column to predict (utility, bias)."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write every number as JSON here."),
    html_path: Optional[Path] = typer.Option(None, "--html", help="Write the self-contained HTML report here."),
    sensitive: Optional[list[str]] = typer.Option(None, "--sensitive", help="A sensitive column for the bias section (repeatable)."),
    secret: Optional[str] = typer.Option(None, "--secret", help="A column to attack with attribute inference."),
    metadata: Optional[Path] = typer.Option(None, "--metadata", help="Metadata JSON (column types, constraints)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every sample and model."),
) -> None:
    """Evaluate a synthetic table against the real one: numbers in the terminal, JSON and HTML on request."""
    import warnings

    from simulacra.cli.common import console, step
    from simulacra.evaluate import EvaluationWarning, evaluate
    from simulacra.io import read_table

    with step("Reading tables"):
        frames = {"real": read_table(real), "synthetic": read_table(synthetic)}
        if holdout is not None:
            frames["holdout"] = read_table(holdout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        with console.status("Evaluating") as status:
            report = evaluate(
                frames["real"], frames["synthetic"], holdout=frames.get("holdout"), target=target,
                metadata=metadata, sensitive=sensitive or None, secret=secret, random_state=seed,
                progress=lambda name: status.update(f"Evaluating: {name}"),
            )
    console.print(f"[green]✓[/green] Evaluated in {report.info['total_seconds']:.1f}s")
    for message in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {message}")
    if json_path is not None:
        report.to_json(json_path)
        console.print(f"[green]✓[/green] JSON written to {json_path}")
    if html_path is not None:
        with step(f"Writing the HTML report to {html_path}"):
            report.to_html(html_path)
    from rich.console import Console

    Console().print(report.summary())


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command."""
    app.command("evaluate")(evaluate_command)
