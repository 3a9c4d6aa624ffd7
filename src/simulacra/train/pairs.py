"""Preference pairs from a tuned model's own answers, labelled by the function-calling verifiers (RLAIF).

For each request of a function-calling corpus (rows ``{"request", "call"}``) the model samples a few answers.
Each is labelled by the verifiers: it is *correct* when its calls validate against the schema, run, and
match the request's call (defaults filled in, argument order ignored), or when it makes no call where none
is wanted. A correct answer is *chosen*; the most plausible wrong one (a call that runs but is not the one
asked, then an invalid call, then no call or unparsable text) is *rejected*. Where no sample is correct, the
reference answer is chosen (``chosen_source: "reference"``) unless ``own_only``. Requests where every sample
is correct teach nothing and give no pair; every request is counted in the report.

A model trained over several seeds (``seed-N`` folders) gives pairs from each seed's own answers, marked with
``seed`` so that ``simulacra train dpo`` trains each seed on its own pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulacra.errors import InputError

#: how useful a wrong answer is as the rejected side (higher: closer to right, a harder negative)
_RANK = {"wrong call": 3, "extra call": 3, "does not run": 2, "invalid call": 1, "no call": 0, "unparsable": 0}


def label(api: Any, text: str, expected: list[dict[str, Any]], timeout: float = 5.0) -> str:
    """``correct`` or why not: wrong call, extra call (none was wanted), does not run, invalid call, no call, unparsable."""
    from simulacra.text.calls import CallExecutionError, parse_calls

    made = parse_calls(text)
    if any(c.get("name") is None for c in made):
        return "unparsable"
    if not made:
        return "correct" if not expected else "no call"
    if any(api.validate(c) for c in made):
        return "invalid call"
    for c in made:
        try:
            api.execute(c, timeout=timeout)
        except CallExecutionError:
            return "does not run"
    if not expected:
        return "extra call"
    same = [api.canonical(c) for c in made] == [api.canonical(c) for c in expected]
    return "correct" if same else "wrong call"


def make_pairs(model: str | Path, api: Any, data: str | Path, *, samples: int = 4, temperature: float = 0.8,
               n: int | None = None, seed: int = 0, own_only: bool = False, max_tokens: int = 96,
               device: str | None = None, batch_size: int = 32,
               progress: Callable[[str], None] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(pairs, report)`` from ``model``'s sampled answers to the requests of ``data`` (see the module docstring)."""
    from simulacra.text.backends.hf import TransformersBackend
    from simulacra.text.calls import load_api
    from simulacra.text.types import ChatRequest
    from simulacra.train.data import call_answer, call_messages, expected_calls, read_rows
    from simulacra.train.loop import seed_folders

    if samples < 2:
        raise InputError("Sample at least 2 answers per request (--samples) to have something to compare")
    api = load_api(api)
    rows = [(expected_calls(r, w), r["request"]) for w, r in read_rows(data)][:n]
    say = progress or (lambda msg: None)
    folders = seed_folders(model)
    pairs: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    for folder in folders:
        model_seed = int(folder.name[5:]) if len(folders) > 1 else None
        backend = TransformersBackend(folder, device=device, batch_size=batch_size)
        try:
            # every request's samples in one go: a GPU decodes them in batches (the CPU one by one)
            reqs = [ChatRequest(messages=tuple(call_messages(api, text)), temperature=temperature,
                                max_tokens=max_tokens, seed=seed * 1_000_003 + i * samples + j)
                    for i, (_, text) in enumerate(rows) for j in range(samples)]
            done = [0]

            def tick(index: int, _: Any) -> None:
                done[0] += 1
                if done[0] % (25 * samples) == 0:
                    say(f"{folder}: {done[0] // samples} of {len(rows)} requests answered")

            texts = [c.text for c in backend.complete(reqs, on_result=tick)]
            for i, (expected, text) in enumerate(rows):
                answers = texts[i * samples:(i + 1) * samples]
                tags = [label(api, a, expected) for a in answers]
                labels.update(tags)
                pair = _pair(answers, tags, expected, own_only, call_answer)
                counts[pair["outcome"] if pair else "every sample correct"] += 1
                if pair and "chosen" in pair:
                    pairs.append({"request": text, **pair, **({"seed": model_seed} if model_seed is not None else {})})
            say(f"{folder}: {len(rows)} requests, {len(pairs)} pairs so far")
        finally:
            backend.close()
    report = {"model": str(model), "requests": len(rows), "models": len(folders), "samples": samples,
              "temperature": temperature, "pairs": len(pairs), "outcomes": dict(counts), "labels": dict(labels)}
    return pairs, report


def _pair(answers: list[str], tags: list[str], expected: list[dict[str, Any]], own_only: bool,
          render: Callable[[Any], str]) -> dict[str, Any] | None:
    """The pair of one request, or None when every sample is correct; ``outcome`` says which case it was."""
    wrong = [(a, t) for a, t in zip(answers, tags) if t != "correct"]
    if not wrong:
        return None
    rejected, why = max(wrong, key=lambda at: _RANK.get(at[1], 0))
    right = [a for a, t in zip(answers, tags) if t == "correct"]
    if right:
        return {"chosen": right[0], "rejected": rejected, "rejected_label": why, "chosen_source": "model",
                "outcome": "own answers"}
    if own_only:
        return {"outcome": "no correct sample (skipped: --own-only)"}
    reference = render(expected if len(expected) > 1 else expected[0] if expected else None)
    return {"chosen": reference, "rejected": rejected, "rejected_label": why, "chosen_source": "reference",
            "outcome": "no correct sample: reference chosen"}


__all__ = ["label", "make_pairs"]
