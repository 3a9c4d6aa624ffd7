"""AI feedback: score responses with a rubric, and build chosen/rejected preference pairs (RLAIF-style).

The judge writes a short reason, then an integer score 1-10 under a JSON Schema (llama.cpp grammars do
not enforce the range: validation does, and resamples). With ``pairs=True``, responses are grouped by
prompt; prompts with fewer than ``candidates`` responses get more written by the model; the best and
the worst response form a pair when their scores differ by at least ``min_margin``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulacra.errors import InputError
from simulacra.text.engine import Engine
from simulacra.text.formats import prompt_of, response_of
from simulacra.text.result import TaskResult
from simulacra.text.schema import token_budget
from simulacra.text.tasks import as_engine, call_seed
from simulacra.text.types import ChatRequest

RUBRICS: dict[str, str] = {
    "helpfulness": "How well the response answers the request: relevant, complete, clear and useful.",
    "correctness": "Whether the response is factually and logically correct, with no errors or made-up facts.",
    "harmlessness": "Whether the response avoids harmful, unsafe, biased or offensive content.",
    "groundedness": "Whether every claim of the response is supported by the given passage.",
    "conciseness": "Whether the response is as short as it can be while fully answering.",
}
JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"reason": {"type": "string", "maxLength": 300}, "score": {"type": "integer", "minimum": 1, "maximum": 10}},
    "required": ["reason", "score"], "additionalProperties": False,
}
ANSWER_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"response": {"type": "string", "minLength": 1, "maxLength": 1200}},
                                 "required": ["response"], "additionalProperties": False}


def judge(
    records: Sequence[dict[str, Any]],
    rubric: str = "helpfulness",
    *,
    pairs: bool = False,
    candidates: int = 2,
    min_margin: int = 1,
    seed: int = 0,
    retries: int = 2,
    engine: Engine | None = None,
    backend: Any = None,
) -> TaskResult:
    """Score each record's response against ``rubric`` (a name from :data:`RUBRICS` or your own text).

    Records need a prompt (``instruction``/``question``/``prompt``) and a response
    (``output``/``answer``/``response``). Without ``pairs`` the records come back with ``score`` and
    ``reason``; with ``pairs`` the result holds ``{"prompt", "chosen", "rejected", ...}`` rows.

    Examples
    --------
    >>> res = judge([{"question": "2+2?", "answer": "4"}], backend="fake")
    >>> 1 <= res.records[0]["score"] <= 10
    True
    """
    criteria = RUBRICS.get(rubric, rubric)
    if not criteria.strip():
        raise InputError("The rubric is empty")
    eng = as_engine(engine, backend)
    res = TaskResult("judge", config={"rubric": rubric, "criteria": criteria, "pairs": pairs, "seed": seed})
    items = [(prompt_of(r), response_of(r), r) for r in records]
    missing = [i for i, (p, a, _) in enumerate(items) if not p or not a]
    if missing:
        raise InputError(f"{len(missing)} records lack a prompt or a response (first: record {missing[0]}); "
                         "judge needs instruction/question/prompt and output/answer/response fields")
    if pairs:
        items = _fill_candidates(eng, items, candidates, seed, retries, res)
    scores = _score(eng, [(p, a) for p, a, _ in items], criteria, seed, retries)
    stage = res.stage("score")
    stage.inputs = len(items)
    scored = []
    for (p, a, rec), (score, reason, err) in zip(items, scores):
        row = {**rec, "score": score, "reason": reason}
        if err:
            row.update(_status="invalid", _error=err)
            stage.invalid += 1
        scored.append(row)
    stage.outputs = len(scored)
    res.records = _pairs(res, items, scored, min_margin) if pairs else scored
    res.engine_stats = eng.stats()
    return res


def _score(eng: Engine, items: list[tuple[str | None, str | None]], criteria: str, seed: int,
           retries: int) -> list[tuple[int | None, str | None, str | None]]:
    reqs = [ChatRequest.user(
        f"You are a strict judge. Criterion: {criteria}\n\n[Request]\n{p}\n\n[Response]\n{a}\n\n"
        'Give a one-sentence reason, then a score from 1 (very poor) to 10 (excellent). Reply as JSON: '
        '{"reason": "...", "score": N}', schema=JUDGE_SCHEMA, max_tokens=token_budget(JUDGE_SCHEMA), temperature=0.2,
        seed=call_seed(seed, i)) for i, (p, a) in enumerate(items)]
    return [(int(st.value["score"]), st.value["reason"], None) if st.ok else (None, None, "; ".join(st.errors))
            for st in eng.structured(reqs, retries=retries, label="judging")]


def _fill_candidates(eng: Engine, items: list[Any], candidates: int, seed: int, retries: int, res: TaskResult) -> list[Any]:
    groups: dict[str, list[Any]] = {}
    for item in items:
        groups.setdefault(str(item[0]), []).append(item)
    reqs, owners = [], []
    for g, (prompt, group) in enumerate(groups.items()):
        for c in range(len(group), candidates):
            reqs.append(ChatRequest.user(f"{prompt}\n\nReply as JSON: {{\"response\": \"...\"}}", schema=ANSWER_SCHEMA,
                                         max_tokens=token_budget(ANSWER_SCHEMA), temperature=1.0, seed=call_seed(seed, g, c, 3)))
            owners.append(prompt)
    stage = res.stage("write candidates")
    stage.inputs = len(reqs)
    for prompt, st in zip(owners, eng.structured(reqs, retries=retries, label="writing candidate responses")):
        if st.ok:
            groups[prompt].append((prompt, st.value["response"].strip(), {"prompt": prompt, "response": st.value["response"].strip(),
                                                                          "_candidate": True}))
            stage.outputs += 1
        else:
            res.reject(stage, {"prompt": prompt, "_raw": st.raw[:2000], "_error": "; ".join(st.errors)}, "invalid output")
    return [item for group in groups.values() for item in group]


def _pairs(res: TaskResult, items: list[Any], scored: list[dict[str, Any]], min_margin: int) -> list[dict[str, Any]]:
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (p, a, _), row in zip(items, scored):
        groups.setdefault(str(p), []).append((str(a), row))
    stage = res.stage("pairs")
    stage.inputs = len(groups)
    out = []
    for prompt, group in groups.items():
        valid = [(a, r) for a, r in group if r.get("score") is not None]
        if len(valid) < 2:
            res.reject(stage, {"prompt": prompt}, "fewer than 2 scored responses")
            continue
        best = max(valid, key=lambda x: x[1]["score"])
        worst = min(valid, key=lambda x: x[1]["score"])
        if best[1]["score"] - worst[1]["score"] < min_margin:
            res.reject(stage, {"prompt": prompt, "scores": [r["score"] for _, r in valid]}, "tie (score margin too small)")
            continue
        stage.outputs += 1
        out.append({"prompt": prompt, "chosen": best[0], "rejected": worst[0], "chosen_score": best[1]["score"],
                    "rejected_score": worst[1]["score"], "chosen_reason": best[1]["reason"],
                    "rejected_reason": worst[1]["reason"]})
    return out


__all__ = ["RUBRICS", "judge"]
