"""``simulacra fit``, ``sample``, ``inspect`` and ``metadata``: tabular synthesizers from the shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from simulacra.cli._fit_kinds import fit_sequences, fit_table, privacy_params, refuse_unused, with_rules
from simulacra.cli.common import console, parse_assignments, step, written_formats

#: ``--key-file``: the model signing key (HMAC-SHA256), also read from $SIMULACRA_MODEL_KEY.
KeyFile = Annotated[
    Optional[Path],
    typer.Option(
        "--key-file",
        help="File holding a secret key: fit signs the model with it; sample and inspect refuse a model "
        "not signed with it. Default: the key in $SIMULACRA_MODEL_KEY, if set.",
    ),
]


def fit(
    data: Annotated[Path, typer.Argument(help="The real table: CSV (delimiter and encoding sniffed), Parquet or JSONL; or a folder of related tables, one file per table.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the fitted model file.")],
    model: Annotated[
        Optional[str], typer.Option("--model", "-m", help="Synthesizer short name (see `simulacra models`); default: the best available.")
    ] = None,
    metadata: Annotated[
        Optional[Path], typer.Option("--metadata", help="Metadata JSON (from `simulacra metadata`); detected when omitted.")
    ] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed for fitting.")] = None,
    delimiter: Annotated[Optional[str], typer.Option("--delimiter", help="CSV delimiter, if sniffing guesses wrong.")] = None,
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="File encoding, if not UTF-8.")] = None,
    sample_rows: Annotated[
        Optional[int], typer.Option("--sample-rows", help="Fit on a uniform random sample of this many rows, read in one streaming pass.")
    ] = None,
    param: Annotated[
        Optional[list[str]], typer.Option("--param", "-p", help="Model parameter NAME=VALUE (repeatable). A folder of tables: "
                                            "sequence.NAME=VALUE sets an option of its sequence children's model "
                                            "(entity_volatility, common_factor, min_samples_leaf).")
    ] = None,
    max_rows_in_memory: Annotated[
        Optional[int],
        typer.Option("--max-rows-in-memory", help="Read a large table in chunks: exact statistics over every row, the model fitted on a seeded random subsample of at most this many rows."),
    ] = None,
    key_file: KeyFile = None,
    rules: Annotated[
        Optional[bool],
        typer.Option(
            "--rules/--no-rules",
            help="Find the table's rules (derived columns, dependencies, orderings, clock times, missing together) "
            "and keep them in every synthetic row (default, except with --epsilon); see docs/rules.md. With "
            "--metadata, the rules in that file are used.",
        ),
    ] = None,
    entity: Annotated[
        Optional[str], typer.Option("--entity", help="A table of sequences: the column naming each entity (with --order).")
    ] = None,
    order: Annotated[
        Optional[str], typer.Option("--order", help="A table of sequences: the column ordering each entity's events.")
    ] = None,
    static: Annotated[
        Optional[list[str]], typer.Option("--static", help="With --entity: a column constant within each entity (repeatable); detected when omitted.")
    ] = None,
    epsilon: Annotated[
        Optional[float], typer.Option("--epsilon", help="Fit the differentially private model ('dp') with this privacy budget ε; see docs/privacy.md.")
    ] = None,
    delta: Annotated[
        Optional[float], typer.Option("--delta", help="With --epsilon: the δ of the (ε, δ) guarantee (default 1e-6; must be below 1/rows).")
    ] = None,
    bounds: Annotated[
        Optional[Path], typer.Option("--bounds", help="With --epsilon: JSON of public domains ({\"age\": [17, 90], \"sex\": [\"F\", \"M\"], \"visit\": {\"step\": \"1D\"}}), not paid for with the budget.")
    ] = None,
    fixed: Annotated[
        Optional[list[str]], typer.Option("--fixed", help="A folder of related tables: a table kept exactly as it is (a public lookup table; repeatable).")
    ] = None,
) -> None:
    """Fit a synthesizer on a real table and save it.

    With --epsilon the differentially private model is fitted: the model file then carries an
    (ε, δ) guarantee, and nothing learned outside the budget: no rules are discovered, and the rules
    declared in --metadata are kept by post-processing the released model (docs/privacy.md).

    With --entity and --order the table is a table of sequences (one history per entity), fitted
    with the sequence model: `simulacra sample` then writes whole new histories.

    A folder with one file per table (CSV, Parquet, JSONL) is a database of related tables: keys and
    relationships are detected (or read from --metadata, see `simulacra metadata folder/`) and every
    table is fitted; see docs/relational.md. There, -p sequence.NAME=VALUE sets an option of the model
    of every sequence child (e.g. -p sequence.min_samples_leaf=50; docs/sequences.md).
    """
    from simulacra.cli.relational import fit_database, is_database

    database = is_database(data)
    if (database or entity or order) and (epsilon is not None or delta is not None or bounds is not None):
        from simulacra.errors import InputError

        what = "a folder of related tables" if database else "a table of sequences (--entity/--order)"
        raise InputError(f"--epsilon/--delta/--bounds fit the differentially private single-table model; {what} "
                         "has no DP model, and fitting it without one would give no guarantee. Fit one table "
                         "with --epsilon, or leave --epsilon out.")
    given = {"--metadata": metadata is not None, "--rules/--no-rules": rules is not None, "--sample-rows": sample_rows is not None,
             "--max-rows-in-memory": max_rows_in_memory is not None, "--model": model is not None,
             "--entity/--order": bool(entity or order), "--static": bool(static), "--fixed": bool(fixed)}
    refuse_unused(given, "a folder of related tables" if database else "a table of sequences (--entity/--order)"
                   if entity or order else "a single table")
    if database:
        fit_database(data, output, metadata=metadata, seed=seed, fixed=fixed, param=param, delimiter=delimiter,
                     encoding=encoding, key_file=key_file)
        return
    if entity or order:
        fit_sequences(data, output, entity, order, static, seed, delimiter, encoding, key_file, model, param)
        return

    fit_table(data, output, model=model, metadata=metadata, seed=seed, delimiter=delimiter, encoding=encoding,
              sample_rows=sample_rows, param=param, max_rows_in_memory=max_rows_in_memory, key_file=key_file,
              rules=rules, privacy=privacy_params(model, epsilon, delta, bounds))


def _sample_sequences(synth: object, output: Path, n: int, seed: int | None, conditions: dict[str, object] | None,
                      format: str | None) -> None:
    from simulacra.io import write_table

    if conditions:  # typed like the entity table's columns
        conditions = _typed_conditions(getattr(synth, "entity_model_"), conditions)
    with step(f"Sampling {n:,} entities with whole histories"):
        rows = synth.sample(n, random_state=seed, conditions=conditions)  # type: ignore[attr-defined]
    with step(f"Writing {output.name}"):  # the order column in its format as read
        write_table(rows, output, format=format, datetime_formats=written_formats(synth))
    console.print(f"{n:,} entities, {len(rows):,} events written to [bold]{output}[/bold]")


def sample(
    model_file: Annotated[Path, typer.Argument(help="A model file written by `simulacra fit`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output table (.parquet, .csv or .jsonl); a folder for a model of related tables (one file per table) or a single table's chunked job.")],
    n_rows: Annotated[Optional[int], typer.Option("--rows", "-n", help="How many rows to sample (entities, for a sequence model); default 1,000.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed: the same seed gives the same rows.")] = None,
    condition: Annotated[
        Optional[list[str]],
        typer.Option("--condition", "-c", help='Fix a column\'s value in every row: COLUMN=VALUE, e.g. income=">50K"; repeat a column for any of several values (-c sex=Male -c sex=Female).'),
    ] = None,
    format: Annotated[Optional[str], typer.Option("--format", help="csv, parquet or jsonl (default: from the file name; csv for a folder of related tables).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Worker processes for a chunked job of a single table's model (default: all cores).")] = None,
    chunk_rows: Annotated[Optional[int], typer.Option("--chunk-rows", help="Rows per chunk (memory is bounded by this); default 1,048,576.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="local (processes on this machine) or ray.")] = "local",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Ray cluster to use with --engine ray (e.g. auto); default: Ray on this machine.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a different job's output folder instead of refusing.")] = False,
    key_file: KeyFile = None,
    scale: Annotated[
        Optional[float], typer.Option("--scale", help="A related-tables model: rows of the root tables as a multiple of the real ones (default 1).")
    ] = None,
) -> None:
    """Sample new rows from a fitted model.

    For a single table's model, an output folder (-o out/), --workers, --chunk-rows, --engine ray or
    more than a million rows runs a chunked job: bounded memory, every core (or Ray), resumable by running
    the same command again.

    A model of related tables writes one file per table into the -o folder, sized with --scale; a
    sequence model writes -n new entities, each a whole history.
    """
    from simulacra.io import write_table
    from simulacra.tabular.persistence import load

    synth = load(model_file, key_file=key_file)
    conditions = parse_assignments(condition, "--condition", repeats=True) or None
    relational = getattr(synth, "name", "") == "relational"
    _check_sizing(relational, n_rows, scale, conditions)
    _check_job_options(getattr(synth, "name", ""), workers=workers, chunk_rows=chunk_rows,
                       engine=None if engine == "local" else engine, ray_address=ray_address, overwrite=overwrite)
    if relational:
        from simulacra.cli.relational import sample_database

        sample_database(synth, output, 1.0 if scale is None else scale, seed, format)
        return
    n_rows = 1000 if n_rows is None else n_rows
    if getattr(synth, "name", "") == "sequence":
        _sample_sequences(synth, output, n_rows, seed, conditions, format)
        return
    if conditions:
        conditions = _typed_conditions(synth, conditions)
    from simulacra.scale.api import run_sample_job, wants_job

    if wants_job(output, n_rows, workers=workers, chunk_rows=chunk_rows, engine=engine):
        result = run_sample_job(
            synth, output, n_rows, workers=workers, chunk_rows=chunk_rows or (1 << 20), format=format, engine=engine,
            ray_address=ray_address, random_state=seed, conditions=conditions, overwrite=overwrite,
        )
        for removed in result.extra.get("removed", []):
            console.print(f"removed (--overwrite): {removed}")
        console.print(
            f"{result.rows:,} rows written to [bold]{result.path}[/bold] (seed {result.seed}; "
            f"{result.chunks_made} chunks made, {result.chunks_resumed} already done; {result.rows_per_second:,.0f} rows/s)"
        )
        return
    with step(f"Sampling {n_rows:,} rows"):
        rows = synth.sample(n_rows, random_state=seed, conditions=conditions)
    with step(f"Writing {output.name}"):
        write_table(rows, output, format=format, datetime_formats=written_formats(synth))
    console.print(f"{len(rows):,} rows written to [bold]{output}[/bold]")


def _check_sizing(relational: bool, n_rows: int | None, scale: float | None, conditions: object) -> None:
    """Refuse a sizing option the model does not use (it was ignored without a word)."""
    from simulacra.errors import InputError

    if relational and n_rows is not None:
        raise InputError("-n/--rows does not apply to a model of related tables; size the database with --scale "
                         "(the root tables' rows as a multiple of the real ones).")
    if relational and conditions:
        raise InputError("--condition does not apply to a model of related tables; sample it, then filter the tables.")
    if not relational and scale is not None:
        raise InputError("--scale applies to a model of related tables; give the number of rows (entities for a "
                         "sequence model) with -n.")


def _check_job_options(kind: str, **given: object) -> None:
    """Refuse the chunked job's options for a model sampled in one process (they were ignored without a word)."""
    from simulacra.errors import InputError

    used = [f"--{name.replace('_', '-')}" for name, value in given.items() if value not in (None, False)]
    if used and kind in ("relational", "sequence"):
        what = "a model of related tables" if kind == "relational" else "a sequence model"
        verb = "applies" if len(used) == 1 else "apply"
        raise InputError(f"{', '.join(used)} {verb} to a single table's chunked sampling job; {what} is sampled in "
                         "one process on this machine: leave them out.")


