"""Labelled texts for classifiers, with per-class quotas; and paraphrases of given texts.

Each call asks for a few texts of one label; length, tone and perspective are sampled in Python per
call so a small model does not repeat itself. Duplicates (exact and near, within the whole set) are
removed and replaced by further calls until each label has its quota, or the call budget runs out
(then the shortfall is recorded in the manifest, never hidden).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.text.dedup import find_duplicates
from simulacra.text.engine import Engine
from simulacra.text.filters import copies_source, mostly_noise, repetitive, template_leak
from simulacra.text.result import TaskResult
from simulacra.text.schema import token_budget
from simulacra.text.tasks import as_engine, call_seed
from simulacra.text.types import ChatRequest

LENGTHS = ("one short sentence", "two sentences", "three or four sentences")
TONES = ("neutral", "enthusiastic", "matter-of-fact", "informal", "detailed", "brief", "emotional", "polite")
PERSPECTIVES = ("first person", "a customer", "an expert", "a newcomer", "a busy professional", "a student")


def _texts_schema(k: int, max_length: int) -> dict[str, Any]:
    return {"type": "object", "properties": {"texts": {"type": "array", "minItems": k, "maxItems": k,
            "items": {"type": "string", "minLength": 3, "maxLength": max_length}}}, "required": ["texts"],
            "additionalProperties": False}


def generate_labelled(
    labels: Sequence[str],
    per_label: int | Mapping[str, int] = 10,
    *,
    domain: str = "texts",
    descriptions: Mapping[str, str] | None = None,
    examples: Mapping[str, Sequence[str]] | None = None,
    per_call: int = 5,
    min_words: int = 3,
    max_length: int = 400,
    max_calls_factor: float = 4.0,
    seed: int = 0,
    retries: int = 2,
    temperature: float = 1.0,
    prompt_form: str = "chat",
    engine: Engine | None = None,
    backend: Any = None,
) -> TaskResult:
    """Generate ``per_label`` texts for each label (a dict gives per-class quotas, e.g. to balance classes).

    Records are ``{"text", "label"}``. ``descriptions`` explain labels; ``examples`` show a few real texts
    per label in the prompt. Texts under ``min_words`` words are filtered. Calls per label are capped at
    ``max_calls_factor`` times the minimum. ``prompt_form`` is ``"chat"`` (a chat request for ``per_call``
    texts as JSON) or ``"completion"`` (a numbered list of the label's texts that the model continues with
    one more, one text per call); see RESULTS.md for how the two measured with the embedded model.

    Examples
    --------
    >>> res = generate_labelled(["positive", "negative"], 3, domain="product reviews", backend="fake")
    >>> sorted({r["label"] for r in res.records}), len(res.records)
    (['negative', 'positive'], 6)
    """
    labels = [str(lb) for lb in labels]
    if not labels:
        raise InputError("No labels given")
    quotas = {lb: int(per_label[lb]) if isinstance(per_label, Mapping) else int(per_label) for lb in labels}
    if prompt_form not in ("chat", "completion"):
        raise InputError(f"prompt_form must be 'chat' or 'completion', not {prompt_form!r}")
    per_call = per_call if prompt_form == "chat" else 1
    eng = as_engine(engine, backend)
    rng = np.random.default_rng(seed)
    res = TaskResult("label", config={"labels": labels, "quotas": quotas, "domain": domain, "per_call": per_call, "seed": seed,
                                      "prompt_form": prompt_form})
    calls, accept = res.stage("calls"), res.stage("accept")
    kept: list[dict[str, Any]] = []
    counts = dict.fromkeys(labels, 0)
    budget = {lb: math.ceil(max_calls_factor * math.ceil(q / per_call)) + 1 for lb, q in quotas.items()}
    made = dict.fromkeys(labels, 0)
    for round_ in range(10_000):
        todo = [lb for lb in labels if counts[lb] < quotas[lb] and made[lb] < budget[lb]]
        if not todo:
            break
        reqs, owners = [], []
        for lb in todo:
            for _ in range(min(budget[lb] - made[lb], math.ceil((quotas[lb] - counts[lb]) / per_call))):
                reqs.append(_request(lb, domain, descriptions, examples, per_call, max_length, rng, temperature,
                                     call_seed(seed, labels.index(lb), made[lb])))
                owners.append(lb)
                made[lb] += 1
        new: list[dict[str, Any]] = []
        if prompt_form == "completion":
            reqs = [_listing(r, lb, domain, examples) for r, lb in zip(reqs, owners)]
            for lb, comp in zip(owners, eng.complete(reqs, label=f"writing labelled texts ({round_ + 1})")):
                calls.inputs += 1
                if not comp.ok:
                    res.reject(calls, {"label": lb, "_raw": comp.text[:2000], "_error": str(comp.error)}, "backend error")
                    continue
                if comp.finish_reason == "length":
                    res.reject(calls, {"label": lb, "_raw": comp.text[:2000]}, "cut at max_tokens")
                    continue
                calls.outputs += 1
                new.append({"text": " ".join(comp.text.split()), "label": lb})
            _accept(res, accept, kept, new, counts, quotas, min_words)
            continue
        for lb, st in zip(owners, eng.structured(reqs, retries=retries, label=f"writing labelled texts ({round_ + 1})")):
            calls.inputs += 1
            if not st.ok:
                res.reject(calls, {"label": lb, "_raw": st.raw[:2000], "_error": "; ".join(st.errors)}, "invalid output")
                continue
            calls.outputs += 1
            new += [{"text": " ".join(str(t).split()), "label": lb} for t in st.value["texts"]]
        _accept(res, accept, kept, new, counts, quotas, min_words)
    short = {lb: quotas[lb] - counts[lb] for lb in labels if counts[lb] < quotas[lb]}
    if short:
        res.notes.append(f"quota not reached after the call budget: missing {short}; raise max_calls_factor or temperature")
    res.records = kept
    res.engine_stats = eng.stats()
    return res


def _request(label: str, domain: str, descriptions: Mapping[str, str] | None, examples: Mapping[str, Sequence[str]] | None,
             k: int, max_length: int, rng: np.random.Generator, temperature: float, seed: int) -> ChatRequest:
    length, tone, who = LENGTHS[rng.integers(len(LENGTHS))], TONES[rng.integers(len(TONES))], PERSPECTIVES[rng.integers(len(PERSPECTIVES))]
    lines = [f"Write {k} different {domain} whose label is '{label}'."]
    if descriptions and label in descriptions:
        lines.append(f"'{label}' means: {descriptions[label]}")
    if examples and examples.get(label):
        shown = list(examples[label])[:3]
        lines.append("Examples of this label:\n" + "\n".join(f"- {e}" for e in shown))
    lines.append(f"Each text: {length}, {tone} tone, written by {who}; all on different subjects.")
    lines.append('Reply as JSON: {"texts": ["...", ...]}')
    schema = _texts_schema(k, max_length)
    return ChatRequest.user("\n".join(lines), schema=schema, max_tokens=token_budget(schema), temperature=temperature, seed=seed)


def _listing(chat: ChatRequest, label: str, domain: str, examples: Mapping[str, Sequence[str]] | None) -> ChatRequest:
    """The completion form of a chat request: a numbered list of the label's texts, ending where the next starts.

    The sampled length, tone and author of the chat request are kept (as the list's heading).
    """
    style = next((ln for ln in chat.messages[-1]["content"].splitlines() if ln.startswith("Each text:")), "")
    shown = [" ".join(str(e).split()) for e in (examples or {}).get(label, [])][:3]
    listed = "".join(f"{i + 1}. {e}\n" for i, e in enumerate(shown))
    prompt = (f"A list of {domain} whose label is '{label}', one per line, all on different subjects. "
              f"{style.replace('Each text:', 'Each:')}\n\n{listed}{len(shown) + 1}.")
    return ChatRequest.raw(prompt, max_tokens=96, temperature=chat.temperature, stop=("\n",), seed=chat.seed)


def _accept(res: TaskResult, stage: Any, kept: list[dict[str, Any]], new: list[dict[str, Any]], counts: dict[str, int],
            quotas: dict[str, int], min_words: int) -> None:
    stage.inputs += len(new)
    base = len(kept)
    dup = find_duplicates([r["text"] for r in kept] + [r["text"] for r in new])
    for j, row in enumerate(new):
        reason = dup.reason[base + j] or text_problem(row["text"])
        if reason is None and len(row["text"].split()) < min_words:
            reason = f"too short (< {min_words} words)"
        if reason is None and counts[row["label"]] >= quotas[row["label"]]:
            reason = "quota reached"
        if reason is not None:
            res.reject(stage, row, reason)
            continue
        counts[row["label"]] += 1
        stage.outputs += 1
        kept.append(row)


def paraphrase(
    texts: Sequence[str],
    n: int = 1,
    *,
    instruction: str = "Rewrite the text with different words and sentence structure, keeping its meaning and label.",
    seed: int = 0,
    retries: int = 2,
    temperature: float = 0.9,
    engine: Engine | None = None,
    backend: Any = None,
    return_errors: bool = False,
) -> Any:
    """``n`` paraphrases of each text: a list (one per input) of lists of strings.

    An input whose output stayed invalid after ``retries`` gets fewer (possibly no) paraphrases; with
    ``return_errors=True`` the function returns ``(paraphrases, errors)`` where ``errors[i]`` says why.

    Examples
    --------
    >>> out = paraphrase(["The battery lasts all day."], 2, backend="fake")
    >>> len(out), len(out[0])
    (1, 2)
    """
    eng = as_engine(engine, backend)
    schema = _texts_schema(n, 600)
    reqs = [ChatRequest.user(f"{instruction}\nWrite {n} different versions.\n\nText: {t}\n\n"
                             'Reply as JSON: {"texts": ["...", ...]}', schema=schema, max_tokens=token_budget(schema),
                             temperature=temperature, seed=call_seed(seed, i)) for i, t in enumerate(texts)]
    out: list[list[str]] = []
    errors: list[str | None] = []
    for text, st in zip(texts, eng.structured(reqs, retries=retries, label="paraphrasing")):
        if not st.ok:
            out.append([])
            errors.append("; ".join(st.errors))
            continue
        kept: list[str] = []
        dropped: list[str] = []
        for cand in (" ".join(str(t).split()) for t in st.value["texts"]):
            why = text_problem(cand) or _same_text(cand, text, kept)
            (dropped if why else kept).append(why or cand)
        out.append(kept)
        errors.append(f"dropped {len(dropped)} of {n}: " + "; ".join(dropped) if dropped else None)
    return (out, errors) if return_errors else out


def text_problem(text: str) -> str | None:
    """The reason a generated text is unusable at a glance (leaked template, noise, hashtags, repetition), or None.

    Examples
    --------
    >>> text_problem("..."), text_problem("#deal #phone #wow"), text_problem("Review: great phone\\nAnswer: positive"), text_problem("A fine phone.")
    ('mostly punctuation', 'hashtags', 'prompt template leaked', None)
    """
    return mostly_noise(text) or template_leak(text) or repetitive(text)


def _same_text(candidate: str, source: str, kept: list[str]) -> str | None:
    from simulacra.text.dedup import find_duplicates

    dup = find_duplicates([source, *kept, candidate])
    if dup.reason[-1]:
        return "copies the original" if dup.duplicate_of[-1] == 0 else "duplicate paraphrase"
    return copies_source(candidate, source, max_share=0.9, min_words=4)


__all__ = ["generate_labelled", "paraphrase"]
