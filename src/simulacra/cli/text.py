"""``simulacra text ...``: question/answer pairs, instructions, labelled texts, table rows, judgements, reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

text_app = typer.Typer(help="Make text data with an LLM: local by default (embedded model), or any "
                       "OpenAI-compatible server with --llm URL.", no_args_is_help=True)

Out = Annotated[Path, typer.Option("--output", "-o", help="Output file (.jsonl or .parquet).")]
Llm = Annotated[str, typer.Option("--llm", help="'local' (embedded SmolLM2), a .gguf path, an OpenAI-compatible URL, or 'fake'.")]
Model = Annotated[str | None, typer.Option("--model", help="Model name on the server (default: the server's first).")]
Conc = Annotated[int, typer.Option("--concurrency", help="Most requests in flight against a server.")]
Threads = Annotated[int, typer.Option("--threads", help="CPU threads of the embedded model.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed: same seed, same requests, same cached answers.")]
Retries = Annotated[int, typer.Option("--retries", help="Resample invalid structured output up to this many times.")]
Cache = Annotated[Path | None, typer.Option("--cache", help="Response cache (sqlite); default .simulacra-cache.sqlite beside the output.")]
Fmt = Annotated[str | None, typer.Option("--format", help="jsonl, chat, preference or parquet (default from the extension).")]


def _engine(llm: str, model: str | None, concurrency: int, threads: int, cache: Path | None, output: Path) -> Any:
    from simulacra.text.engine import Engine

    cache_path = cache if cache is not None else output.parent / ".simulacra-cache.sqlite"
    return Engine(llm, model=model, concurrency=concurrency, n_threads=threads, cache=cache_path, progress=True)


def _finish(result: Any, engine: Any, output: Path, fmt: str | None) -> None:
    from simulacra.cli.common import console
    from simulacra.text.formats import write_result

    manifest = write_result(result, output, format=fmt, engine_stats=engine.stats())
    e = manifest["engine"]
    console.print(f"[green]✓[/green] {manifest['output']['rows']} rows -> {output} (invalid kept {manifest['rows_invalid_kept']}, "
                  f"filtered {manifest['rows_filtered']}; model calls {e['model_calls']}, cache hits {e['cache_hits']})")
    for note in manifest["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")
    engine.close()


def _lines(path: Path) -> list[str]:
    from simulacra.errors import InputError

    if not path.is_file():
        raise InputError(f"File '{path}' does not exist")
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]


@text_app.command("qa")
def qa(output: Out, topics: Annotated[Path | None, typer.Option(help="A file with one topic per line.")] = None,
       documents: Annotated[Path | None, typer.Option(help="A directory (or file) of .txt/.md documents.")] = None,
       phrasing: Annotated[str, typer.Option(help="Documents: who phrases the question for the answer span: template, model, or auto (model for a server).")] = "auto",
       n: Annotated[int, typer.Option("-n", help="Number of pairs.")] = 20, llm: Llm = "local", model: Model = None,
       concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0, retries: Retries = 2, cache: Cache = None,
       format: Fmt = None) -> None:
    """Question/answer pairs about topics, or grounded in document passages."""
    from simulacra.text.tasks.qa import generate_qa

    eng = _engine(llm, model, concurrency, threads, cache, output)
    res = generate_qa(_lines(topics) if topics else None, n, documents=documents, phrasing=phrasing, seed=seed,
                      retries=retries, engine=eng)
    _finish(res, eng, output, format)


@text_app.command("instruct")
def instruct(output: Out, seeds: Annotated[Path, typer.Option(help="Seed tasks: JSONL with 'instruction', or one per line.")],
             n: Annotated[int, typer.Option("-n", help="Number of new instructions.")] = 50,
             no_outputs: Annotated[bool, typer.Option("--no-outputs", help="Only instructions, no input/output.")] = False,
             llm: Llm = "local", model: Model = None, concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0,
             retries: Retries = 2, cache: Cache = None, format: Fmt = None) -> None:
    """Self-Instruct: bootstrap new instructions (and their outputs) from seed tasks."""
    from simulacra.text.formats import read_jsonl
    from simulacra.text.tasks.instruct import self_instruct

    tasks: list[Any] = read_jsonl(seeds) if seeds.suffix == ".jsonl" else _lines(seeds)
    eng = _engine(llm, model, concurrency, threads, cache, output)
    res = self_instruct(tasks, n, outputs=not no_outputs, seed=seed, retries=retries, engine=eng)
    _finish(res, eng, output, format)


@text_app.command("evolve")
def evolve_cmd(source: Annotated[Path, typer.Argument(help="JSONL with 'instruction', or one per line.")], output: Out,
               rounds: Annotated[int, typer.Option(help="Evolution rounds.")] = 1,
               ops: Annotated[str | None, typer.Option(help="Comma-separated: constraints,deepen,concretize,reasoning,breadth.")] = None,
               llm: Llm = "local", model: Model = None, concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0,
               retries: Retries = 2, cache: Cache = None, format: Fmt = None) -> None:
    """Evol-Instruct: rewrite instructions harder (in-depth) or into new ones (in-breadth)."""
    from simulacra.text.formats import read_jsonl
    from simulacra.text.tasks.evolve import OPERATIONS, evolve

    items: list[Any] = read_jsonl(source) if source.suffix == ".jsonl" else _lines(source)
    eng = _engine(llm, model, concurrency, threads, cache, output)
    operations = [o.strip() for o in ops.split(",")] if ops else list(OPERATIONS)
    res = evolve(items, rounds, operations=operations, seed=seed, retries=retries, engine=eng)
    _finish(res, eng, output, format)


@text_app.command("label")
def label(output: Out, labels: Annotated[str, typer.Option(help="Comma-separated labels.")],
          per_label: Annotated[int, typer.Option("--per-label", help="Texts per label.")] = 20,
          domain: Annotated[str, typer.Option(help="What the texts are, e.g. 'product reviews'.")] = "texts",
          llm: Llm = "local", model: Model = None, concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0,
          retries: Retries = 2, cache: Cache = None, format: Fmt = None) -> None:
    """Labelled texts for a classifier, with a quota per label."""
    from simulacra.text.tasks.label import generate_labelled

    eng = _engine(llm, model, concurrency, threads, cache, output)
    res = generate_labelled([x.strip() for x in labels.split(",") if x.strip()], per_label, domain=domain, seed=seed,
                            retries=retries, engine=eng)
    _finish(res, eng, output, format)


@text_app.command("rows")
def rows(output: Out, schema: Annotated[Path, typer.Option(help="JSON Schema of one row (an object).")],
         n: Annotated[int, typer.Option("-n", help="Number of rows.")] = 20,
         conditions: Annotated[Path | None, typer.Option(help="Fixed field values, one row per output row: a table (CSV/Parquet/JSONL) "
                                                         "or a spec (.yaml) sampled with --seed.")] = None,
         entity: Annotated[str, typer.Option(help="What a row describes, e.g. 'person'.")] = "table",
         per_call: Annotated[int, typer.Option("--per-call", help="Rows written per model call.")] = 4,
         llm: Llm = "local", model: Model = None, concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0,
         retries: Retries = 2, cache: Cache = None, format: Fmt = None) -> None:
    """Table rows under a JSON Schema; enums and bounded numbers sampled in Python, text by the model."""
    from simulacra.text.tasks.rows import generate_rows

    cond = _conditions(conditions, schema, n, seed) if conditions else None
    eng = _engine(llm, model, concurrency, threads, cache, output)
    res = generate_rows(str(schema), n, conditions=cond, entity=entity, rows_per_call=per_call, seed=seed,
                        retries=retries, engine=eng)
    _finish(res, eng, output, format)


def _conditions(path: Path, schema: Path, n: int, seed: int) -> Any:
    """A frame of fixed values: read from a table, or sampled from a spec; only the schema's fields are used."""
    from simulacra.cli.common import console
    from simulacra.io import read_table
    from simulacra.text.schema import to_json_schema

    if path.suffix.lower() in (".yaml", ".yml"):
        from simulacra.spec import Spec

        frame = Spec.from_yaml(path).sample(n, seed=seed)
    else:
        frame = read_table(path)
    props = to_json_schema(str(schema)).get("properties", {})
    unused = [c for c in frame.columns if c not in props]
    if unused:
        console.print(f"[yellow]note:[/yellow] columns {unused} of {path.name} are not in the schema; not used")
    return frame[[c for c in frame.columns if c in props]]


