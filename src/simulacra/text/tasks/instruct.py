"""Self-Instruct: instruction data bootstrapped from a few human-written seed tasks.

Published defaults (Wang et al., 2023): each prompt shows 8 in-context instructions, 6 from the human
seeds and 2 from those generated so far; a new instruction is rejected when its ROUGE-L with any
instruction already in the pool exceeds 0.7, when it has fewer than 3 or more than 150 words, when it
contains a keyword that a language model cannot act on (image, graph, file, map, draw, plot, video...),
or when it starts with punctuation or a non-English character. Then an input and output are written for
each accepted instruction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.text.engine import Engine
from simulacra.text.filters import mostly_noise, repetitive, template_leak
from simulacra.text.result import TaskResult
from simulacra.text.schema import token_budget
from simulacra.text.similarity import max_rouge_l, tokens
from simulacra.text.tasks import as_engine, call_seed
from simulacra.text.types import ChatRequest, StageCount

BLACKLIST = ("image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps", "draw",
             "plot", "go to", "video", "audio", "music", "flowchart", "diagram")
#: first words of a task a text assistant can do; in completion form (small models) a new task must start with one
TASK_VERBS = frozenset(
    "write list name give tell create explain describe summarize summarise translate classify suggest identify provide "
    "compose generate rewrite paraphrase convert compare define answer find calculate sort count edit correct outline "
    "draft plan recommend brainstorm imagine solve estimate predict analyze analyse evaluate rank rate proofread "
    "come make".split()
)
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string", "maxLength": 400}, "output": {"type": "string", "minLength": 1, "maxLength": 1200}},
    "required": ["input", "output"], "additionalProperties": False,
}


def instruction_filter(text: str, min_words: int = 3, max_words: int = 150, blacklist: Sequence[str] = BLACKLIST) -> str | None:
    """The reason to reject an instruction by the Self-Instruct heuristics, or None to keep it.

    Examples
    --------
    >>> instruction_filter("Draw a picture of a cat"), instruction_filter("Sort the list"), instruction_filter("Hi")
    ('blacklisted keyword: picture', None, 'too short (< 3 words)')
    """
    words = text.split()
    if len(words) < min_words:
        return f"too short (< {min_words} words)"
    if len(words) > max_words:
        return f"too long (> {max_words} words)"
    low = " " + " ".join(tokens(text)) + " "
    for word in blacklist:
        if f" {word} " in low:
            return f"blacklisted keyword: {word}"
    if not text[0].isalnum():
        return "starts with punctuation"
    if not text[0].isascii():
        return "starts with a non-English character"
    return None


def _seed_instructions(seeds: Sequence[Any]) -> list[str]:
    out = []
    for s in seeds:
        text = s.get("instruction") if isinstance(s, dict) else s
        if isinstance(text, str) and text.strip():
            out.append(text.strip())
    if not out:
        raise InputError("No seed instructions: give strings or records with an 'instruction' field")
    return out


def _prompt(examples: list[str], k: int) -> str:
    listed = "\n".join(f"{i + 1}. {e}" for i, e in enumerate(examples))
    return ("Come up with a series of new, diverse task instructions for an AI assistant. Vary the verbs, the topics "
            "and the kind of task (writing, classification, reasoning, editing, open questions). Each must be doable "
            f"with text alone.\n\nExample tasks:\n{listed}\n\n"
            f'Write {k} new tasks, different from the examples, as JSON: {{"instructions": ["...", ...]}}')


def _not_a_text_task(text: str) -> str | None:
    """A reason when ``text`` does not start like a task a text assistant can do.

    Examples
    --------
    >>> _not_a_text_task("Build a Lego."), _not_a_text_task("Make a list of three songs."), _not_a_text_task("Write a poem.")
    ('not a text task (starts with "build")', None, None)
    """
    words = tokens(text)
    if not words:
        return "empty"
    if words[0] not in TASK_VERBS or (words[0] == "make" and "list" not in words[1:4]) or (words[0] == "come" and words[1:2] != ["up"]):
        return f'not a text task (starts with "{words[0]}")'
    return None


def _listing(examples: list[str]) -> str:
    """The few-shot completion prompt: a numbered list of tasks, ending where the next one starts."""
    listed = "\n".join(f"{i + 1}. {e}" for i, e in enumerate(examples))
    return ("Below is a list of diverse tasks for an assistant. Each task is one sentence that can be done with "
            f"text alone.\n\n{listed}\n{len(examples) + 1}.")


def self_instruct(
    seeds: Sequence[Any],
    n: int = 100,
    *,
    num_human: int = 6,
    num_generated: int = 2,
    per_call: int = 4,
    calls_per_round: int = 8,
    rouge_threshold: float = 0.7,
    min_words: int = 3,
    max_words: int = 150,
    blacklist: Sequence[str] = BLACKLIST,
    outputs: bool = True,
    prompt_form: str = "auto",
    task_verbs: bool | None = None,
    max_rounds: int | None = None,
    seed: int = 0,
    retries: int = 2,
    temperature: float = 1.0,
    engine: Engine | None = None,
    backend: Any = None,
) -> TaskResult:
    """Bootstrap ``n`` new instructions (and their input/output) from ``seeds``.

    ``prompt_form`` is ``"completion"`` (a numbered list of example tasks that the model continues with one
    more, one task per call), ``"chat"`` (a chat request for ``per_call`` tasks as JSON), or ``"auto"``:
    completion for an embedded GGUF model, chat otherwise. Measured with SmolLM2-135M on 20 calls each,
    about 13 of 20 completion-form tasks were sensible against 3 of 20 in chat form. ``task_verbs``
    (default: on in completion form) keeps only tasks that start with a verb of :data:`TASK_VERBS` ("make"
    only as "make a list"): a small model also proposes tasks a text assistant cannot do ("Build a Lego.").

    Examples
    --------
    >>> seeds = ["Write a haiku about rain", "Sort these numbers ascending", "Explain photosynthesis simply",
    ...          "Translate hello to French", "Name three prime numbers", "Summarize the paragraph below"]
    >>> res = self_instruct(seeds, 5, backend="fake", seed=0)
    >>> len(res.records), all(s.balanced for s in res.stages)
    (5, True)
    """
    human = _seed_instructions(seeds)
    if prompt_form not in ("auto", "completion", "chat"):
        raise InputError(f"prompt_form must be 'auto', 'completion' or 'chat', not {prompt_form!r}")
    eng = as_engine(engine, backend)
    form = prompt_form if prompt_form != "auto" else ("completion" if eng.model_id.startswith("llama.cpp:") else "chat")
    rng = np.random.default_rng(seed)
    res = TaskResult("instruct", config={"n": n, "seed": seed, "num_human": num_human, "num_generated": num_generated,
                                         "rouge_threshold": rouge_threshold, "words": [min_words, max_words],
                                         "blacklist": list(blacklist), "per_call": per_call, "prompt_form": form})
    verbs = task_verbs if task_verbs is not None else form == "completion"
    pool = [tokens(t) for t in human]
    accepted: list[dict[str, Any]] = []
    calls, proposed = res.stage("calls"), res.stage("filter instructions")
    schema = {"type": "object", "properties": {"instructions": {"type": "array", "minItems": 1, "maxItems": per_call,
              "items": {"type": "string", "minLength": 3, "maxLength": 600}}}, "required": ["instructions"],
              "additionalProperties": False}
    rounds = max_rounds if max_rounds is not None else 10 + 4 * math.ceil(n / max(1, per_call * calls_per_round))
    for r in range(rounds):
        if len(accepted) >= n:
            break
        requests = []
        for c in range(calls_per_round):
            shown = _examples(rng, human, [a["instruction"] for a in accepted], num_human, num_generated)
            if form == "completion":
                requests.append(ChatRequest.raw(_listing(shown), max_tokens=48, temperature=temperature, stop=("\n",),
                                                seed=call_seed(seed, r, c)))
            else:
                requests.append(ChatRequest.user(_prompt(shown, per_call), schema=schema, max_tokens=token_budget(schema),
                                                 temperature=temperature, seed=call_seed(seed, r, c)))
        if form == "completion":
            for comp in eng.complete(requests, label=f"self-instruct round {r + 1}"):
                calls.inputs += 1
                if not comp.ok:
                    res.reject(calls, {"_raw": comp.text[:2000], "_error": str(comp.error)}, "backend error")
                    continue
                calls.outputs += 1
                text = " ".join(comp.text.split())
                why = _not_a_text_task(text) if verbs else None
                if why:
                    proposed.inputs += 1
                    res.reject(proposed, {"instruction": text, "_round": r}, why)
                    continue
                _consider(res, proposed, text, pool, accepted, n, rouge_threshold, (min_words, max_words, blacklist), r)
            continue
        for st in eng.structured(requests, retries=retries, label=f"self-instruct round {r + 1}"):
            calls.inputs += 1
            if not st.ok:
                res.reject(calls, {"_raw": st.raw[:2000], "_error": "; ".join(st.errors)}, "invalid output")
                continue
            calls.outputs += 1
            for text in st.value["instructions"]:
                _consider(res, proposed, " ".join(str(text).split()), pool, accepted, n, rouge_threshold,
                          (min_words, max_words, blacklist), r)
    if len(accepted) < n:
        res.notes.append(f"stopped after {rounds} rounds with {len(accepted)} of {n} instructions: the model proposed "
                         "too few new ones; raise max_rounds or the temperature, or use a stronger model")
    res.records = _write_outputs(eng, accepted, seed, retries, res) if outputs else accepted
    res.engine_stats = eng.stats()
    return res


def _examples(rng: np.random.Generator, human: list[str], generated: list[str], num_human: int, num_generated: int) -> list[str]:
    g = min(num_generated, len(generated))
    h = min(len(human), num_human + num_generated - g)
    shown = [human[i] for i in rng.choice(len(human), size=h, replace=False)]
    shown += [generated[i] for i in rng.choice(len(generated), size=g, replace=False)] if g else []
    return shown


def _consider(res: TaskResult, stage: StageCount, text: str, pool: list[list[str]], accepted: list[dict[str, Any]],
              n: int, threshold: float, rules: tuple[int, int, Sequence[str]], round_: int) -> None:
    stage.inputs += 1
    row = {"instruction": text, "_round": round_}
    reason = (instruction_filter(text, *rules) or template_leak(text) or mostly_noise(text) or repetitive(text)
              if text else "empty")
    if reason is None:
        score = max_rouge_l(text, pool, stop_above=threshold)
        if score > threshold:
            reason = f"ROUGE-L > {threshold} with the pool"
    if reason is None and len(accepted) >= n:
        reason = "quota reached"
    if reason is not None:
        res.reject(stage, row, reason)
        return
    stage.outputs += 1
    pool.append(tokens(text))
    accepted.append(row)


def _write_outputs(eng: Engine, accepted: list[dict[str, Any]], seed: int, retries: int, res: TaskResult) -> list[dict[str, Any]]:
    stage = res.stage("write outputs")
    stage.inputs = len(accepted)
    requests = [ChatRequest.user(
        f"Task: {a['instruction']}\n\nIf the task needs an input (a text, a list, a question), write a short one; "
        'otherwise leave it empty. Then write the correct output.\nReply as JSON: {"input": "...", "output": "..."}',
        schema=OUTPUT_SCHEMA, max_tokens=token_budget(OUTPUT_SCHEMA), temperature=0.7, seed=call_seed(seed, 10**6, i))
        for i, a in enumerate(accepted)]
    rows = []
    for a, st in zip(accepted, eng.structured(requests, retries=retries, label="writing outputs")):
        if st.ok:
            rows.append({"instruction": a["instruction"], "input": st.value["input"].strip(),
                         "output": st.value["output"].strip(), "_round": a["_round"]})
        else:
            stage.invalid += 1
            rows.append({"instruction": a["instruction"], "input": None, "output": None, "_round": a["_round"],
                         "_status": "invalid", "_error": "; ".join(st.errors), "_raw": st.raw[:2000]})
    stage.outputs = len(rows)
    return rows


__all__ = ["BLACKLIST", "TASK_VERBS", "instruction_filter", "self_instruct"]
