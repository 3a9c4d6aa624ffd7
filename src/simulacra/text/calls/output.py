"""Writing a function-calling corpus: chat rows that end in the call, preference pairs against a wrong
call, the tools, the verification yield per stage, and a dataset card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.text.calls.api import Api, render_call, system_prompt
from simulacra.text.calls.corpus import stage_yield
from simulacra.text.calls.values import sample_value
from simulacra.text.result import TaskResult


def answer(row: dict[str, Any]) -> str:
    """The assistant's turn for a row: its call(s) in the call format, or a plain answer without a call."""
    calls = row.get("calls") or ([row["call"]] if row.get("call") else [])
    return "\n".join(render_call(c) for c in calls) if calls else render_call(None)


def wrong_call(api: Api, row: dict[str, Any], rng: np.random.Generator) -> dict[str, Any] | None:
    """A call that the verifiers know is wrong for the row: one argument changed to another valid value,
    or (for a row that needs no call) a call of some function."""
    call = row.get("call")
    pools = api.hints.get("value_pools", {})
    if call is None:
        names = api.names
        fn = api.functions[names[int(rng.integers(len(names)))]]
        from simulacra.text.calls.values import sample_arguments

        return {"name": fn.name, "arguments": sample_arguments(fn.parameters, rng, pools, optional_share=0.0)}
    props = api.functions[call["name"]].parameters.get("properties", {})
    names = list(call["arguments"])
    if not names:
        return None
    for _ in range(8):
        key = names[int(rng.integers(len(names)))]
        value = sample_value(key, props.get(key, {}), rng, pools)
        if value != call["arguments"][key]:
            return {"name": call["name"], "arguments": {**call["arguments"], key: value}}
    return None


def write_calls_corpus(res: TaskResult, api: Api, out: str | Path, *, command: str = "",
                       extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the corpus folder (see :func:`simulacra.text.corpus.export.write_corpus`) plus ``tools.json``."""
    from simulacra.text.corpus.export import write_corpus

    system = system_prompt(api)

    def chat(row: dict[str, Any]) -> list[dict[str, str]]:
        return [{"role": "system", "content": system}, {"role": "user", "content": row["request"]},
                {"role": "assistant", "content": answer(row)}]

    pairs = []
    seed = int(res.config.get("seed", 0))
    for row in res.records:
        if row.get("calls"):
            continue
        bad = wrong_call(api, row, np.random.default_rng([seed, row.get("index", 0), 11]))
        if bad is None:
            continue
        pairs.append({"prompt": chat(row)[:2], "chosen": [{"role": "assistant", "content": answer(row)}],
                      "rejected": [{"role": "assistant", "content": render_call(bad)}],
                      "preference_source": "verifier: the rejected call changes one argument" if row.get("call")
                      else "verifier: the request needs no call"})
    kinds: dict[str, int] = {}
    by_fn: dict[str, int] = {}
    for row in res.records:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        for c in row.get("calls") or ([row["call"]] if row.get("call") else []):
            by_fn[c["name"]] = by_fn.get(c["name"], 0) + 1
    info = {"verification": stage_yield(res), "kinds": kinds, "calls_per_function": by_fn,
            "phrasing": _count(res.records, "phrasing"), **(extra or {})}
    engine_model = (res.engine_stats or {}).get("model")
    card = {
        "title": f"Function calls for {Path(api.source).name if api.kind == 'openapi' else api.source}",
        "summary": "User requests paired with the function call that serves them (or no call), made by simulacra "
                   "from an API description and verified by executing every call.",
        "source": f"{api.kind} API `{api.source}` ({len(api.names)} functions: {', '.join(api.names)})",
        "command": command, "tags": ["function-calling", "tool-use"],
        "method": [
            "Each call was drawn first (function and arguments from the JSON schema and value pools), then put into "
            "words by templates" + (f" and rephrased by {engine_model} for a share of the rows" if engine_model else "") + ".",
            "Every call was checked in three stages: schema validation, execution (a worker process with no network, "
            "or a mock built from the OpenAPI examples), and grounding (every argument value is stated in the request "
            "or is the documented default); a judge only where the model passed the judge calibration "
            + ("(it did: stage `judge`)." if res.config.get("judge_consulted") else "(it did not: no judge was consulted)."),
            "Rows needing no call: general requests from a hand-written list, and requests for values or actions the "
            "API does not offer.",
            "Preference pairs (`pairs.jsonl`): chosen = the verified call, rejected = the same call with one argument "
            "changed, or a call where none is needed.",
        ],
        "fields": {"messages": "system (the tools), user (the request), assistant (the call as "
                               "`<tool_call>{...}</tool_call>`, or a plain answer)",
                   "request": "the user's request", "call": "the expected call as JSON text (`null`: no call)",
                   "kind": "single, context, multi, no_call or unsupported", "phrasing": "template, model or no-call bank"},
        "limitations": ["Requests are template-shaped; the small model's rephrasings add variety but not the full range "
                        "of real requests.", "A call counts as verified when it runs; whether its result is what the "
                        "user wanted is checked only through the grounding of its arguments."],
    }
    manifest = write_corpus(res, out, chat=chat, card=card, pairs=pairs, extra=info,
                            hf_fields=("request", "call", "kind", "phrasing"))
    (Path(out) / "tools.json").write_text(json.dumps(api.tools, indent=2), encoding="utf-8")
    return manifest


def _count(rows: list[dict[str, Any]], field: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[str(r.get(field))] = out.get(str(r.get(field)), 0) + 1
    return out


__all__ = ["answer", "write_calls_corpus", "wrong_call"]
