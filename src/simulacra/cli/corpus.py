"""``simulacra corpus SOURCE --tasks ... -n N -o DIR``: a training corpus from documents or an API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from simulacra.cli.text import Cache, Conc, Llm, Model, Seed, Threads


def _is_api(source: str) -> bool:
    p = Path(source)
    if p.suffix.lower() in (".yaml", ".yml", ".json", ".py"):
        return True
    return not p.exists() and "." in source and "/" not in source  # a module name


def corpus(
    source: Annotated[str, typer.Argument(help="A folder or file of .md/.txt documents, or an API: an OpenAPI "
                                          ".yaml/.json, a .py file of functions, or a module name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (rows, rejected rows, chat messages, "
                                         "pairs, a Hugging Face datasets folder with its card, the manifest).")],
    tasks: Annotated[str, typer.Option("--tasks", help="Documents: qa, instruct or qa,instruct. An API: calls.")] = "",
    n: Annotated[int, typer.Option("-n", "--rows", help="Rows wanted.")] = 1000,
    eval_set: Annotated[Path | None, typer.Option("--eval", help="An evaluation set (JSONL with request/question/"
                                                  "prompt, or lines): rows sharing an n-gram with it are kept apart.")] = None,
    ngram: Annotated[int, typer.Option("--ngram", help="Word n-gram size of the decontamination check.")] = 8,
    model_share: Annotated[str, typer.Option("--model-share", help="Calls: share of requests the model rephrases "
                                             "(0 = templates only; auto: 0.3 with a server model, 0 with the "
                                             "embedded one, whose rewrites measured too unreliable).")] = "auto",
    phrasing: Annotated[str, typer.Option("--phrasing", help="Documents: who writes questions: template, model, "
                                          "auto.")] = "auto",
    max_words: Annotated[int, typer.Option("--max-words", help="Documents: most words in a chunk (sections, tables and "
                                           "code blocks are never cut).")] = 350,
    timeout: Annotated[float, typer.Option("--call-timeout", help="Calls: seconds one call may run.")] = 5.0,
    open_book: Annotated[bool, typer.Option("--open-book", help="Documents, QA: put the passage that holds the answer "
                                            "(and --distractors retrieved passages of other chunks) before each "
                                            "question, for retrieval-grounded answering (uplift llm --context).")] = False,
    passage_words: Annotated[int, typer.Option("--passage-words", help="Open book: most words in a passage.")] = 100,
    distractors: Annotated[int, typer.Option("--distractors", help="Open book: passages without the answer added to "
                                             "each row (the retriever's best from other chunks).")] = 1,
    llm: Llm = "local", model: Model = None, concurrency: Conc = 4, threads: Threads = 2, seed: Seed = 0,
    cache: Cache = None,
) -> None:
    """Build a training corpus: grounded QA and instructions from documents, or verified function calls from an API."""
    from simulacra.cli.common import console
    from simulacra.errors import InputError

    wanted = [t.strip() for t in tasks.split(",") if t.strip()]
    api = _is_api(source)
    if not wanted:
        wanted = ["calls"] if api else ["qa"] if open_book else ["qa", "instruct"]
    if open_book and (api or wanted != ["qa"]):
        raise InputError("--open-book makes QA rows from documents (an instruction is answered by its whole chunk, "
                         f"which the passages would hand over); use --tasks qa, not {','.join(wanted)}")
    if api != (wanted == ["calls"]):
        raise InputError("--tasks calls needs an API (OpenAPI .yaml/.json, a .py file or a module); qa/instruct need "
                         f"a folder or file of documents; got '{source}' with --tasks {','.join(wanted)}")
    if n < 1:
        raise InputError(f"-n must be at least 1, got {n}")
    output.mkdir(parents=True, exist_ok=True)
    share = _share(model_share)
    engine = None
    if not api or share is None or share > 0:
        from simulacra.cli.text import _engine

        engine = _engine(llm, model, concurrency, threads, cache, output / "manifest.json")
    if share is None:
        from simulacra.text.tasks.grounded import resolve_phrasing

        assert engine is not None
        share = 0.3 if resolve_phrasing("auto", engine) == "model" else 0.0
        if share == 0.0 and api:
            engine.close()
            engine = None
    command = "simulacra corpus " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "simulacra corpus"
    try:
        manifest = (_calls(source, n, engine, seed, share, timeout, eval_set, ngram, output, command) if api
                    else _docs(source, n, wanted, engine, seed, phrasing, max_words, eval_set, ngram, output, command,
                               (passage_words, distractors) if open_book else None))
    finally:
        if engine is not None:
            engine.close()
    out = manifest["output"]
    console.print(f"[green]✓[/green] {out['rows']} rows of {n} asked -> {output} (rejected {out['rejected']}, kept apart "
                  f"in rejected.jsonl; chat rows {out['messages']}; pairs {out['pairs']})")
    for name, st in (manifest.get("verification") or {}).items():
        failed = ", ".join(f"{k}: {v}" for k, v in st["failed"].items())
        console.print(f"  {name}: {st['passed']} of {st['inputs']} passed" + (f" (failed {failed})" if failed else ""))
    if "verification" not in manifest:
        for st in manifest["stages"]:
            removed = ", ".join(f"{k}: {v}" for k, v in sorted(st["filtered"].items(), key=lambda kv: -kv[1])[:3])
            console.print(f"  {st['stage']}: {st['outputs']} of {st['inputs']} passed" + (f" (removed {removed})" if removed else ""))
    cov = manifest.get("coverage")
    if cov:
        r = cov["rows_per_chunk"]
        console.print(f"  coverage: {cov['chunks_used']} of {cov['chunks']} chunks used; rows per chunk min {r['min']}, "
                      f"median {r['median']:g}, max {r['max']}")
    dec = manifest.get("decontamination")
    if dec:
        console.print(f"  decontamination: {dec['rows_contaminated']} of {dec['rows_checked']} rows share a "
                      f"{dec['ngram']}-gram with {dec['eval_set']} (kept apart)")
    for note in manifest.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}")


def _share(value: str) -> float | None:
    """``--model-share``: a number in [0, 1], or None for ``auto``."""
    from simulacra.errors import InputError

    if value.strip().lower() == "auto":
        return None
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise InputError(f"--model-share must be 'auto' or a number from 0 to 1, got '{value}'")
    return share


def _decontaminate(res: Any, eval_set: Path | None, ngram: int, fields: tuple[str, ...]) -> dict[str, Any] | None:
    if eval_set is None:
        return None
    from simulacra.text.corpus.decontam import decontaminate, eval_texts

    res.records, report = decontaminate(res, res.records, eval_texts(eval_set), fields, n=ngram, source=str(eval_set))
    return report


def _calls(source: str, n: int, engine: Any, seed: int, model_share: float, timeout: float, eval_set: Path | None,
           ngram: int, output: Path, command: str) -> dict[str, Any]:
    from simulacra.text.calls import load_api
    from simulacra.text.calls.corpus import build_calls
    from simulacra.text.calls.output import write_calls_corpus

    from simulacra.text.corpus.decontam import eval_texts

    texts = eval_texts(eval_set) if eval_set is not None else None
    with load_api(source) as api:
        res = build_calls(api, n, engine=engine, seed=seed, model_share=model_share if engine is not None else 0.0,
                          timeout=timeout, eval_requests=texts, ngram=ngram)
        report = res.config.get("decontamination")
        if report is not None:
            report["eval_set"] = str(eval_set)
        return write_calls_corpus(res, api, output, command=command, extra={"decontamination": report})


def _docs(source: str, n: int, tasks: list[str], engine: Any, seed: int, phrasing: str, max_words: int,
          eval_set: Path | None, ngram: int, output: Path, command: str, book: tuple[int, int] | None) -> dict[str, Any]:
    from simulacra.text.corpus.docs import build_docs, coverage
    from simulacra.text.corpus.docs_output import write_docs_corpus
    from simulacra.text.corpus.passages import open_book

    res, chunks = build_docs(source, n, tasks=tasks, engine=engine, seed=seed, max_words=max_words, phrasing=phrasing)
    if book is not None:
        open_book(res, chunks, passage_words=book[0], distractors=book[1], seed=seed)
    report = _decontaminate(res, eval_set, ngram, ("question", "instruction"))
    (output / "chunks.jsonl").write_text("".join(json.dumps(c.as_dict()) + "\n" for c in chunks), encoding="utf-8")
    return write_docs_corpus(res, output, command=command,
                             extra={"coverage": coverage(res.records, chunks), "decontamination": report})


def register(app: typer.Typer) -> None:
    """Add the ``corpus`` command."""
    app.command("corpus")(corpus)
