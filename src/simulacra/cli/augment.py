"""``simulacra augment table|text``: balance or enlarge a training set with synthetic rows or texts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from simulacra.cli.common import console, step

augment_app = typer.Typer(help="Augment a training set: balance classes or add synthetic rows / texts.", no_args_is_help=True)


@augment_app.command("table")
def table(
    data: Annotated[Path, typer.Argument(help="The real training table (CSV, Parquet or JSONL).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write real + synthetic rows.")],
    target: Annotated[str | None, typer.Option("--target", "-t", help="Class column to balance (any categorical column).")] = None,
    balance: Annotated[str | None, typer.Option("--balance", help="minority:majority after balancing, e.g. 1:1, 1:2, or 2:1 (minority classes twice the majority).")] = None,
    ratio: Annotated[float | None, typer.Option("--ratio", help="Synthetic rows per real row (mixing; per class when --target is set).")] = None,
    where: Annotated[str | None, typer.Option("--where", help="Enlarge one group only: a filter in the spec formula language, e.g. \"age < 25 and sex == 'F'\" (with --ratio).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Synthesizer short name; default: the best available.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    source_column: Annotated[str, typer.Option("--source-column", help="Column marking rows real/synthetic; '' for none.")] = "augmentation",
    consistency: Annotated[float, typer.Option("--consistency", help="Class-consistency filter with --target: redraw synthetic rows less like their class than this share of the real ones (0 = off).")] = 0.2,
) -> None:
    """Balance classes (--target --balance 1:1) or mix in synthetic rows (--ratio, optionally --where)."""
    from simulacra.augment.tables import balance_table, mix_table, parse_balance
    from simulacra.errors import InputError
    from simulacra.io import read_table, write_table

    if target is None and balance is not None:
        raise InputError("--balance needs --target (the class column to balance).")
    if target is None and ratio is None:
        raise InputError("Say what to do: --target COL --balance 1:1 to balance, or --ratio R to mix in synthetic rows.")
    if balance is not None:
        parse_balance(balance)  # a malformed or impossible balance is refused before any work
    with step(f"Reading {data.name}"):
        frame = read_table(data)
    src = source_column or None
    with step("Fitting the synthesizer on the real rows and sampling"):
        if target is not None and where is None:
            out = balance_table(frame, target, balance=None if ratio is not None and balance is None else (balance or "1:1"),
                                ratio=ratio if balance is None else None, synthesizer=model, random_state=seed,
                                source_column=src, consistency=consistency or None)
        else:
            out = mix_table(frame, ratio=1.0 if ratio is None else ratio, where=where, synthesizer=model,
                            random_state=seed, source_column=src)
    write_table(out, output)
    added = len(out) - len(frame)
    console.print(f"{len(frame):,} real + {added:,} synthetic rows written to [bold]{output}[/bold]")
    if target is not None:
        console.print("rows per class: " + ", ".join(f"{k}={v:,}" for k, v in out[target].value_counts().items()))


@augment_app.command("text")
def text(
    data: Annotated[Path, typer.Argument(help="The real labelled texts (CSV, Parquet or JSONL).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write real + augmented rows.")],
    text_col: Annotated[str, typer.Option("--text", help="Text column.")],
    label: Annotated[str | None, typer.Option("--label", help="Label column (needed for llm and --balance).")] = None,
    method: Annotated[str, typer.Option("--method", help="eda or llm.")] = "eda",
    per_example: Annotated[int | None, typer.Option("--per-example", help="New texts per real one (eda default: the paper's value for the data size; llm: 1).")] = None,
    balance: Annotated[bool, typer.Option("--balance", help="llm: make enough new examples to bring every class to the largest.")] = False,
    alpha: Annotated[float | None, typer.Option("--alpha", help="eda: share of words changed by every operation (default 0.1).")] = None,
    ops: Annotated[str, typer.Option("--ops", help="eda: operations to use, among sr,ri,rs,rd.")] = "sr,ri,rs,rd",
    backend: Annotated[str, typer.Option("--backend", help="llm: 'local' (embedded model), a .gguf path, an OpenAI-compatible URL, or 'fake'.")] = "local",
    llm_mode: Annotated[str, typer.Option("--llm-mode", help="llm: paraphrase real examples or write new ones.")] = "paraphrase",
    threshold: Annotated[float, typer.Option("--filter-threshold", help="llm: drop texts the real-data classifier puts in another class with this probability; 1 turns it off.")] = 0.6,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="llm: most seconds for one request (default: 60 against a server).")] = None,
    deadline: Annotated[float, typer.Option("--deadline", help="llm: stop when a server has given no answer for this many seconds.")] = 180.0,
    http_retries: Annotated[int, typer.Option("--http-retries", help="llm: retries of a failed request to a server (refused, timed out, HTTP 429/5xx).")] = 6,
) -> None:
    """Augment labelled texts with EDA or an LLM (paraphrases / new examples, label-consistency filtered)."""
    from simulacra.errors import InputError
    from simulacra.io import read_table, write_table

    frame = read_table(data)
    if method == "eda":
        from simulacra.text.perturb import EDA

        chosen = {o.strip() for o in ops.split(",") if o.strip()}
        bad = chosen - {"sr", "ri", "rs", "rd"}
        if bad:
            raise InputError(f"Unknown EDA operation(s) {', '.join(sorted(bad))}; use sr, ri, rs, rd.")
        a = 0.1 if alpha is None else alpha
        params: dict[str, Any] = {k: (a if o in chosen else 0.0) for k, o in (("alpha_sr", "sr"), ("alpha_ri", "ri"), ("alpha_rs", "rs"), ("p_rd", "rd"))}
        with step(f"EDA on {len(frame):,} texts"):
            out = EDA(random_state=seed, **params).augment_frame(frame, text_col, n_aug=per_example)
    elif method == "llm":
        from simulacra.augment.text import llm_augment
        from simulacra.text.engine import Engine

        if label is None:
            raise InputError("--method llm needs --label (the class of each text).")
        if (timeout is not None and timeout <= 0) or deadline <= 0 or http_retries < 0:
            raise InputError("--timeout and --deadline must be positive numbers of seconds and --http-retries >= 0")
        options: dict[str, Any] = {"deadline": deadline, "max_retries": http_retries}
        if timeout is not None:
            options["timeout"] = timeout
        gen = Engine(backend, **options)
        with step(f"Generating with {getattr(gen, 'model_id', backend)}"):
            out = llm_augment(frame, text_col, label, gen, mode="new" if llm_mode == "new" else "paraphrase",
                              per_example=per_example or 1, balance=balance,
                              filter_threshold=None if threshold >= 1 else threshold, random_state=seed)
        console.print("report: " + ", ".join(f"{k}={v}" for k, v in out.attrs["report"].items()))
    else:
        raise InputError(f"Unknown method {method!r}; use eda or llm.")
    write_table(out, output)
    console.print(f"{len(frame):,} real + {len(out) - len(frame):,} augmented rows written to [bold]{output}[/bold]")


def register(app: typer.Typer) -> None:
    app.add_typer(augment_app, name="augment")
