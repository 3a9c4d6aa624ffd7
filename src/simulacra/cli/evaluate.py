"""``simulacra evaluate``: fidelity, utility, privacy, bias and validity of a synthetic table."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer


def evaluate_command(
    real: Path = typer.Argument(..., help="The real table the synthesizer was trained on (CSV, Parquet, JSONL), or a folder of related tables."),
    synthetic: Path = typer.Argument(..., help="The synthetic table (or folder of tables)."),
    holdout: Optional[Path] = typer.Option(None, "--holdout", help="Real rows (or a folder of tables) the synthesizer never saw (utility and privacy)."),
    target: Optional[str] = typer.Option(None, "--target", help="Column to predict (utility, bias)."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write every number as JSON here."),
    html_path: Optional[Path] = typer.Option(None, "--html", help="Write the self-contained HTML report here."),
    sensitive: Optional[list[str]] = typer.Option(None, "--sensitive", help="A sensitive column for the bias section (repeatable)."),
    secret: Optional[str] = typer.Option(None, "--secret", help="A column to attack with attribute inference."),
    metadata: Optional[Path] = typer.Option(None, "--metadata", help="Metadata JSON (column types, constraints); for folders of tables, the JSON of `simulacra metadata` (keys and relationships; detected when not given)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every sample and model."),
    entity: Optional[str] = typer.Option(None, "--entity", help="Tables of sequences: the entity column (with --order); gives the sequence report."),
    order: Optional[str] = typer.Option(None, "--order", help="Tables of sequences: the column ordering each entity's events."),
    fixed: Optional[list[str]] = typer.Option(None, "--fixed", help="Folders of tables: a table kept as it is at fit (`fit --fixed`; repeatable), left out of privacy. --model names them too."),
    model: Optional[Path] = typer.Option(None, "--model", help="The model file that made the synthetic table: a DP model's guarantee is shown beside the measured risk; for folders of tables, the tables it kept fixed are left out of privacy."),
) -> None:
    """Evaluate a synthetic table against the real one: numbers in the terminal, JSON and HTML on request.

    With --entity and --order, the tables are histories: the sequence report (lengths, gaps, static
    attributes, autocorrelations, co-movement of entities on shared dates, row rules, window detection,
    next-step TSTR, entity-level privacy).
    With two folders of tables (one file per table), the multi-table report: per-table quality,
    children per parent, referential integrity, parent-child trends and an overall score.
    """
    import warnings

    from simulacra.cli.common import console, step
    from simulacra.evaluate import EvaluationWarning, evaluate
    from simulacra.io import read_table

    from simulacra.cli.relational import is_database

    if is_database(real) and is_database(synthetic):
        if target or sensitive or secret or entity or order:
            from simulacra.errors import InputError

            raise InputError("--target, --sensitive, --secret, --entity and --order apply to one table, not to folders "
                             "of tables; evaluate a single table file for them")
        _evaluate_tables(real, synthetic, holdout, metadata, json_path, html_path, seed, model, fixed)
        return
    if fixed:
        from simulacra.errors import InputError

        raise InputError("--fixed names tables kept as they are in a folder of related tables; it does not apply to one table")

    with step("Reading tables"):
        frames = {"real": read_table(real), "synthetic": read_table(synthetic)}
        if holdout is not None:
            frames["holdout"] = read_table(holdout)
    if entity or order:
        unused = [name for name, given in (("--target", target), ("--sensitive", sensitive),
                                           ("--secret", secret), ("--model", model)) if given]
        if unused:  # they were ignored without a word
            from simulacra.errors import InputError

            raise InputError(f"{', '.join(unused)} do(es) not apply to the sequence report (--entity/--order); it is "
                             "printed, written as JSON with --json and as a page with --html.")
        _evaluate_sequences(frames, entity, order, json_path, html_path, seed)
        return
    guarantee = None
    if model is not None:
        from simulacra.tabular.persistence import load

        released = load(model)
        guarantee = released.privacy_guarantee() if hasattr(released, "privacy_guarantee") else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)
        with console.status("Evaluating") as status:
            report = evaluate(
                frames["real"], frames["synthetic"], holdout=frames.get("holdout"), target=target,
                metadata=metadata, sensitive=sensitive or None, secret=secret, random_state=seed,
                progress=lambda name: status.update(f"Evaluating: {name}"), guarantee=guarantee,
            )
    console.print(f"[green]✓[/green] Evaluated in {report.info['total_seconds']:.1f}s")
    _outputs(report, json_path, html_path)


def _evaluate_tables(real: Path, synthetic: Path, holdout: Optional[Path], metadata: Optional[Path],
                     json_path: Optional[Path], html_path: Optional[Path], seed: int, model: Optional[Path],
                     fixed: Optional[list[str]]) -> None:
    from simulacra.cli.common import console
    from simulacra.cli.relational import read_database
    from simulacra.evaluate.multi_table import evaluate_tables

    fixed = list(fixed or [])
    if model is not None:  # the model names the tables kept as they are (--fixed): left out of privacy
        from simulacra.errors import InputError
        from simulacra.tabular.persistence import load

        released = load(model)
        if not hasattr(released, "fixed_"):
            raise InputError(f"'{model}' is not a model of related tables; give the model `simulacra fit` made "
                             "from the folder, or leave --model out")
        fixed += [t for t in released.fixed_ if t not in fixed]

    frames = {"real": read_database(real), "synthetic": read_database(synthetic)}
    if holdout is not None:
        frames["holdout"] = read_database(holdout)
    with console.status("Evaluating") as status:
        report = evaluate_tables(frames["real"], frames["synthetic"], holdout=frames.get("holdout"), metadata=metadata,
                                 random_state=seed, progress=lambda what: status.update(f"Evaluating: {what}"),
                                 fixed=fixed)
    console.print(f"[green]✓[/green] Evaluated {len(report.tables)} tables and {len(report.relationships)} "
                  f"relationships in {report.info['total_seconds']:.1f}s")
    _outputs(report, json_path, html_path)


def _outputs(report: Any, json_path: Optional[Path], html_path: Optional[Path]) -> None:
    """Warnings, the JSON and HTML files asked for, and the summary table."""
    from rich.console import Console

    from simulacra.cli.common import console, step

    for message in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {message}")
    if json_path is not None:
        report.to_json(json_path)
        console.print(f"[green]✓[/green] JSON written to {json_path}")
    if html_path is not None:
        with step(f"Writing the HTML report to {html_path}"):
            report.to_html(html_path)
    Console().print(report.summary())


def _evaluate_sequences(frames: dict, entity: Optional[str], order: Optional[str], json_path: Optional[Path],
                        html_path: Optional[Path], seed: int) -> None:
    import json

    from simulacra.cli.common import console, step
    from simulacra.errors import InputError
    from simulacra.evaluate.sequence import evaluate_sequences

    if not entity or not order:
        raise InputError("The sequence report needs both --entity and --order.")
    with step("Evaluating histories"):
        report = evaluate_sequences(frames["real"], frames["synthetic"], entity=entity, order=order,
                                    holdout=frames.get("holdout"), random_state=seed)
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=1, default=float))
        console.print(f"[green]✓[/green] JSON written to {json_path}")
    if html_path is not None:
        from simulacra.evaluate.sequence_html import write_sequence_html

        with step(f"Writing the HTML report to {html_path}"):
            write_sequence_html(report, html_path)
    lines = [
        f"entities: real {report['entities']['real']:,}, synthetic {report['entities']['synthetic']:,}",
        f"events per entity (1 − KS): {report['length_ks_complement']:.3f}",
        f"gaps between events (1 − KS): {report['gap_ks_complement']:.3f}",
        f"order strictly increasing: {report['order_increasing']:.1%}; duplicate (entity, order): {report['duplicate_entity_order']}",
    ]
    if report["static_coherence"] is not None:
        lines.append(f"static attributes constant within entities: {report['static_coherence']:.1%}")
    if report["autocorrelation_max_gap"] is not None:
        lines.append(f"largest gap in autocorrelation (lags 1–5): {report['autocorrelation_max_gap']:.3f}")
    for column, kinds in report.get("cross_entity_correlation", {}).items():
        for kind, pair in kinds.items():
            synthetic = "–" if pair["synthetic"] is None else f"{pair['synthetic']:.3f}"
            lines.append(f"same-date correlation of two entities' {column} {kind.replace('_', ' ')}: "
                         f"real {pair['real']:.3f}, synthetic {synthetic}")
    for rule in report["row_rules"]:
        lines.append(f"rule {rule['rule']}: real {rule['real']:.2%}, synthetic {rule['synthetic']:.2%}")
    if report["window_detection_auc"] is not None:
        lines.append(f"window detection ROC AUC (0.5 ideal): {report['window_detection_auc']:.3f}")
    if "privacy" in report:
        lines.append(f"entity-level DCR share (0.5 ideal): {report['privacy']['entity_dcr_share']:.3f}")
    lines.append(f"synthetic histories equal to a real one: {report['copied_histories']}")
    console.print("\n".join(lines))


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command."""
    app.command("evaluate")(evaluate_command)
