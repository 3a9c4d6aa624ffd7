"""``simulacra generate``, ``simulate`` and ``spec check|infer|schema``: data from a declarative spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from simulacra.cli.common import console, step

spec_app = typer.Typer(help="Check, draft and describe generation specs.", no_args_is_help=True)


def generate(
    spec: Annotated[Path, typer.Argument(help="The spec (YAML).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.parquet, .csv, .jsonl); a folder (out/) for a resumable job of parts, and for multi-table specs.")],
    n_rows: Annotated[Optional[int], typer.Option("--rows", "-n", help="Rows of the main (first) table; default: the spec's rows.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed: the same seed gives the same rows.")] = None,
    format: Annotated[Optional[str], typer.Option("--format", help="parquet, csv or jsonl (default: from the file name).")] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", help="Rows per chunk (memory is bounded by this).")] = 1 << 18,
    workers: Annotated[
        Optional[int], typer.Option("--workers", help="Worker processes (or Ray tasks); the same seed gives the same rows.")
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="local (processes on this machine) or ray.")] = "local",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Ray cluster address, e.g. auto.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an output folder of a different job.")] = False,
    allow_external_files: Annotated[bool, typer.Option("--allow-external-files", help="Let the spec read files outside its folder (empirical 'file:'); only for specs you trust.")] = False,
) -> None:
    """Generate tables from a spec, chunk by chunk, reproducibly; resumable when run as a job."""
    import time

    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    from simulacra.spec import Spec

    sp = Spec.from_yaml(spec, allow_external_files=allow_external_files)
    seed = seed if seed is not None else (sp.document.seed or 0)
    start = time.perf_counter()
    # a folder (Typer drops the trailing '/' of `-o out/`: an existing folder or a name without suffix) is a job,
    # as for `sample`; a multi-table spec always writes a folder of its own (generate_to)
    folder = str(output).endswith("/") or (len(sp.tables) == 1 and (output.is_dir() or not output.suffix))
    if workers is not None or engine != "local" or ray_address or overwrite or folder:
        from simulacra.scale.spec import run_generate_job

        results = run_generate_job(
            sp, output, n_rows, workers=workers, chunk_rows=chunk_rows, format=format, engine=engine,
            ray_address=ray_address, random_state=seed, overwrite=overwrite,
        )
        for removed in (p for r in results.values() for p in r.extra.get("removed", [])):
            console.print(f"removed (--overwrite): {removed}")
        console.print(
            f"[green]✓[/green] wrote {', '.join(str(r.path) for r in results.values())} "
            f"in {time.perf_counter() - start:.1f}s (seed {seed})"
        )
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done)

        path = sp.generate_to(output, n_rows, random_state=seed, chunk_rows=chunk_rows, format=format, progress=progress)
    console.print(f"[green]✓[/green] wrote {path} in {time.perf_counter() - start:.1f}s (seed {seed})")


def simulate(
    spec: Annotated[Path, typer.Argument(help="The spec (YAML).")],
    column: Annotated[str, typer.Option("--column", "-c", help="The column to summarise.")],
    n_draws: Annotated[int, typer.Option("--draws", "-n", help="Monte Carlo draws.")] = 100_000,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed (default: the spec's seed, else 0).")] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="The table (default: the first with the column).")] = None,
    above: Annotated[Optional[float], typer.Option("--above", help="Also estimate P(column > this value).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    allow_external_files: Annotated[bool, typer.Option("--allow-external-files", help="Let the spec read files outside its folder (empirical 'file:'); only for specs you trust.")] = False,
) -> None:
    """Monte Carlo summary of a column: mean, std and quantiles, each with its Monte Carlo error."""
    from simulacra.spec import Spec

    sp = Spec.from_yaml(spec, allow_external_files=allow_external_files)
    with step(f"Drawing {n_draws:,} rows"):
        summary = sp.simulate(column, n_draws, random_state=seed, table=table, above=above)
    typer.echo(json.dumps(summary.to_dict(), indent=2) if as_json else str(summary))


@spec_app.command("check")
def check(
    spec: Annotated[Path, typer.Argument(help="The spec (YAML).")],
    trial_rows: Annotated[int, typer.Option("--trial-rows", help="Rows generated per table to test constraints (0: none).")] = 1000,
    allow_external_files: Annotated[bool, typer.Option("--allow-external-files", help="Let the spec read files outside its folder (empirical 'file:'); only for specs you trust.")] = False,
) -> None:
    """Validate a spec and print the resolved plan (errors name the file, line and field)."""
    from simulacra.errors import SpecError
    from simulacra.spec import Spec

    sp = Spec.from_yaml(spec, allow_external_files=allow_external_files)
    typer.echo(sp.describe())
    if trial_rows < 0:
        raise SpecError(f"--trial-rows must be zero or more, got {trial_rows}")
    if trial_rows:
        for table in sp.tables:
            sp.generate_range(table, 0, min(trial_rows, sp.units(table, None if sp.main else trial_rows)), n_rows=trial_rows)
    console.print(f"[green]✓[/green] {spec} is valid" + (f" ({trial_rows:,} trial rows per table generated)" if trial_rows else ""))


@spec_app.command("infer")
def infer(
    data: Annotated[Path, typer.Argument(help="A real table (CSV, Parquet, JSONL).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the draft spec (YAML).")],
    name: Annotated[str, typer.Option("--name", help="Table name in the spec.")] = "data",
    max_categories: Annotated[int, typer.Option("--max-categories", help="Keep at most this many categories per column.")] = 50,
    min_category_count: Annotated[int, typer.Option("--min-category-count", help="Privacy floor: values seen in fewer rows are not listed, ranges end where this many rows reach (1: off).")] = 5,
) -> None:
    """Draft a spec from a real table: fitted marginals per column and a correlated group."""
    import textwrap

    import yaml

    from simulacra.io import atomic_path, read_table
    from simulacra.spec import Spec, infer_spec

    with step(f"Reading {data.name}"):
        frame = read_table(data)
    with step("Fitting marginals"):
        draft = infer_spec(frame, name=name, max_categories=max_categories, min_category_count=min_category_count)
    Spec.from_dict(draft)  # the draft must itself be a valid spec
    text = f"# Draft spec inferred from {data.name}: review the distributions before use.\n"
    text += "".join(f"# {line}\n" for line in textwrap.wrap(draft["description"], 100))
    text += yaml.safe_dump(draft, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)
    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    console.print(f"Draft spec written to [bold]{output}[/bold]")


@spec_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of spec files (for editor completion)."""
    from simulacra.spec import spec_json_schema

    typer.echo(json.dumps(spec_json_schema(), indent=2))


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Specs")(generate)
    app.command(rich_help_panel="Specs")(simulate)
    app.add_typer(spec_app, name="spec", rich_help_panel="Specs")
