"""What ``simulacra fit`` does with each kind of input beyond a single table: the options each kind does not use
(refused, never silently dropped) and the fit of a table of sequences."""

from __future__ import annotations

from pathlib import Path

from simulacra.cli.common import console, parse_assignments, step

#: the options of ``fit`` that each kind of input does not use (an option given and ignored is an error)
_UNUSED = {
    "a folder of related tables": ("--rules/--no-rules", "--sample-rows", "--max-rows-in-memory", "--model",
                                   "--entity/--order", "--static"),
    "a table of sequences (--entity/--order)": ("--metadata", "--rules/--no-rules", "--sample-rows",
                                                "--max-rows-in-memory", "--fixed"),
    "a single table": ("--static", "--fixed"),
}
_WHERE = {"--static": "it needs --entity and --order", "--fixed": "it names a table of a folder of related tables",
          "--entity/--order": "a sequence table inside a database is declared with `simulacra metadata FOLDER --sequence TABLE.KEY[:ORDER]`",
          "--metadata": "the sequence model takes --static for the entity's constant columns",
          "--model": "every table is fitted by the relational model"}


def refuse_unused(given: dict[str, bool], kind: str) -> None:
    """An option that ``kind`` does not use was given: say so instead of fitting without it."""
    from simulacra.errors import InputError

    unused = [o for o in _UNUSED[kind] if given.get(o)]
    if unused:
        hints = "; ".join(f"{o}: {_WHERE[o]}" for o in unused if o in _WHERE)
        raise InputError(f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used when fitting {kind}; "
                         f"leave {'it' if len(unused) == 1 else 'them'} out{f' ({hints})' if hints else ''}.")


def fit_sequences(data: Path, output: Path, entity: str | None, order: str | None, static: list[str] | None,
                  seed: int | None, delimiter: str | None, encoding: str | None, key_file: Path | None,
                  model: str | None, param: list[str] | None) -> None:
    """``simulacra fit data --entity E --order T``: the sequence model fitted and saved."""
    from simulacra.errors import InputError
    from simulacra.io import read_table
    from simulacra.tabular.sequence import SequenceSynthesizer

    if not entity or not order:
        raise InputError("A table of sequences needs both --entity (who) and --order (when); give both.")
    if model not in (None, "sequence"):
        raise InputError(f"--entity/--order fit the sequence model; --model {model} is a single-table model.")
    with step(f"Reading {data.name}"):
        frame = read_table(data, delimiter=delimiter, encoding=encoding)
    params = parse_assignments(param, "--param")
    synth = SequenceSynthesizer(entity=entity, order=order, statics=static or None, random_state=seed, **params)
    n_entities = frame[entity].nunique() if entity in frame.columns else 0
    with step(f"Fitting the sequence model on {n_entities:,} entities, {len(frame):,} events"):
        synth.fit(frame)
    synth.save(output, key_file=key_file)
    console.print(f"Model written to [bold]{output}[/bold] (static attributes: {', '.join(synth.statics_) or 'none'})")


__all__ = ["fit_sequences", "refuse_unused"]
