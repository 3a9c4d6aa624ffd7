"""Evol-Instruct: rewrite instructions into harder (in-depth) or new (in-breadth) ones, round after round.

In-depth operations (Xu et al., 2023, WizardLM): add constraints, deepen, concretize, increase the
reasoning steps; in-breadth: mutate into a new, rarer instruction of the same domain. An evolution is
eliminated (and the parent carried to the next round) when: (1) it brings no information gain over its
parent (near-identical); (2) the response shows the model could not answer ("sorry" in a short reply);
(3) the response is only punctuation and stop words; (4) the instruction copies words of the evolving
prompt ("given prompt", "rewritten prompt"...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from simulacra.errors import InputError
from simulacra.text.engine import Engine
from simulacra.text.result import TaskResult
from simulacra.text.schema import token_budget
from simulacra.text.similarity import rouge_l, tokens
from simulacra.text.tasks import as_engine, call_seed
from simulacra.text.tasks.qa import STOPWORDS
from simulacra.text.types import ChatRequest

_DEPTH = ("I want you to act as a prompt rewriter. Rewrite the given prompt into a more complex version that famous AI "
          "systems find harder to handle, but that is still reasonable and answerable by humans. {how} The rewritten "
          "prompt may add only 10 to 20 words.")
OPERATIONS: dict[str, str] = {
    "constraints": _DEPTH.format(how="Add one more constraint or requirement to it."),
    "deepen": _DEPTH.format(how="If it asks about a specific issue, increase the depth and breadth of the inquiry."),
    "concretize": _DEPTH.format(how="Replace general concepts with more specific ones."),
    "reasoning": _DEPTH.format(how="If it can be solved in a few simple steps, ask explicitly for multi-step reasoning."),
    "breadth": ("I want you to act as a prompt creator. Draw inspiration from the given prompt to create a brand new "
                "prompt in the same domain but rarer. It must be of similar length and difficulty and answerable by humans."),
}
IN_DEPTH = ("constraints", "deepen", "concretize", "reasoning")
LEAKED = ("given prompt", "rewritten prompt", "#given prompt#", "#rewritten prompt#", "#created prompt#", "created prompt")
EVOLVE_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"instruction": {"type": "string", "minLength": 3, "maxLength": 900}},
                                 "required": ["instruction"], "additionalProperties": False}
RESPONSE_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"response": {"type": "string", "minLength": 1, "maxLength": 1500}},
                                   "required": ["response"], "additionalProperties": False}


def elimination_reason(parent: str, child: str, response: str | None, *, same_threshold: float = 0.9) -> str | None:
    """Why an evolution fails the Evol-Instruct elimination rules, or None when it survives.

    Examples
    --------
    >>> elimination_reason("Sum 2 and 3", "Sum 2 and 3", "5")
    'no information gain'
    >>> elimination_reason("Sum 2 and 3", "Sum 2, 3 and 9, showing each step", "Sorry, I cannot.")
    'the model could not answer it'
    >>> elimination_reason("Sum", "Here is the #Rewritten Prompt#: sum three numbers", "6")
    'copies words of the evolving prompt'
    """
    low = child.lower()
    if any(w in low for w in LEAKED):
        return "copies words of the evolving prompt"
    if " ".join(tokens(child)) == " ".join(tokens(parent)) or rouge_l(child, parent) > same_threshold:
        return "no information gain"
    if response is not None:
        words = tokens(response)
        if "sorry" in words and len(response.split()) < 80:
            return "the model could not answer it"
        if not [w for w in words if w not in STOPWORDS]:
            return "response is only punctuation and stop words"
    return None


def evolve(
    instructions: Sequence[Any],
    rounds: int = 1,
    *,
    operations: Sequence[str] = tuple(OPERATIONS),
    responses: bool = True,
    keep_originals: bool = False,
    seed: int = 0,
    retries: int = 2,
    temperature: float = 0.9,
    engine: Engine | None = None,
    backend: Any = None,
) -> TaskResult:
    """Evolve ``instructions`` (strings or records with ``instruction``) for ``rounds`` rounds.

    Each round applies one operation, drawn at random, to every instruction of the current pool; the
    survivors form the next pool, an eliminated evolution leaves its parent in the pool.

    Examples
    --------
    >>> res = evolve(["Explain gravity", "List three fruits"], rounds=2, backend="fake")
    >>> len(res.records) + len(res.filtered) == 4, all(s.balanced for s in res.stages)
    (True, True)
    """
    unknown = [o for o in operations if o not in OPERATIONS]
    if unknown:
        raise InputError(f"Unknown evolution operations {unknown}; choose from {', '.join(OPERATIONS)}")
    pool = [(i.get("instruction") if isinstance(i, dict) else i) for i in instructions]
    pool = [str(p).strip() for p in pool if p and str(p).strip()]
    if not pool:
        raise InputError("No instructions to evolve")
    eng = as_engine(engine, backend)
    rng = np.random.default_rng(seed)
    res = TaskResult("evolve", config={"rounds": rounds, "operations": list(operations), "seed": seed, "inputs": len(pool)})
    out: list[dict[str, Any]] = [{"instruction": p, "_round": 0, "_op": "original"} for p in pool] if keep_originals else []
    for r in range(rounds):
        ops = [operations[k] for k in rng.choice(len(operations), size=len(pool))]
        reqs = [ChatRequest.user(f"{OPERATIONS[op]}\n\n#Given Prompt#:\n{p}\n\nReply as JSON: {{\"instruction\": \"...\"}}",
                                 schema=EVOLVE_SCHEMA, max_tokens=token_budget(EVOLVE_SCHEMA), temperature=temperature,
                                 seed=call_seed(seed, r, i)) for i, (p, op) in enumerate(zip(pool, ops))]
        evolved = eng.structured(reqs, retries=retries, label=f"evolving, round {r + 1}")
        children = [st.value["instruction"].strip() if st.ok else None for st in evolved]
        answers = _responses(eng, children, seed, r, retries) if responses else [None] * len(pool)
        stage = res.stage(f"round {r + 1}")
        stage.inputs = len(pool)
        next_pool = []
        for parent, op, st, child, ans in zip(pool, ops, evolved, children, answers):
            row = {"instruction": child, "output": ans, "_round": r + 1, "_op": op, "_parent": parent}
            reason = ("invalid output: " + "; ".join(st.errors)) if child is None else elimination_reason(str(parent), child, ans)
            if reason is None and responses and ans is None:
                reason = "no valid response"
            if reason is not None:
                res.reject(stage, row, reason)
                next_pool.append(parent)
                continue
            stage.outputs += 1
            out.append(row if responses else {k: v for k, v in row.items() if k != "output"})
            next_pool.append(child)
        pool = next_pool
    res.records = out
    res.engine_stats = eng.stats()
    return res


def _responses(eng: Engine, children: list[str | None], seed: int, r: int, retries: int) -> list[str | None]:
    idx = [i for i, c in enumerate(children) if c]
    reqs = [ChatRequest.user(f"{children[i]}\n\nReply as JSON: {{\"response\": \"...\"}}", schema=RESPONSE_SCHEMA,
                             max_tokens=token_budget(RESPONSE_SCHEMA), temperature=0.7, seed=call_seed(seed, r, i, 7))
            for i in idx]
    out: list[str | None] = [None] * len(children)
    for i, st in zip(idx, eng.structured(reqs, retries=retries, label="answering evolved instructions")):
        out[i] = st.value["response"].strip() if st.ok else None
    return out


__all__ = ["IN_DEPTH", "OPERATIONS", "elimination_reason", "evolve"]
