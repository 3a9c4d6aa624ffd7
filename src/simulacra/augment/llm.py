"""The uplift experiment for language models: does fine-tuning on synthetic calls make a model better at
function calling on real held-out requests?

Every model answers every held-out request under the same prompt format as training
(:func:`simulacra.train.data.call_messages`, greedy decoding). Per row: the calls in the answer are parsed,
and compared with the expected call(s) after filling in documented defaults and ignoring argument order and
``2`` vs ``2.0`` (:meth:`simulacra.text.calls.Api.canonical`). Metrics, as shares:

- ``exact_match``: the answer makes exactly the expected calls, or none where none is expected;
- ``name_match``: rows that expect a call, where the first call names the right function;
- ``schema_valid``: rows that expect a call, where the model made calls that all validate against the schema;
- ``executes``: rows that expect a call, where the model's calls all validate and run without error;
- ``no_call_accuracy``: rows that expect no call, where the model made none.

A model folder with ``seed-N`` sub-folders (``simulacra train sft --seeds``) is one model trained over
several seeds: each is a repeat, and the verdicts weigh gains against that seed-to-seed noise, in the same
words as the table and text uplift. Greedy decoding of one model is deterministic, so a model without seeds
(the base) is one run, paired with every repeat of the others.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulacra.errors import BackendError, InputError
from simulacra.text.cache import ResponseCache
from simulacra.text.types import stable_hash

METRICS = ["exact_match", "name_match", "schema_valid", "executes", "no_call_accuracy"]
LABELS = dict(zip(METRICS, ["exact match", "right function", "schema valid", "runs", "no-call accuracy"]))
Progress = Callable[[str], None]


def score_answer(api: Any, text: str, expected: Sequence[dict[str, Any]], timeout: float = 5.0) -> dict[str, Any]:
    """The metrics of one answer (None where a metric does not apply to this row) and the parsed calls."""
    from simulacra.text.calls import CallExecutionError, parse_calls

    made = parse_calls(text)
    exact = [api.canonical(c) for c in made] == [api.canonical(c) for c in expected]
    if not expected:
        return {"exact_match": float(exact), "no_call_accuracy": float(not made), "made": made}
    valid = bool(made) and all(not api.validate(c) for c in made)
    runs = valid
    if valid:
        for c in made:
            try:
                api.execute(c, timeout=timeout)
            except CallExecutionError:
                runs = False
                break
    return {"exact_match": float(exact), "name_match": float(bool(made) and made[0].get("name") == expected[0]["name"]),
            "schema_valid": float(valid), "executes": float(runs), "made": made}


def model_runs(spec: str, base: str) -> list[tuple[int, str]]:
    """``(repeat, model path)`` for a ``--models`` entry: ``base`` or a folder (``seed-N`` sub-folders are repeats)."""
    from simulacra.text.backends.hf import is_model_folder
    from simulacra.train.loop import seed_folders

    if spec == "base":
        return [(0, base if is_model_folder(base) else f"hf:{base}")]
    if not Path(spec).is_dir():
        raise InputError(f"Model '{spec}' is not a folder; give 'base' or folders written by simulacra train")
    folders = seed_folders(spec)
    if not all(is_model_folder(f) for f in folders):
        raise InputError(f"{spec} holds no model (no config.json, and no seed-N folders with one)")
    return [(i, str(f)) for i, f in enumerate(folders)]


@dataclass
class LlmUpliftResult:
    """Every (model, repeat) run with its metrics; per-row answers; summaries, verdicts and renderings."""

    runs: pd.DataFrame
    answers: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)
    headline: str = "exact_match"
    #: ``function-calling`` or ``qa`` (:mod:`simulacra.augment.llm_qa`); the metrics and their labels follow it
    task: str = "function-calling"
    metrics: list[str] = field(default_factory=lambda: list(METRICS))
    labels: dict[str, str] = field(default_factory=lambda: dict(LABELS))

    def summary(self) -> pd.DataFrame:
        """Mean and sample sd over repeats of every metric, per model (in the order given)."""
        order = list(dict.fromkeys(self.runs["method"]))
        g = self.runs.groupby("method", sort=False)
        out = g["repeat"].nunique().rename("repeats").to_frame()
        for m in self.metrics:
            out[m] = g[m].mean()
            out[f"{m}_sd"] = g[m].std(ddof=1)
        out = out.reset_index().rename(columns={"method": "model"})
        return out.set_index("model").loc[order].reset_index()

    def verdicts(self, metric: str | None = None) -> list[dict[str, Any]]:
        """Each model against the first (the base), and each later model against the one before it."""
        from simulacra.augment.report import verdicts

        metric = metric or self.headline
        models = list(dict.fromkeys(self.runs["method"]))
        pairs = [(models[0], m, m) for m in models[1:]]
        pairs += [(prev, cur, f"{cur} over {prev}") for prev, cur in zip(models[1:], models[2:])]
        return [{**v, "method": name} for base, arm, name in pairs
                for v in verdicts(_paired(self.runs, base, arm), metric, baseline=base)]

    def to_dict(self) -> dict[str, Any]:
        from simulacra.augment.llm_report import to_dict

        return to_dict(self)

    def to_text(self) -> str:
        from simulacra.augment.llm_report import render_text

        return render_text(self)

    def save_json(self, path: str | Path) -> None:
        from simulacra.augment.llm_report import save_json

        save_json(self, path)

    def save_html(self, path: str | Path) -> None:
        from simulacra.augment.llm_report import save_html

        save_html(self, path)


def _paired(runs: pd.DataFrame, base: str, arm: str) -> pd.DataFrame:
    """The runs of ``base`` and ``arm``; a base with one run (greedy decoding is deterministic) is paired with
    every repeat of an arm trained over several seeds. An arm with one run stays one: no noise estimate."""
    b, a = runs[runs["method"] == base], runs[runs["method"] == arm]
    if b["repeat"].nunique() == 1 and a["repeat"].nunique() > 1:
        b = pd.concat([b.assign(repeat=r) for r in a["repeat"].unique()], ignore_index=True)
    return pd.concat([b, a], ignore_index=True)


#: makes the backend that runs one model folder (or ``hf:<name>``); the default is transformers
BackendFactory = Callable[[str], Any]


def model_fingerprint(path: str) -> str:
    """What identifies a model's answers in the answer cache: its path and, for a folder or file, the name, size and
    modification time of every file in it (a folder trained again gets new answers)."""
    target = Path(path)
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target] if target.is_file() else []
    stats = [(str(p.relative_to(target) if target.is_dir() else p.name), p.stat().st_size, p.stat().st_mtime_ns)
             for p in files]
    return stable_hash({"path": str(target.resolve()) if files else path, "files": stats})


def answer_with_models(models: Sequence[str], base: str, requests: Sequence[Any], *, factory: BackendFactory | None = None,
                       batch_size: int = 8, n_threads: int | None = None, device: str | None = None,
                       cache: ResponseCache | str | Path | None = None,
                       ) -> Iterator[tuple[str, int, str, list[Any], float]]:
    """``(model spec, repeat, path, completions, seconds)`` for every run of every model (see :func:`model_runs`);
    each run in a fresh backend from ``factory`` (default: transformers on ``device``), closed after its answers.

    With ``cache`` (a :class:`~simulacra.text.cache.ResponseCache` or an sqlite file), every run's answers are
    stored as soon as the run ends, keyed by the model's files (:func:`model_fingerprint`), the backend settings and
    the request; a run whose every answer is stored is not run again, so a failure in a later model (out of memory,
    a bad folder) loses no finished run: the rerun resumes.
    """
    if not models:
        raise InputError("Give at least one model (e.g. --models base,tuned/)")
    custom = factory is not None
    if factory is None:
        from simulacra.text.backends.hf import TransformersBackend

        def factory(path: str) -> Any:
            return TransformersBackend(path, n_threads=n_threads, batch_size=batch_size, device=device)
    runs = [(spec, run) for spec in models for run in model_runs(spec, base)]  # every folder checked before any model runs
    store = cache if cache is None or isinstance(cache, ResponseCache) else ResponseCache(cache)
    try:
        yield from _answer_runs(runs, requests, factory, store, "custom" if custom else "transformers", batch_size, device)
    finally:
        if store is not None and store is not cache:
            store.close()


def _answer_runs(runs: Sequence[tuple[str, tuple[int, str]]], requests: Sequence[Any], factory: BackendFactory,
                 cache: ResponseCache | None, backend_name: str, batch_size: int, device: str | None,
                 ) -> Iterator[tuple[str, int, str, list[Any], float]]:
    for spec, (repeat, path) in runs:
        start = time.perf_counter()
        backend_id = stable_hash({"model": model_fingerprint(path), "backend": backend_name,
                                  "batch_size": batch_size, "device": device})
        keys = [r.key(backend_id) for r in requests] if cache is not None else []
        stored = cache.get_many(keys) if cache is not None else {}
        if keys and len(stored) == len(set(keys)):
            yield spec, repeat, path, [stored[k] for k in keys], round(sum(stored[k].seconds for k in set(keys)), 1)
            continue
        backend = factory(path)
        try:
            out = list(backend.complete(list(requests)))
        finally:
            backend.close()
        if cache is not None and len(out) == len(requests):
            for key, completion in zip(keys, out):
                cache.put(key, backend_id, completion)
        if len(out) != len(requests):  # answers are matched to rows by position: a gap would shift every later one
            raise BackendError(f"{spec} ({path}) answered {len(out)} of {len(requests)} requests; every held-out row "
                               "needs its answer (the scores match answers to rows by position)")
        yield spec, repeat, path, out, round(time.perf_counter() - start, 1)


def run_llm_uplift(api: Any, eval_rows: str | Path, models: Sequence[str], *, base: str = "smollm2-135m",
                   max_tokens: int = 96, batch_size: int = 8, n_threads: int | None = None,
                   device: str | None = None, progress: Progress | None = None,
                   factory: BackendFactory | None = None, cache: str | Path | None = None) -> LlmUpliftResult:
    """Answer the held-out requests of ``eval_rows`` with each model and score the calls (see the module docstring).

    ``models`` are ``base`` (``base``, run by transformers) or model folders; the first one is the baseline. Every
    model runs in the same backend (transformers, or ``factory``) on ``device`` (None: a CUDA GPU when torch sees
    one, else the CPU). ``cache`` (an sqlite file) keeps every finished run's answers: a rerun after a failure
    answers only the runs that did not finish (see :func:`answer_with_models`).
    """
    from simulacra.text.backends.hf import resolve_device
    from simulacra.text.calls import load_api
    from simulacra.text.types import ChatRequest
    from simulacra.train.data import call_messages, expected_calls, read_rows

    if not models:
        raise InputError("Give at least one model (e.g. --models base,tuned/)")
    api = load_api(api)
    device = resolve_device(device)
    rows = [(expected_calls(r, w), r["request"]) for w, r in read_rows(eval_rows)]
    requests = [ChatRequest(messages=tuple(call_messages(api, text)), temperature=0.0, max_tokens=max_tokens)
                for _, text in rows]
    say = progress or (lambda msg: None)
    records, answers = [], []
    for spec, repeat, path, out, seconds in answer_with_models(models, base, requests, factory=factory,
                                                                batch_size=batch_size, n_threads=n_threads,
                                                                device=device, cache=cache):
        scores = [score_answer(api, c.text, exp) for c, (exp, _) in zip(out, rows)]
        rec: dict[str, Any] = {"method": spec, "ratio": math.nan, "repeat": repeat, "path": path,
                               "rows": len(rows), "seconds": seconds}
        for m in METRICS:
            vals = [s[m] for s in scores if m in s]
            rec[m] = sum(vals) / len(vals) if vals else math.nan
        records.append(rec)
        answers += [{"model": spec, "repeat": repeat, "request": text, "expected": exp, "answer": c.text,
                     "made": s["made"], "exact": bool(s["exact_match"])}
                    for c, s, (exp, text) in zip(out, scores, rows)]
        say(f"{spec} (repeat {repeat}): exact match {rec['exact_match']:.1%} on {len(rows)} requests "
            f"in {rec['seconds']:.0f} s")
    info = {"api": api.source, "eval": str(eval_rows), "requests": len(rows),
            "expecting_no_call": sum(not exp for exp, _ in rows), "base": base, "decoding": "greedy",
            "max_tokens": max_tokens, "models": ", ".join(models), "backend": "transformers" if factory is None else "custom",
            "device": device}
    return LlmUpliftResult(pd.DataFrame(records), answers, info)


__all__ = ["LABELS", "METRICS", "BackendFactory", "LlmUpliftResult", "answer_with_models", "model_fingerprint", "model_runs", "run_llm_uplift", "score_answer"]
