"""What ``simulacra fit`` does with each kind of input: the options each kind does not use (refused, never
silently dropped), the fit of a single table (in memory, in chunks or differentially private, with the rules
found in it) and the fit of a table of sequences."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulacra.cli.common import console, parse_assignments, step, training_progress

if TYPE_CHECKING:
    import pandas as pd

    from simulacra.metadata import Metadata

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


#: parameters that ``fit`` sets from its own options, not from ``-p``
_SET_BY = {"metadata": "--metadata", "random_state": "--seed"}
_SET_BY_SEQUENCES = {**_SET_BY, "entity": "--entity", "order": "--order", "statics": "--static"}


def model_params(param: list[str] | None, cls: type, what: str, set_by: dict[str, str] = _SET_BY) -> dict[str, Any]:
    """``-p NAME=VALUE`` of a single-table or sequence fit as parameters of ``cls``, checked before any data
    is read: a name ``cls`` does not take (``sequence.NAME``, which is for a folder of related tables,
    among them) is refused with the names it takes, instead of a TypeError from the model; ``set_by``: the
    parameters that options of ``fit`` set."""
    import inspect

    from simulacra.errors import InputError

    params = parse_assignments(param, "--param")
    signature = inspect.signature(cls).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in signature):
        return params
    own = [p.name for p in signature if p.name != "self" and p.name not in set_by]
    for name in params:
        if name in own:
            continue
        prefix, dot, option = name.partition(".")
        if dot and prefix == "sequence":
            here = f"give it as -p {option}=VALUE" if option in own else f"{cls.__name__} takes {', '.join(own)}"
            raise InputError(f"-p {name}: the 'sequence.' prefix sets an option of the sequence children's model when "
                             f"fitting a folder of related tables; {what} is fitted by {cls.__name__}: {here}.")
        if name in set_by:
            raise InputError(f"-p {name}: give it as {set_by[name]} instead.")
        raise InputError(f"-p {name}: not a parameter of {cls.__name__} (which fits {what}); give one of {', '.join(own)}.")
    return params


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
    params = model_params(param, SequenceSynthesizer, "a table of sequences", _SET_BY_SEQUENCES)
    with step(f"Reading {data.name}"):
        frame = read_table(data, delimiter=delimiter, encoding=encoding)
    synth = SequenceSynthesizer(entity=entity, order=order, statics=static or None, random_state=seed, **params)
    n_entities = frame[entity].nunique() if entity in frame.columns else 0
    with step(f"Fitting the sequence model on {n_entities:,} entities, {len(frame):,} events"):
        synth.fit(frame)
    synth.save(output, key_file=key_file)
    console.print(f"Model written to [bold]{output}[/bold] (static attributes: {', '.join(synth.statics_) or 'none'})")


def fit_table(data: Path, output: Path, *, model: str | None, metadata: Path | None, seed: int | None,
              delimiter: str | None, encoding: str | None, sample_rows: int | None, param: list[str] | None,
              max_rows_in_memory: int | None, key_file: Path | None, rules: bool | None,
              privacy: dict[str, Any]) -> None:
    """``simulacra fit table``: one table fitted (by the DP model with ``privacy``) and saved."""
    from simulacra.io import read_table
    from simulacra.metadata import Metadata
    from simulacra.tabular.registry import default_synthesizer_name, get_synthesizer_class

    if privacy:
        from simulacra.errors import InputError

        if rules:
            raise InputError("--rules finds rules in the training rows, outside the privacy budget; with --epsilon "
                             "declare the rules you know in --metadata instead (see docs/privacy.md).")
        model, rules = "dp", False  # rules found in the data would be learned outside the budget
        if max_rows_in_memory is not None:
            raise InputError("--max-rows-in-memory computes exact statistics outside the privacy budget; "
                             "leave it out with --epsilon (or fit on --sample-rows).")
    name = model or default_synthesizer_name()
    cls = get_synthesizer_class(name)
    # -p epsilon=... beside --epsilon was silently overridden by the option: a budget the user did not choose
    by_option = {**_SET_BY, **{k: f"--{k}" for k in privacy}}
    given = model_params(param, cls, "a single table", by_option)
    if max_rows_in_memory is not None:  # large inputs: simulacra.scale reads in chunks
        from simulacra.scale.fit import fit_large

        synth = cls(metadata=Metadata.load(metadata) if metadata else None, random_state=seed, **given, **privacy)
        with step(f"Fitting {cls.__name__} on {data.name}, read in chunks"):
            report = fit_large(
                synth, data, max_rows_in_memory, random_state=seed or 0, warn=False, delimiter=delimiter, encoding=encoding
            )
        synth.save(output, key_file=key_file)
        console.print(f"{report.message()} Model written to [bold]{output}[/bold]")
        return
    with step(f"Reading {data.name}"):
        frame = read_table(data, delimiter=delimiter, encoding=encoding, sample_rows=sample_rows)
    meta = Metadata.load(metadata) if metadata else None
    if meta is None and rules is not False:
        meta = with_rules(Metadata.detect(frame), frame)
    params = {**given, **privacy}
    synth = cls(metadata=meta, random_state=seed, **params)
    what = f"{cls.__name__} on {len(frame):,} rows × {frame.shape[1]} columns"
    if getattr(cls, "reports_progress", False):  # a model trained in steps: a bar with the loss and an ETA
        console.print(f"Fitting {what}")
        with training_progress() as show_progress:
            synth.fit(frame, progress=show_progress)  # type: ignore[call-arg]
    else:
        with step(f"Fitting {what}"):
            synth.fit(frame)
    synth.save(output, key_file=key_file)
    console.print(f"Model written to [bold]{output}[/bold]")


def privacy_params(model: str | None, epsilon: float | None, delta: float | None, bounds: Path | None) -> dict[str, Any]:
    """Parameters of the DP model from --epsilon/--delta/--bounds (empty without them)."""
    from simulacra.errors import InputError

    if epsilon is None:
        if delta is not None or bounds is not None:
            raise InputError("--delta and --bounds belong to a differentially private fit; add --epsilon.")
        return {}
    if model not in (None, "dp"):
        raise InputError(f"--epsilon fits the differentially private model 'dp'; --model {model} has no DP guarantee.")
    out: dict[str, Any] = {"epsilon": epsilon}
    if delta is not None:
        out["delta"] = delta
    if bounds is not None:
        out["bounds"] = str(bounds)
    return out


def with_rules(meta: Metadata, frame: pd.DataFrame) -> Metadata:
    """Add the rules found in ``frame`` to ``meta``'s constraints and list them (with support) on stderr."""
    from simulacra.rules import add_rules

    with step("Finding the table's rules"):
        found = add_rules(meta, frame)
    for line in found.lines():
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    return meta


__all__ = ["fit_sequences", "fit_table", "privacy_params", "refuse_unused", "with_rules"]
