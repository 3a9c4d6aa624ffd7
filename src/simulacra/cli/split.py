"""``simulacra split``: a training part and a holdout part of a table or a folder of related tables."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def split_command(
    data: Path = typer.Argument(..., help="A table file (CSV, Parquet, JSONL) or a folder of related tables (one file per table)."),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to create, holding train/ and holdout/ (never overwritten)."),
    holdout: float = typer.Option(0.2, "--holdout", help="Share held out, between 0 and 1: of the rows, of the entities (--entity) or of each root table's rows (a folder)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the draw: the same seed gives the same split."),
    stratify: Optional[str] = typer.Option(None, "--stratify", help="One table: a column whose values keep their shares on both sides."),
    entity: Optional[str] = typer.Option(None, "--entity", help="One table of histories: the entity column; each entity's rows go to one side."),
    metadata: Optional[Path] = typer.Option(None, "--metadata", help="A folder of tables: the JSON of `simulacra metadata` (detected when not given)."),
    fixed: Optional[list[str]] = typer.Option(None, "--fixed", help="A folder of tables: a lookup table copied whole to both sides (repeatable)."),
) -> None:
    """Split real data into train/ and holdout/ (same file format): fit on train, evaluate with --holdout.

    A table's rows are split at random (--stratify keeps a column's shares; --entity keeps each entity's
    events together). A folder of related tables is split by the rows of its root tables: each child row
    follows its parent row, lookup tables (referred to, generating no table) are copied to both sides,
    rows without a parent are split at random.
    """
    from simulacra.cli.common import console, step
    from simulacra.cli.relational import is_database
    from simulacra.errors import InputError
    from simulacra.io import write_table
    from simulacra.tabular.split import check_share

    check_share(holdout)
    if not data.exists():
        raise InputError(f"'{data}' does not exist; give a table file or a folder of tables.")
    sides = [output / "train", output / "holdout"]
    taken = [str(p) for p in sides if p.exists()] + ([str(output)] if output.is_file() else [])
    if taken:
        raise InputError(f"'{taken[0]}' already exists; remove it or give another --output (a split is never overwritten).")
    database = is_database(data)
    if database:
        if stratify or entity:
            raise InputError("--stratify and --entity apply to one table; a folder of tables is split by its root "
                             "tables' rows (declare histories as sequence children in the metadata).")
        parts, files, notes = _split_database(data, holdout, seed, metadata, fixed)
    else:
        if metadata or fixed:
            raise InputError("--metadata and --fixed apply to a folder of related tables, not to one table.")
        parts, files, notes = _split_one(data, holdout, seed, stratify, entity)
    with step(f"Writing {output}/train and {output}/holdout"):
        for side, frames in zip(sides, parts):
            side.mkdir(parents=True)
            for name, frame in frames.items():
                write_table(frame, side / files[name])
    for name in files:
        console.print(f"  {name}: {len(parts[0][name]):,} train, {len(parts[1][name]):,} holdout{notes.get(name, '')}",
                      highlight=False, markup=False)
    fit_on = sides[0] if database else sides[0] / next(iter(files.values()))
    console.print(f"Written to [bold]{output}[/bold]: fit on {fit_on}, then evaluate with --holdout "
                  f"{sides[1] if database else sides[1] / next(iter(files.values()))}")


def _split_one(path: Path, holdout: float, seed: int, stratify: Optional[str], entity: Optional[str]) -> tuple:
    from simulacra.cli.common import step
    from simulacra.io import read_table
    from simulacra.tabular.split import split_table

    with step(f"Reading {path}"):
        frame = read_table(path)
    train, hold = split_table(frame, holdout, random_state=seed, stratify=stratify, entity=entity)
    name = path.stem if path.is_file() else path.name
    file = name + (path.suffix if path.is_file() else ".parquet")
    note = f" ({hold[entity].nunique():,} of {frame[entity].nunique():,} entities held out)" if entity else ""
    return ({name: train}, {name: hold}), {name: file}, {name: note}


def _split_database(folder: Path, holdout: float, seed: int, metadata: Optional[Path], fixed: Optional[list[str]]) -> tuple:
    from simulacra.cli.common import console, step
    from simulacra.cli.relational import read_database
    from simulacra.io.tables import table_files
    from simulacra.tabular.split import split_tables

    tables = read_database(folder)
    with step(f"Splitting {len(tables)} related tables"):
        result = split_tables(tables, holdout, metadata=metadata, fixed=fixed, random_state=seed)
    for rel, n in result.crossing.items():
        console.print(f"[yellow]warning:[/yellow] {rel}: {n:,} child rows refer to a parent row on the other side "
                      "(their child follows another parent); give one of the two parents with --fixed to avoid it",
                      highlight=False)
    copied = [name for name, how in result.how.items() if how.startswith("copied")]
    if copied:
        names = " ".join(f"--fixed {name}" for name in copied)
        console.print(f"note: {', '.join(copied)} copied whole to both sides (no unseen rows): fit and evaluate with "
                      f"{names} to keep them as they are and leave them out of privacy", highlight=False, markup=False)
    files = {f.stem: f.name for f in table_files(folder)}  # the files read: not a note beside them (orders.md)
    return (result.train, result.holdout), files, {name: f" ({how})" for name, how in result.how.items()}


def register(app: typer.Typer) -> None:
    """Add the ``split`` command."""
    app.command("split")(split_command)
