"""``simulacra uplift table|text|llm``: does augmentation make the downstream model better on a real test set?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from simulacra.cli.common import console

uplift_app = typer.Typer(help="Measure the uplift of augmentation on a downstream model (real test set).", no_args_is_help=True)


def _floats(text: str, option: str) -> list[Any]:
    from simulacra.errors import InputError

    out: list[Any] = []
    for part in text.split(","):
        part = part.strip()
        if part in ("auto", ""):
            out.append(None)
            continue
        try:
            out.append(float(part.split(":")[0]) / float(part.split(":")[1]) if ":" in part else float(part))
        except (ValueError, ZeroDivisionError):
            raise InputError(f"{option} expects numbers separated by commas (e.g. 0.5,1,2), got '{part}'") from None
    return out


def _finish(result: Any, json_path: Path | None, html_path: Path | None) -> None:
    typer.echo(result.to_text())  # stdout, unwrapped: the table can be piped into a file
    if json_path:
        result.save_json(json_path)
        console.print(f"JSON written to [bold]{json_path}[/bold]")
    if html_path:
        result.save_html(html_path)
        console.print(f"HTML report written to [bold]{html_path}[/bold]")


def _progress() -> Any:
    return lambda msg: console.log(msg, highlight=False)


@uplift_app.command("table")
def table(
    train: Annotated[Path, typer.Argument(help="Real training table.")],
    test: Annotated[Path, typer.Argument(help="Real test table (never shown to the augmentations).")],
    target: Annotated[str, typer.Option("--target", "-t", help="Class column.")],
    methods: Annotated[str, typer.Option("--methods", help="Comma-separated, among none, random, smote, synth.")] = "none,smote,synth",
    ratios: Annotated[str, typer.Option("--ratios", help="balance mode: minority share of the majority; mix mode: synthetic rows per real row.")] = "1",
    mode: Annotated[str, typer.Option("--mode", help="balance (classes to a ratio) or mix (synthetic rows per real row).")] = "balance",
    repeats: Annotated[int, typer.Option("--repeats", help="Seeds per setting.")] = 5,
    train_size: Annotated[int | None, typer.Option("--train-size", help="Draw this many training rows per repeat (scarcity).")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Synthesizer for 'synth'; default: the best available.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="First seed.")] = 0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write every run and the summary as JSON.")] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML page with a plot.")] = None,
) -> None:
    """Gradient boosting on real only vs real + each augmentation, scored on the real test set."""
    from simulacra.augment.uplift import run_table_uplift
    from simulacra.io import read_table

    result = run_table_uplift(
        read_table(train), read_table(test), target, methods=[m.strip() for m in methods.split(",") if m.strip()],
        ratios=[r if r is not None else 1.0 for r in _floats(ratios, "--ratios")], mode=mode, repeats=repeats,
        seed=seed, train_size=train_size, synthesizer=model, progress=_progress(),
    )
    _finish(result, json_path, html_path)


@uplift_app.command("text")
def text(
    train: Annotated[Path, typer.Argument(help="Real labelled training texts.")],
    test: Annotated[Path, typer.Argument(help="Real labelled test texts (never shown to the augmentations).")],
    text_col: Annotated[str, typer.Option("--text", help="Text column.")],
    label: Annotated[str, typer.Option("--label", help="Label column.")],
    methods: Annotated[str, typer.Option("--methods", help="Comma-separated, among none, eda, eda-filtered, llm.")] = "none,eda",
    ratios: Annotated[str, typer.Option("--ratios", help="New texts per real one; 'auto' = the EDA paper's value for the data size.")] = "auto",
    repeats: Annotated[int, typer.Option("--repeats", help="Seeds (and draws, with --train-size) per setting.")] = 5,
    train_size: Annotated[int | None, typer.Option("--train-size", help="Draw this many training texts per repeat.")] = None,
    backend: Annotated[str, typer.Option("--backend", help="LLM for 'llm': local, a .gguf path, an OpenAI-compatible URL, or fake.")] = "local",
    alpha: Annotated[float, typer.Option("--alpha", help="EDA: share of words changed by each operation.")] = 0.1,
    classifier: Annotated[str, typer.Option("--classifier", help="Downstream model: tfidf-lr, or embedding-lr (sentence embeddings of the local model).")] = "tfidf-lr",
    embed_model: Annotated[Path | None, typer.Option("--embed-model", help="GGUF file for embedding-lr (default: the packaged SmolLM2).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="First seed.")] = 0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write every run and the summary as JSON.")] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML page with a plot.")] = None,
) -> None:
    """A text classifier on real only vs real + each augmentation, scored on the real test set."""
    from simulacra.augment.uplift import run_text_uplift
    from simulacra.io import read_table

    chosen = [m.strip() for m in methods.split(",") if m.strip()]
    generator = None
    if "llm" in chosen:
        from simulacra.text.backends import get_backend

        generator = get_backend(backend)
    embedder = None
    if classifier == "embedding-lr":
        from simulacra.text.embed import LocalEmbedder

        embedder = LocalEmbedder(embed_model)
    result = run_text_uplift(
        read_table(train), read_table(test), text_col, label, methods=chosen, ratios=_floats(ratios, "--ratios"),
        repeats=repeats, seed=seed, train_size=train_size, generator=generator,
        eda_params={"alpha_sr": alpha, "alpha_ri": alpha, "alpha_rs": alpha, "p_rd": alpha}, progress=_progress(),
        classifier=classifier, embedder=embedder,
    )
    _finish(result, json_path, html_path)


@uplift_app.command("llm")
def llm(
    eval_path: Annotated[Path, typer.Option("--eval", help='Held-out JSONL rows: {"request": ..., "call": {"name", "arguments"} | null} (function calling, with --api) or {"question": ..., "answer": ...} (QA).')],
    api: Annotated[str | None, typer.Option("--api", help="Function calling: the tools, a .py file, a module name or an OpenAPI file (the one that made the corpus).")] = None,
    task: Annotated[str, typer.Option("--task", help="calls, qa, or auto (from the keys of the held-out rows).")] = "auto",
    models: Annotated[str, typer.Option("--models", help="Comma-separated: base and model folders (seed-N sub-folders are repeats); the first is the baseline.")] = "base",
    base: Annotated[str, typer.Option("--base", help="What 'base' is: an installed model name, a .gguf file or a model folder.")] = "smollm2-135m",
    judge: Annotated[str | None, typer.Option("--judge", help="QA: a model or server (http://HOST:PORT/v1) for judged correctness; used only if it passes the judge calibration.")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Longest answer, in tokens (default 96 for calls, 64 for QA).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Requests decoded together.")] = 8,
    threads: Annotated[int | None, typer.Option("--threads", help="torch threads (default: OMP_NUM_THREADS or 1).")] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda or cuda:N (default: a CUDA GPU when torch sees one, else the CPU).")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the summary (one entry per model), verdicts, runs and answers as JSON.")] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML page.")] = None,
    cache: Annotated[Path | None, typer.Option("--cache", help="Answers of finished runs (sqlite), reused by a rerun; default .simulacra-uplift.sqlite beside --json or --html.")] = None,
    context: Annotated[Path | None, typer.Option("--context", help="QA, open book: the documents (a folder or file of .md/.txt); the passages a TF-IDF retriever finds for each question go before it, as in simulacra corpus --open-book.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="QA with --context: passages retrieved per question.")] = 2,
    passage_words: Annotated[int, typer.Option("--passage-words", help="QA with --context: most words in a passage (as in the corpus).")] = 100,
) -> None:
    """Base vs tuned models on held-out rows: function calls (exact match, schema validity, execution, no-call
    accuracy) or questions about documents (answer match, exact match, token F1, judged correctness)."""
    from simulacra.augment.llm_qa import eval_task
    from simulacra.errors import InputError

    if task not in ("auto", "calls", "qa"):
        raise InputError(f"--task must be calls, qa or auto, not '{task}'")
    kind = eval_task(eval_path) if task == "auto" else task
    names = [m.strip() for m in models.split(",") if m.strip()]
    out = json_path or html_path
    cache = cache or (out.parent / ".simulacra-uplift.sqlite" if out else None)
    if kind == "qa":
        from simulacra.augment.llm_qa import run_qa_uplift

        if api:
            console.print("[yellow]--api is not used for QA rows[/yellow]")
        result = run_qa_uplift(eval_path, names, base=base, max_tokens=max_tokens or 64, batch_size=batch_size,
                               n_threads=threads, device=device, judge=judge, progress=_progress(),
                               cache=cache, context=context, top_k=top_k, passage_words=passage_words)
    else:
        from simulacra.augment.llm import run_llm_uplift

        if not api:
            raise InputError("Function-calling rows need the tools that made the corpus: --api FILE_OR_MODULE")
        if context is not None:
            raise InputError("--context is for QA rows (questions about documents); function calls take --api")
        if judge:
            raise InputError("--judge is for QA rows; function calls are checked by the schema, execution and exact match")
        result = run_llm_uplift(api, eval_path, names, base=base, max_tokens=max_tokens or 96, batch_size=batch_size,
                                n_threads=threads, device=device, progress=_progress(), cache=cache)
    _finish(result, json_path, html_path)


def register(app: typer.Typer) -> None:
    app.add_typer(uplift_app, name="uplift")
