"""Function-calling training rows from an API: the call is drawn first, then put into words, then verified.

Every row is ``{"request", "call", ...provenance}`` (``call`` None when no call should be made; a row with
several calls also has ``calls``). Calls are verified in three stages, each counted: the arguments validate
against the function's JSON schema; the call runs (worker process or OpenAPI mock) and returns; the request
states every argument value (or the value is the documented default). A request the model rephrased must
also keep half the words of its template (stage ``intent``): its values can survive a rewrite that asks
for something else. A judge is consulted only when the
model passed the judge calibration. Rows that fail keep their stage and reason in ``TaskResult.filtered``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.text.calls.api import Api, Function, load_api
from simulacra.text.calls.phrasing import (clean_paraphrase, join_requests, no_call_requests, paraphrase_request,
                                           phrase_call, template_pairs, unsupported_request)
from simulacra.text.calls.runner import CallExecutionError
from simulacra.text.calls.values import sample_arguments, ungrounded
from simulacra.text.engine import Engine
from simulacra.text.result import TaskResult

#: the default mix of row kinds (shares of the rows asked for)
MIX = {"single": 0.6, "context": 0.1, "multi": 0.1, "no_call": 0.12, "unsupported": 0.08}
MAX_DRAWS = 8
_FILLER = frozenset("please need want like could would tell give show help quick also then first second after".split())
_OPENERS = ("", "", "", "Hey! ", "Quick question: ", "Hi, ", "One more thing: ", "Hello. ", "Sorry to bother you. ")


def plan_kinds(n: int, mix: Mapping[str, float], rng: np.random.Generator) -> list[str]:
    """``n`` row kinds in the shares of ``mix`` (largest remainders), shuffled."""
    unknown = set(mix) - set(MIX)
    if unknown or not mix or any(v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
        raise InputError(f"The mix must give non-negative shares of {sorted(MIX)}; got {dict(mix)}")
    total = sum(mix.values())
    exact = {k: n * v / total for k, v in mix.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: counts[k] - exact[k])[: n - sum(counts.values())]:
        counts[k] += 1
    kinds = [k for k, c in counts.items() for _ in range(c)]
    rng.shuffle(kinds)
    return kinds


def draw_call(api: Api, fn: Function, rng: np.random.Generator, timeout: float, counts: dict[str, int]) -> dict[str, Any]:
    """A call of ``fn`` whose arguments validate and run, drawn up to :data:`MAX_DRAWS` times.

    Draws that fail are counted in ``counts`` (``schema`` / ``execution``); when every draw failed the last one
    is returned anyway, so that the verification records its failure.
    """
    call: dict[str, Any] = {}
    for _ in range(MAX_DRAWS):
        call = {"name": fn.name, "arguments": sample_arguments(fn.parameters, rng, api.hints.get("value_pools", {}))}
        if api.validate(call):
            counts["schema"] = counts.get("schema", 0) + 1
            continue
        try:
            api.execute(call, timeout=timeout)
        except CallExecutionError:
            counts["execution"] = counts.get("execution", 0) + 1
            continue
        return call
    return call


def _plan_rows(api: Api, kinds: Sequence[str], seed: int, offset: int, timeout: float,
               redrawn: dict[str, int]) -> list[dict[str, Any]]:
    fns = list(api.functions.values())
    bank = no_call_requests()
    rows = []
    for i, kind in enumerate(kinds):
        idx = offset + i
        rng = np.random.default_rng([seed, idx])
        row: dict[str, Any] = {"kind": kind, "seed": seed, "index": idx}
        if kind == "no_call":
            opener = _OPENERS[int(rng.integers(len(_OPENERS)))]
            row.update(request=opener + bank[int(rng.integers(len(bank)))], call=None, phrasing="no-call bank")
        elif kind == "unsupported":
            text, why = unsupported_request(api, rng)
            row.update(request=text, call=None, phrasing="unsupported", why_no_call=why)
        else:
            k = 2 if kind == "multi" else 1
            picks = rng.choice(len(fns), size=k, replace=len(fns) < k)
            calls = [draw_call(api, fns[int(j)], rng, timeout, redrawn) for j in picks]
            texts, names = zip(*(phrase_call(api, fns[int(j)], c["arguments"], rng, context=kind == "context")
                                 for j, c in zip(picks, calls)))
            row.update(request=join_requests(list(texts), rng) if k > 1 else texts[0], call=calls[0],
                       phrasing="template", template="+".join(names))
            if k > 1:
                row["calls"] = calls
        rows.append(row)
    return rows


def _paraphrase(api: Api, engine: Engine | None, rows: list[dict[str, Any]], share: float, seed: int) -> None:
    """Let the model rephrase a share of the rows (the template text is kept in ``template_text``); its
    worked examples are pairs of the API's own templates where it has them (:func:`template_pairs`)."""
    if engine is None or share <= 0:
        return
    picked = [r for r in rows if np.random.default_rng([seed, r["index"], 7]).random() < share]
    if not picked:
        return
    reqs = []
    for r in picked:
        shots = template_pairs(api, np.random.default_rng([seed, r["index"], 13]), 3) if r.get("call") else []
        reqs.append(paraphrase_request(r["request"], seed * 1_000_003 + r["index"], examples=shots))
    answers = engine.complete(reqs, label="phrasing requests")
    for row, comp in zip(picked, answers):
        row["template_text"] = row["request"]
        row["phrasing"] = "model"
        row["model"] = engine.model_id
        row["request"] = clean_paraphrase(comp.text) if comp.ok else ""
        if not comp.ok:
            row["model_error"] = comp.error