def _typed_conditions(synth: object, conditions: dict[str, object]) -> dict[str, object]:
    """Values typed on the command line, compared as text for categorical columns."""
    meta = getattr(synth, "metadata_")
    out: dict[str, object] = {}
    for name, value in conditions.items():
        col = meta.columns.get(name)
        if col is not None and col.type in ("categorical", "id", "text"):
            labels = getattr(getattr(synth, "transformer_", None), "encoders", {}).get(name)
            known = getattr(labels, "labels", None) or []
            out[name] = [_known_label(known, v) for v in value] if isinstance(value, list) else _known_label(known, value)
        else:
            out[name] = value
    return out


def _known_label(known: list[object], value: object) -> object:
    match = next((lab for lab in known if str(lab) == str(value)), None)
    if match is None:
        match = next((lab for lab in known if str(lab).strip() == str(value).strip()), value)
    return match


def inspect(
    model_file: Annotated[Path, typer.Argument(help="A model file written by `simulacra fit`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    key_file: KeyFile = None,
) -> None:
    """Show a model's metadata and what it learned."""
    from rich.table import Table

    from simulacra.io import read_manifest
    from simulacra.tabular.persistence import load

    manifest = read_manifest(model_file)
    synth = load(model_file, key_file=key_file)
    info = synth.describe()
    if getattr(synth, "name", "") == "relational":
        typer.echo(json.dumps({"manifest": manifest, "model": info}, indent=2, default=str))
        return
    if getattr(synth, "name", "") == "sequence":
        _inspect_sequences(manifest, info, as_json)
        return
    kept = _kept_rules(synth)
    if as_json:
        typer.echo(json.dumps({"manifest": manifest, "metadata": synth.metadata_.to_dict(), "model": info,
                               "rules": kept}, indent=2, default=str))
        return
    out = console.__class__()
    out.print(
        f"[bold]{manifest['class']}[/bold] ('{manifest['model']}'), simulacra {manifest['library_version']}, "
        f"fitted on {info.get('training_rows', '?'):,} rows"
    )
    table = Table(title="Columns", show_lines=False)
    for head in ("column", "type", "details", "missing", "learned"):
        table.add_column(head)
    learned = info.get("columns", {})
    for name, col in synth.metadata_.columns.items():
        details = {k: v for k, v in col.model_dump().items() if k not in ("type", "pii") and v not in (None, [], False)}
        entry = learned.get(name, {})
        summary = entry.get("quantiles") or entry.get("top") or _chosen_complexity(entry.get("complexity"))
        if isinstance(summary, dict):
            summary = ", ".join(f"{k}={_short(v)}" for k, v in list(summary.items())[:5])
        table.add_row(name, col.type, _short(details), f"{entry.get('missing_rate', 0):.1%}", summary)
    out.print(table)
    pairs = info.get("strongest_correlations") or []
    if pairs:
        corr = Table(title="Strongest dependencies (latent correlation)")
        corr.add_column("columns")
        corr.add_column("correlation", justify="right")
        for p in pairs:
            corr.add_row(" ~ ".join(p["columns"]), f"{p['correlation']:+.3f}")
        out.print(corr)
    if (info.get("privacy") or {}).get("guarantee"):  # a DP model (autoreg's "privacy" holds its floors)
        _print_guarantee(out, info["privacy"], info.get("tree") or [], info.get("parents") or {})
    if kept:
        ruled = Table(title="Rules kept in every sampled row")
        for head in ("rule", "kind", "how", "found"):
            ruled.add_column(head)
        for r in kept:
            ruled.add_row(str(r["rule"]), str(r["kind"]), str(r["how"]), str(r.get("found") or "declared"))
        out.print(ruled)


def _chosen_complexity(chosen: dict[str, Any] | None) -> str:
    """The depth and leaf floor an ``autoreg`` tree chose on held-out rows (``complexity="holdout"``)."""
    if not chosen:
        return ""
    depth = "no depth limit" if chosen.get("max_depth") is None else f"depth <= {chosen['max_depth']}"
    return f"{depth}, leaf floor x{chosen.get('floor', 1)} (held-out choice)"


def _print_guarantee(out: Any, privacy: dict[str, Any], tree: list[list[str]], parents: dict[str, list[str]]) -> None:
    """The DP guarantee of a model: ε, δ, the mechanism and how the budget was split."""
    from rich.table import Table

    out.print(f"[bold]Guarantee:[/bold] {privacy['guarantee']} ({privacy['neighbouring']}); "
              f"ρ = {privacy['rho']:.4g} zCDP, {privacy['accounting']}.")
    if privacy.get("composed"):
        c = privacy["composed"]
        out.print(f"[yellow]With {c['releases'] - 1} earlier release(s) of the same rows the total is "
                  f"(ε = {c['epsilon']:g}, δ = {c['delta']:.2g}).[/yellow]")
    out.print(f"[bold]Mechanism:[/bold] {privacy['mechanism']}")
    split = Table(title="Budget split")
    for head in ("step", "share of ρ", "ρ"):
        split.add_column(head, justify="left" if head == "step" else "right")
    for step, part in privacy["split"].items():
        split.add_row(step, f"{part['share']:.0%}", f"{part['rho']:.3g}")
    out.print(split)
    if privacy["delta_threshold"]:
        out.print(f"δ = {privacy['delta_threshold']:.2g} of it pays for releasing category names above a noisy threshold.")
    public = privacy.get("public_columns") or []
    out.print(f"Public domains (no budget spent on them): {', '.join(public) if public else 'none'}.")
    if parents:  # a network: each column's table given its parents
        out.print("Tables measured: " + ", ".join(f"{c} | {', '.join(ps)}" for c, ps in parents.items()))
    elif tree:
        out.print("Pairs measured: " + ", ".join(f"{a} × {b}" for a, b in tree))


def _inspect_sequences(manifest: dict[str, Any], info: dict[str, Any], as_json: bool) -> None:
    from rich.table import Table

    if as_json:
        typer.echo(json.dumps({"manifest": manifest, "model": info}, indent=2, default=str))
        return
    out = console.__class__()
    out.print(f"[bold]{manifest['class']}[/bold], simulacra {manifest['library_version']}, fitted on "
              f"{info['training_entities']:,} entities ({info['training_rows']:,} events); entity '{info['entity']}', "
              f"order '{info['order']}'; static attributes: {', '.join(info['statics']) or 'none'}")
    table = Table(title="How each event's columns are drawn")
    for head in ("column", "kind", "drawn as", "relative to", "scale"):
        table.add_column(head)
    for col in info["columns"]:
        rel = col.get("anchor") or ", ".join(col.get("lower", []) + col.get("upper", []))
        # the training mean size of a change or distance: drawn in units of the entity's running size
        scale = "" if col.get("scale") is None else f"{col['scale']:.4g}"
        table.add_row(col["name"], col["kind"], col["mode"], rel or "", scale)
    out.print(table)
    if info.get("entity_volatility"):
        out.print("Each entity has its own volatility level, drawn with the entity: changes and distances "
                  "are drawn in units of it")
    common = info.get("common_factor")
    if common:
        loads = ", ".join(f"{k} {v:.2f}" for k, v in common.get("loadings", {}).items())
        out.print(f"Entities share a calendar of {common['calendar_values']:,} values: a market factor per date "
                  f"({', '.join(common['components']) or 'none'}) is drawn as its own time series and every "
                  f"entity's steps are drawn given it" + (f"; loadings {loads}" if loads else ""))
        if common.get("dates_stored"):
            out.print(f"The file holds {common['dates_stored']:,} dates' market shocks, in date order: "
                      f"means over at least {common.get('min_entities', 5)} entities of the real data "
                      "(the real market path), not one entity's values; sampled dates draw them smoothed "
                      "(docs/sequences.md, step 8)")
    if info["row_rules"]:
        out.print("Rules kept in every event: " + "; ".join(info["row_rules"]))


def _kept_rules(synth: object) -> list[dict[str, object]]:
    """The constraints a fitted model keeps: the rule, and whether it is built in or checked."""
    from simulacra.rules import describe_rule

    found = getattr(synth, "constraints_", None)
    constraints = getattr(found, "constraints", None) or []
    post_hoc = bool(getattr(found, "post_hoc", False))  # a DP model: rules kept by post-processing its rows

    def how(c: Any) -> str:
        if c.reparameterize_:
            return "by construction"
        if post_hoc:
            return "computed after sampling" if c.computes else "checked and redrawn"
        return "checked and redrawn" if c.kind != "missing_with" else "repaired"

    return [{"rule": describe_rule(c.spec), "kind": c.kind, "found": c.spec.get("found"), "how": how(c)}
            for c in constraints]


def _short(value: object, width: int = 60) -> str:
    text = str(value) if not isinstance(value, dict) else ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, float):
        text = f"{value:g}"
    return text if len(text) <= width else text[: width - 1] + "…"


def metadata(
    data: Annotated[Path, typer.Argument(help="A table: CSV, Parquet or JSONL; or a folder of related tables.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the metadata JSON here (default: print it).")] = None,
    rules: Annotated[bool, typer.Option(
        "--rules/--no-rules", help="One table: find its rules (derived columns, dependencies, orderings, clock times, "
        "missing together) and write them into the JSON, where `fit --metadata` keeps them in every synthetic row; "
        "see docs/rules.md. Not for a folder of tables.")] = True,
    sequence: Annotated[Optional[list[str]], typer.Option(
        "--sequence", help="A folder of tables: TABLE.FOREIGN_KEY[:ORDER] declares TABLE the histories of the parent "
        "rows its foreign key refers to (repeatable), e.g. flights.tailnum:sched_dep.")] = None,
) -> None:
    """Detect a table's metadata (column types) and write it as editable JSON.

    For a folder with one file per table: primary keys, foreign keys (with their orphan rates) and
    sequence children of the related tables.
    """
    from simulacra.cli.relational import is_database, write_metadata
    from simulacra.io import read_table
    from simulacra.metadata import Metadata

    if is_database(data):
        write_metadata(data, output, sequence or [])
        return
    if sequence:
        from simulacra.errors import InputError

        raise InputError("--sequence declares a sequence child among related tables; give a folder of tables "
                         "(for one table of sequences use `simulacra fit --entity ... --order ...`).")
    frame = read_table(data)
    meta = Metadata.detect(frame)
    if rules:
        with_rules(meta, frame)
    if output:
        meta.save(output)
        console.print(f"Metadata for {len(meta.columns)} columns written to [bold]{output}[/bold]")
    else:
        typer.echo(json.dumps(meta.to_dict(), indent=2))


def models() -> None:
    """List the available synthesizers."""
    from simulacra.tabular.registry import available_synthesizers, default_synthesizer_name, get_synthesizer_class

    default = default_synthesizer_name()
    for name in available_synthesizers():
        cls = get_synthesizer_class(name)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        mark = " (default)" if name == default else ""
        typer.echo(f"{name:10s} {cls.__name__}{mark}: {doc}")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Tables")(fit)
    app.command(rich_help_panel="Tables")(sample)
    app.command(rich_help_panel="Tables")(inspect)
    app.command(rich_help_panel="Tables")(metadata)
    app.command(rich_help_panel="Tables")(models)