@text_app.command("judge")
def judge_cmd(source: Annotated[Path, typer.Argument(help="JSONL with prompts and responses.")], output: Out,
              rubric: Annotated[str, typer.Option(help="helpfulness, correctness, harmlessness, groundedness, conciseness, or your own text.")] = "helpfulness",
              pairs: Annotated[bool, typer.Option("--pairs", help="Build chosen/rejected pairs per prompt.")] = False,
              candidates: Annotated[int, typer.Option(help="Responses per prompt for --pairs (more are written).")] = 2,
              min_judge_accuracy: Annotated[float, typer.Option("--min-judge-accuracy", help="Refuse a judge below this accuracy on the built-in calibration set (0 to override).")] = 0.75,
              schema: Annotated[Path | None, typer.Option(help="--pairs: a JSON Schema the response must satisfy (a verifier: valid beats invalid).")] = None,
              llm: Llm = "local", model: Model = None, concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0,
              retries: Retries = 2, cache: Cache = None, format: Fmt = None) -> None:
    """Score responses with a rubric; --pairs gives prompt/chosen/rejected."""
    from simulacra.text.formats import read_jsonl
    from simulacra.text.tasks.judge import judge

    records = [r for r in read_jsonl(source) if r.get("_status", "ok") == "ok"]
    eng = _engine(llm, model, concurrency, threads, cache, output)
    import json

    verifier = json.loads(schema.read_text(encoding="utf-8")) if schema is not None else None
    res = judge(records, rubric, pairs=pairs, candidates=candidates, schema=verifier, min_accuracy=min_judge_accuracy,
                seed=seed, retries=retries, engine=eng)
    _finish(res, eng, output, format or ("preference" if pairs else None))


@text_app.command("report")
def report(source: Annotated[Path, typer.Argument(help="A JSONL file made by simulacra text (or any JSONL).")],
           json_out: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON.")] = None) -> None:
    """Counts per stage, duplicate rates, distinct-n, compression ratio, lengths and labels."""
    import json

    from simulacra.text.report import render_report, text_report

    rep = text_report(source)
    typer.echo(render_report(rep))
    if json_out:
        from simulacra.io import atomic_path

        with atomic_path(json_out) as tmp:
            tmp.write_text(json.dumps(rep, indent=2), encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add the ``text`` command group."""
    app.add_typer(text_app, name="text")
