"""AI feedback, checked before it is trusted: rubric scores, and chosen/rejected preference pairs.

Before an LLM judge scores anything it is calibrated (:mod:`simulacra.text.tasks.calibration`): a judge
whose accuracy on the built-in calibration set is below ``min_accuracy`` is refused with a message saying
what to use instead. Scores are a short reason and an integer 1-10 under a JSON Schema (the range is
validated and resampled).

With ``pairs=True`` responses are grouped by prompt, prompts with fewer than ``candidates`` responses get
more written by the model, and each group gives one pair. Where a **verifier** can tell the responses
apart, it decides and the row says which (``preference_source``): a JSON Schema the response must
satisfy (``schema=``), an answer that must occur verbatim in the record's ``passage``, a label a trusted
classifier must agree with (``label_check=``). Otherwise the LLM compares every two responses in both
orders, and a judgement is kept only when both orders agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from simulacra.errors import InputError
from simulacra.text.dedup import normalize
from simulacra.text.engine import Engine
from simulacra.text.formats import prompt_of, response_of
from simulacra.text.result import TaskResult
from simulacra.text.schema import extract_json, token_budget, validation_errors, validator
from simulacra.text.tasks import as_engine, call_seed
from simulacra.text.tasks.calibration import (
    DEFAULT_THRESHOLD, PAIR_CRITERIA, Calibration, JudgeRefusedError, calibrate, compare_both_orders, refusal_message,
)
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
ANSWER_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"response": {"type": "string", "minLength": 1, "maxLength": 1000}},
                                 "required": ["response"], "additionalProperties": False}
LabelCheck = Callable[[str, str], bool]


def judge(
    records: Sequence[dict[str, Any]],
    rubric: str = "helpfulness",
    *,
    pairs: bool = False,
    candidates: int = 2,
    schema: dict[str, Any] | None = None,
    label_check: LabelCheck | None = None,
    min_accuracy: float = DEFAULT_THRESHOLD,
    seed: int = 0,
    retries: int = 2,
    engine: Engine | None = None,
    backend: Any = None,
) -> TaskResult:
    """Score each record's response against ``rubric``, or build preference pairs (``pairs=True``).

    Records need a prompt (``instruction``/``question``/``prompt``) and a response
    (``output``/``answer``/``response``). Without ``pairs`` the records come back with ``score`` and
    ``reason``; with ``pairs`` the result holds ``{"prompt", "chosen", "rejected", "preference_source"}``
    rows. A judge below ``min_accuracy`` on the calibration set raises :class:`JudgeRefusedError`
    (``min_accuracy=0`` skips the refusal, never the measurement).

    Examples
    --------
    >>> res = judge([{"question": "2+2?", "answer": "4"}], backend="fake", min_accuracy=0)
    >>> 1 <= res.records[0]["score"] <= 10, res.config["judge_calibration"]["n"]
    (True, 46)
    >>> recs = [{"question": "Where is the bridge?", "answer": "Over the Tagus", "passage": "The bridge spans the Tagus."},
    ...         {"question": "Where is the bridge?", "answer": "the Tagus", "passage": "The bridge spans the Tagus."}]
    >>> row = judge(recs, pairs=True, backend="fake").records[0]   # a verifier decides: no judge needed
    >>> row["chosen"], row["rejected"], row["preference_source"]
    ('the Tagus', 'Over the Tagus', 'verifier: answer occurs in the passage')
    """
    criteria = RUBRICS.get(rubric, rubric)
    if not criteria.strip():
        raise InputError("The rubric is empty")
    eng = as_engine(engine, backend)
    res = TaskResult("judge", config={"rubric": rubric, "criteria": criteria, "pairs": pairs, "seed": seed,
                                      "min_accuracy": min_accuracy})
    items = [(prompt_of(r), response_of(r), r) for r in records]
    missing = [i for i, (p, a, _) in enumerate(items) if not p or not a]
    if missing:
        raise InputError(f"{len(missing)} records lack a prompt or a response (first: record {missing[0]}); "
                         "judge needs instruction/question/prompt and output/answer/response fields")
    if not pairs:
        cal = _trusted(eng, "score", min_accuracy, criteria, seed, retries, res)
        scored = _scored_rows(eng, items, criteria, seed, retries, res)
        res.records = scored
        res.notes.append(cal.summary())
    else:
        has_verifier = schema is not None or label_check is not None or any(r.get("passage") for _, _, r in items)
        if not has_verifier:
            _trusted(eng, "pairwise", min_accuracy, criteria, seed, retries, res)
        items = _fill_candidates(eng, items, candidates, seed, retries, res)
        res.records = _pairs(eng, res, items, schema, label_check, criteria, min_accuracy, seed, retries)
    res.engine_stats = eng.stats()
    return res


def _trusted(eng: Engine, mode: str, min_accuracy: float, criteria: str, seed: int, retries: int, res: TaskResult) -> Calibration:
    cal = calibrate(eng, mode, threshold=min_accuracy, criteria=criteria if mode == "score" else None, seed=seed,
                    retries=retries)
    res.config["judge_calibration"] = {k: v for k, v in cal.__dict__.items()}
    if not cal.passed:
        raise JudgeRefusedError(refusal_message(cal))
    return cal


def score_responses(eng: Engine, items: Sequence[tuple[str | None, str | None]], criteria: str, seed: int,
                    retries: int) -> list[tuple[int | None, str | None, str | None]]:
    """``(score, reason, error)`` for each ``(prompt, response)`` under ``criteria``."""
    reqs = [ChatRequest.user(
        f"You are a strict judge. Criterion: {criteria}\n\n[Request]\n{p}\n\n[Response]\n{a}\n\n"
        'Give a one-sentence reason, then a score from 1 (very poor) to 10 (excellent). Reply as JSON: '
        '{"reason": "...", "score": N}', schema=JUDGE_SCHEMA, max_tokens=token_budget(JUDGE_SCHEMA), temperature=0.2,
        seed=call_seed(seed, i)) for i, (p, a) in enumerate(items)]
    return [(int(st.value["score"]), st.value["reason"], None) if st.ok else (None, None, "; ".join(st.errors))
            for st in eng.structured(reqs, retries=retries, label="judging")]


def _scored_rows(eng: Engine, items: list[Any], criteria: str, seed: int, retries: int, res: TaskResult) -> list[dict[str, Any]]:
    stage = res.stage("score")
    stage.inputs = len(items)
    scored = []
    for (_, _, rec), (score, reason, err) in zip(items, score_responses(eng, [(p, a) for p, a, _ in items], criteria, seed, retries)):
        row = {**rec, "score": score, "reason": reason, "preference_source": "judge (calibrated)"}
        if err:
            row.update(_status="invalid", _error=err)
            stage.invalid += 1
        scored.append(row)
    stage.outputs = len(scored)
    return scored


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
            text = st.value["response"].strip()
            base = {k: v for k, v in groups[prompt][0][2].items() if k in ("passage", "label")}
            groups[prompt].append((prompt, text, {**base, "prompt": prompt, "response": text, "_candidate": True}))
            stage.outputs += 1
        else:
            res.reject(stage, {"prompt": prompt, "_raw": st.raw[:2000], "_error": "; ".join(st.errors)}, "invalid output")
    return [item for group in groups.values() for item in group]


def verify(response: str, record: dict[str, Any], schema: dict[str, Any] | None, label_check: LabelCheck | None,
           compiled: Any = None) -> tuple[str, bool] | None:
    """``(verifier name, passed)`` for the first verifier that applies to ``record``, or None.

    Examples
    --------
    >>> verify("Lisbon", {"passage": "The bridge is in Lisbon."}, None, None)
    ('verifier: answer occurs in the passage', True)
    """
    if schema is not None:
        try:
            ok = not validation_errors(extract_json(response), compiled or validator(schema))
        except ValueError:
            ok = False
        return "verifier: JSON schema", ok
    if label_check is not None and record.get("label") is not None:
        return "verifier: label classifier", bool(label_check(str(record["label"]), response))
    if isinstance(record.get("passage"), str) and record["passage"].strip():
        return "verifier: answer occurs in the passage", normalize(response) in normalize(record["passage"])
    return None


def _pairs(eng: Engine, res: TaskResult, items: list[Any], schema: dict[str, Any] | None, label_check: LabelCheck | None,
           criteria: str, min_accuracy: float, seed: int, retries: int) -> list[dict[str, Any]]:
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for p, a, rec in items:
        groups.setdefault(str(p), []).append((str(a), rec))
    stage = res.stage("pairs")
    stage.inputs = len(groups)
    compiled = validator(schema) if schema is not None else None
    out: list[dict[str, Any]] = []
    undecided: list[tuple[str, list[str]]] = []
    for prompt, group in groups.items():
        answers = list(dict.fromkeys(a for a, _ in group))
        if len(answers) < 2:
            res.reject(stage, {"prompt": prompt}, "fewer than 2 distinct responses")
            continue
        checks = [verify(a, rec, schema, label_check, compiled) for a, rec in group]
        passed = [a for (a, _), c in zip(group, checks) if c and c[1]]
        failed = [a for (a, _), c in zip(group, checks) if c and not c[1]]
        if passed and failed:
            name = next(c[0] for c in checks if c)
            out.append({"prompt": prompt, "chosen": passed[0], "rejected": failed[0], "preference_source": name})
            stage.outputs += 1
        else:
            undecided.append((prompt, answers))
    if undecided:
        out += _judge_pairs(eng, res, stage, undecided, criteria, min_accuracy, seed, retries)
    return out


def _judge_pairs(eng: Engine, res: TaskResult, stage: Any, groups: list[tuple[str, list[str]]], criteria: str,
                 min_accuracy: float, seed: int, retries: int) -> list[dict[str, Any]]:
    cal = calibrate(eng, "pairwise", threshold=min_accuracy, seed=seed, retries=retries)
    res.config["judge_calibration"] = dict(cal.__dict__)
    if not cal.passed:
        for prompt, answers in groups:
            res.reject(stage, {"prompt": prompt, "responses": answers}, "no verifier decides and the judge is not trusted")
        res.notes.append(refusal_message(cal))
        return []
    triples, owners = [], []
    for g, (prompt, answers) in enumerate(groups):
        for i in range(len(answers)):
            for j in range(i + 1, len(answers)):
                triples.append((prompt, answers[i], answers[j]))
                owners.append((g, i, j))
    verdicts = compare_both_orders(eng, triples, f"{PAIR_CRITERIA}; {criteria}", seed, retries)
    wins: dict[int, dict[int, int]] = {}
    direct: dict[tuple[int, int, int], int | None] = {}
    for (g, i, j), v in zip(owners, verdicts):
        w = wins.setdefault(g, {})
        direct[(g, i, j)], direct[(g, j, i)] = v, (-v if v is not None else None)
        if v is not None:
            k = i if v == 1 else j
            w[k] = w.get(k, 0) + 1
    out = []
    for g, (prompt, answers) in enumerate(groups):
        score = {k: wins.get(g, {}).get(k, 0) for k in range(len(answers))}
        best, worst = max(score, key=lambda k: score[k]), min(score, key=lambda k: score[k])
        if best == worst or direct.get((g, best, worst)) != 1:
            res.reject(stage, {"prompt": prompt, "responses": answers}, "judge disagreed with itself across orders")
            continue
        stage.outputs += 1
        out.append({"prompt": prompt, "chosen": answers[best], "rejected": answers[worst],
                    "preference_source": "judge (calibrated, both orders agree)"})
    return out


__all__ = ["RUBRICS", "judge", "score_responses", "verify"]