def verify(api: Api, res: TaskResult, rows: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    """Run the checks on ``rows`` and return those that pass; each stage is counted in ``res``."""
    from simulacra.text.tasks.label import text_problem

    forms = api.hints.get("surface_forms", {})
    stages = {name: res.stage(name) for name in ("text", "schema", "execution", "grounding", "intent")}
    kept = []
    for row in rows:
        text = " ".join(str(row.get("request") or "").split())
        row["request"] = text
        calls = row.get("calls") or ([row["call"]] if row.get("call") else [])
        st = stages["text"]
        st.inputs += 1
        why = "empty request" if not text else ("request too long" if len(text) > 600 else text_problem(text))
        if why:
            res.reject(st, row, why)
            continue
        st.outputs += 1
        if not calls:  # no call to check: the three call stages do not apply to this row
            kept.append(row)
            continue
        failed = False
        for name, check in (("schema", lambda c: "; ".join(api.validate(c))), ("execution", lambda c: _runs(api, c, timeout)),
                            ("grounding", lambda c: _grounding(api, c, text, forms)),
                            ("intent", lambda c: _intent(row, text))):
            st = stages[name]
            st.inputs += 1
            problem = next((p for p in (check(c) for c in calls) if p), "")
            if problem:
                res.reject(st, row, f"{name}: {problem}")
                failed = True
                break
            st.outputs += 1
        if not failed:
            kept.append(row)
    return kept


def _intent(row: dict[str, Any], text: str, min_share: float = 0.5) -> str:
    """A model's rephrasing must keep at least half the content words of the template it rephrased
    (values aside): the values can survive while the request asks for something else."""
    source = row.get("template_text")
    if not source:
        return ""
    have = {w[:5] for w in _content(text)}
    words = [w for w in _content(source)]
    if not words:
        return ""
    share = sum(w[:5] in have for w in words) / len(words)
    return f"kept {share:.0%} of the template's words (< {min_share:.0%})" if share < min_share else ""


def _content(text: str) -> list[str]:
    from simulacra.text.calls.values import MONTHS
    from simulacra.text.tasks.qa import STOPWORDS

    months = {m.lower()[:3] for m in MONTHS}
    return [w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in STOPWORDS and w[:3] not in months
            and w not in _FILLER]


def _runs(api: Api, call: dict[str, Any], timeout: float) -> str:
    try:
        api.execute(call, timeout=timeout)
    except CallExecutionError as exc:
        return str(exc)
    return ""


def _grounding(api: Api, call: dict[str, Any], text: str, forms: Mapping[str, Sequence[str]]) -> str:
    fn = api.functions[call["name"]]
    missing = ungrounded(call["arguments"], fn.parameters, text, forms)
    return ("not stated in the request: " + ", ".join(f"{k}={call['arguments'][k]!r}" for k in missing)) if missing else ""


def judge_status(engine: Engine | None) -> tuple[bool, str]:
    """Whether ``engine``'s model may judge calls (its score-mode calibration reached the default gate of
    :data:`~simulacra.text.tasks.calibration.DEFAULT_THRESHOLD`), and the note that says so."""
    if engine is None:
        return False, "judge: not consulted (no model)"
    from simulacra.text.tasks.calibration import DEFAULT_THRESHOLD, cached_calibration

    cal = cached_calibration(engine.model_id, "score") or cached_calibration(engine.model_id, "pairwise")
    if cal is None:
        return False, f"judge: not consulted ({engine.model_id} has no judge calibration; `simulacra text judge` measures it)"
    acc = float(cal.get("accuracy") or 0.0)
    if cal.get("mode") != "score" or acc < DEFAULT_THRESHOLD:
        return False, (f"judge: not consulted ({engine.model_id} judged {acc:.0%} of the {cal.get('mode')} calibration items "
                       f"right, below the {DEFAULT_THRESHOLD:.0%} gate)")
    return True, f"judge: {engine.model_id} consulted (score calibration {acc:.0%})"


def _judge(engine: Engine, res: TaskResult, rows: list[dict[str, Any]], seed: int, min_score: int = 6) -> list[dict[str, Any]]:
    """Rows whose call(s) the calibrated judge scores at least ``min_score`` of 10; the others are kept apart."""
    from simulacra.text.calls.output import answer
    from simulacra.text.tasks.judge import score_responses

    st = res.stage("judge")
    todo = [r for r in rows if r.get("call")]
    scores = score_responses(engine, [(r["request"], answer(r)) for r in todo],
                             "Whether the function call does exactly what the request asks, with the right values.", seed, 2)
    verdict = {id(r): s for r, s in zip(todo, scores)}
    kept = []
    for row in rows:
        if row.get("call") is None:
            kept.append(row)
            continue
        st.inputs += 1
        score, reason, error = verdict[id(row)]
        if error is None and score is not None and score >= min_score:
            st.outputs += 1
            row["judge_score"] = score
            kept.append(row)
        else:
            res.reject(st, row, f"judge: score {score} below {min_score}: {reason}" if error is None else f"judge: {error}")
    return kept


def build_calls(api: Api | str, n: int, *, engine: Engine | None = None, seed: int = 0, model_share: float = 0.3,
                mix: Mapping[str, float] | None = None, timeout: float = 5.0, max_rounds: int = 3,
                eval_requests: Sequence[str] | None = None, ngram: int = 8) -> TaskResult:
    """``n`` verified function-calling rows for ``api`` (see the module docstring).

    Parameters
    ----------
    api
        An :class:`Api` or what :func:`load_api` takes.
    engine
        The text engine whose model rephrases ``model_share`` of the requests; None keeps the template texts.
    mix
        Shares of the row kinds (:data:`MIX`): single calls, values given as context first, two calls in one
        request, requests that need no call, requests the API cannot serve.
    max_rounds
        Rows that fail verification are replaced by new draws for up to this many rounds.
    eval_requests, ngram
        An evaluation set's requests: rows sharing a word ``ngram`` with one of them are kept apart
        (stage ``decontamination``) and replaced; ``res.config["decontamination"]`` has the report.

    Examples
    --------
    >>> res = build_calls("simulacra.text.calls.demo_api", 20, seed=1)
    >>> len(res.records), all(s.balanced for s in res.stages)
    (20, True)
    """
    if n < 1:
        raise InputError(f"n must be at least 1, got {n}")
    if not 0 <= model_share <= 1:
        raise InputError(f"model_share must be between 0 and 1, got {model_share}")
    api = load_api(api)
    res = TaskResult("calls", config={"n": n, "seed": seed, "model_share": model_share, "mix": dict(mix or MIX),
                                      "api": api.source, "functions": api.names, "timeout": timeout})
    redrawn: dict[str, int] = {}
    use_judge, note = judge_status(engine)
    rng = np.random.default_rng(seed)
    offset = hits = 0
    for round_ in range(max_rounds):
        need = n - len(res.records)
        if need <= 0:
            break
        kinds = plan_kinds(need if round_ == 0 else max(need, int(need * 1.25)), mix or MIX, rng)
        rows = _plan_rows(api, kinds, seed, offset, timeout, redrawn)
        offset += len(rows)
        res.config["planned"] = offset
        _paraphrase(api, engine, rows, model_share, seed)
        part = TaskResult("calls")
        part.records = _dedup(verify(api, part, rows, timeout), res.records, part)
        if use_judge and engine is not None:
            part.records = _judge(engine, part, part.records, seed + round_)
        if eval_requests is not None:
            from simulacra.text.corpus.decontam import decontaminate

            part.records, report = decontaminate(part, part.records, eval_requests, ("request",), n=ngram)
            hits += report["rows_contaminated"]
        res.merge(part)
    surplus = res.records[n:]
    if surplus:
        st = res.stage("quota")
        st.inputs, st.outputs = len(res.records), n
        for row in surplus:
            res.reject(st, row, "quota reached")
        res.records = res.records[:n]
    res.notes.append(note)
    res.config["judge_consulted"] = use_judge
    res.config["redrawn_before_phrasing"] = redrawn
    if eval_requests is not None:
        checked = sum(s.inputs for s in res.stages if s.name == "decontamination")
        res.config["decontamination"] = {"eval_rows": len(eval_requests), "ngram": ngram, "rows_checked": checked,
                                         "rows_contaminated": hits,
                                         "share_contaminated": round(hits / checked, 4) if checked else 0.0}
    if len(res.records) < n:
        res.notes.append(f"{len(res.records)} of {n} rows passed verification after {max_rounds} rounds")
    if engine is not None:
        res.engine_stats = engine.stats()
    return res


def _dedup(rows: list[dict[str, Any]], earlier: list[dict[str, Any]], res: TaskResult) -> list[dict[str, Any]]:
    st = res.stage("dedup")
    seen = {r["request"].lower() for r in earlier}
    out = []
    for row in rows:
        st.inputs += 1
        key = row["request"].lower()
        if key in seen:
            res.reject(st, row, "same request as an earlier row")
            continue
        seen.add(key)
        st.outputs += 1
        out.append(row)
    return out


def stage_yield(res: TaskResult) -> dict[str, dict[str, Any]]:
    """Per verification stage: rows in, rows passed, the pass rate, and the reasons of the failures."""
    out: dict[str, dict[str, Any]] = {}
    for st in res.stages:
        if st.name not in ("text", "schema", "execution", "grounding", "intent", "judge", "dedup", "decontamination", "quota"):
            continue
        cur = out.setdefault(st.name, {"inputs": 0, "passed": 0, "failed": {}})
        cur["inputs"] += st.inputs
        cur["passed"] += st.outputs
        for reason, k in st.filtered.items():
            short = reason.split(":")[0] if st.name in ("schema", "execution", "grounding", "intent", "judge") else reason
            cur["failed"][short] = cur["failed"].get(short, 0) + k
    for cur in out.values():
        cur["rate"] = round(cur["passed"] / cur["inputs"], 4) if cur["inputs"] else None
    return out


__all__ = ["MIX", "build_calls", "draw_call", "plan_kinds", "stage_yield", "verify"]
