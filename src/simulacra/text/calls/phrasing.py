"""Putting a sampled call into words: the API's own templates, generic templates, context first, several
calls in one request, requests that need no call or that the API cannot serve, and the prompt for the
model's paraphrase.

Correctness comes from structure: the call is drawn first and the words are made around it; the model
only rephrases, and the verification checks that its words still state every value.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.text.calls.api import Api, Function
from simulacra.text.calls.values import write_value
from simulacra.text.types import ChatRequest

_DATA = Path(__file__).with_name("data")
#: worked examples for the paraphrase prompt, from domains unrelated to any shipped API
PARAPHRASE_SHOTS = (
    ("Book a table for 4 people at 7 pm on 2024-06-12.", "Could you reserve a table for 4 at 7 pm on 2024-06-12?"),
    ("Send an e-mail to Maria with the subject budget review.", "Please e-mail Maria, subject: budget review."),
    ("What is the weather in Lisbon on March 9, 2025?", "How will the weather be in Lisbon on March 9, 2025?"),
    ("Set a timer for 25 minutes.", "Start a 25 minute timer for me."),
    ("Play the album Blue by Joni Mitchell.", "I'd like to hear Joni Mitchell's album Blue."),
    ("Remind me to call the dentist in 3 days.", "In 3 days, remind me that I have to call the dentist."),
    ("Find flights from Oslo to Rome on the 14th of May 2025.", "Are there flights Oslo to Rome on the 14th of May 2025?"),
    ("Translate 120 words into French.", "I need 120 words translated into French."),
)
_GENERIC = (
    "{summary}: {details}.", "Please {summary_lc}, with {details}.", "Can you {summary_lc}? {Details}.",
    "I need this: {summary_lc} ({details}).", "{Details}. {summary}, please.",
)
_QUESTION = (
    "{summary}, for {details}?", "Tell me {summary_lc}: {details}.", "{Details}: {summary_lc}?",
    "I'd like to know {summary_lc}, given {details}.",
)
_CONTEXT_Q = ("Here are the details: {details}. {summary}?", "I've got {details}. Tell me {summary_lc}.")
_CONTEXT = (
    "Here are the details: {details}. {summary}, please.", "I've got {details}. Can you {summary_lc}?",
    "For reference, {details}. Now {summary_lc}.",
)
_JOIN = ("{a} Also, {b}", "{a} And then {b}", "First: {a} Second: {b}", "{a} After that, {b}")
_NOT_NOUNS = frozenset("get set add list check reserve convert split find make create of to from by for in on at between "
                       "the a an and or with is".split())
_ACTIONS = ("cancel", "delete", "update", "rename", "email", "undo", "print", "refund")


def placeholders(template: str) -> set[str]:
    """The parameter names a template uses."""
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def templates_for(api: Api, fn: Function, arguments: Mapping[str, Any], kind: str = "request_templates") -> list[str]:
    """The API's templates for ``fn`` (of hint ``kind``) that state exactly the given arguments."""
    given = set(arguments)
    return [t for t in api.hints.get(kind, {}).get(fn.name, []) if placeholders(t) == given]


def _lc(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) < 2 else text


def _words(values: Mapping[str, str]) -> str:
    parts = [f"{k.replace('_', ' ')} {v}" for k, v in values.items()]
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)


def phrase_call(api: Api, fn: Function, arguments: Mapping[str, Any], rng: np.random.Generator,
                context: bool = False) -> tuple[str, str]:
    """A request stating ``arguments`` for ``fn`` and the name of the template used.

    The API's own templates are used when one fits the arguments (its ``context_templates`` for ``context``);
    otherwise a generic template built from the function's description. With ``context`` the values come
    first, as details, and the request refers to them.
    """
    forms = api.hints.get("surface_forms", {})
    props = fn.parameters.get("properties", {})
    written = {k: write_value(k, v, props.get(k, {}), rng, forms) for k, v in arguments.items()}
    own = templates_for(api, fn, arguments, "context_templates" if context else "request_templates")
    summary = re.sub(r"\s*\([^)]*\)", "", fn.description.split(". ")[0]).rstrip(". ") or fn.name.replace("_", " ")
    if own:
        k = int(rng.integers(len(own)))
        return own[k].format(**written), f"{fn.name}{'-context' if context else ''}#{k}"
    noun = summary.split()[0].lower() in ("the", "a", "an", "how", "which", "what", "whether", "who", "when", "where")
    frames = (_CONTEXT_Q if noun else _CONTEXT) if context else (_QUESTION if noun else _GENERIC)
    k = int(rng.integers(len(frames)))
    details = _words(written) if written else "no details"
    text = frames[k].format(summary=summary, summary_lc=_lc(summary), details=details, Details=details[:1].upper() + details[1:])
    return text, ("context" if context else "generic") + ("-question#" if noun else "#") + str(k)


def join_requests(texts: Sequence[str], rng: np.random.Generator) -> str:
    """Several requests written as one message."""
    out = texts[0]
    for nxt in texts[1:]:
        frame = _JOIN[int(rng.integers(len(_JOIN)))]
        out = frame.format(a=out, b=_lc(nxt) if "{b}" in frame and not frame.startswith("First") else nxt)
    return out


def no_call_requests() -> list[str]:
    """The hand-written requests that need no call (package data)."""
    lines = (_DATA / "no_call.txt").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def unsupported_request(api: Api, rng: np.random.Generator) -> tuple[str, str]:
    """A request the API cannot serve, and why: a value it does not offer, or an action it lacks."""
    pools = api.hints.get("unsupported_values", {})
    fns = list(api.functions.values())
    options = [(fn, p) for fn in fns for p in fn.parameters.get("properties", {}) if p in pools]
    if options and rng.random() < 0.6:
        fn, param = options[int(rng.integers(len(options)))]
        from simulacra.text.calls.values import sample_arguments

        args = sample_arguments(fn.parameters, rng, api.hints.get("value_pools", {}), optional_share=0.0)
        bad = pools[param][int(rng.integers(len(pools[param])))]
        own = [t for t in api.hints.get("request_templates", {}).get(fn.name, []) if param in placeholders(t)
               and placeholders(t) <= set(args) | {param}]
        forms = api.hints.get("surface_forms", {})
        props = fn.parameters.get("properties", {})
        written = {k: write_value(k, v, props.get(k, {}), rng, forms) for k, v in args.items()}
        written[param] = str(bad)
        if own:
            return own[int(rng.integers(len(own)))].format(**written), f"{fn.name}: {param}={bad!s} is not offered"
        return (f"{fn.description.rstrip('. ')} with {param.replace('_', ' ')} {bad}.",
                f"{fn.name}: {param}={bad!s} is not offered")
    verbs = {n.split("_")[0].lower() for n in api.names}
    actions = [a for a in _ACTIONS if a not in verbs]
    fn = fns[int(rng.integers(len(fns)))]
    words = [w for w in fn.name.lower().split("_") if w not in _NOT_NOUNS]
    noun = " ".join(words) or fn.name.replace("_", " ")
    action = actions[int(rng.integers(len(actions)))] if actions else "cancel"
    frames = ("Please {a} the {n}.", "Can you {a} my {n}?", "I want to {a} a {n} record.", "{A} the last {n}, now.")
    frame = frames[int(rng.integers(len(frames)))]
    return frame.format(a=action, A=action.capitalize(), n=noun), f"no function can {action} {noun}"


def template_pairs(api: Api, rng: np.random.Generator, k: int) -> list[tuple[str, str]]:
    """Up to ``k`` worked paraphrase examples from the API itself: one call written by two of its templates.

    Both sides state the same values in other words, which is what the model is asked to do; a small model
    copies the shape of its examples, so examples from the API's own domain keep it on topic.
    """
    from simulacra.text.calls.values import sample_arguments

    fns = [f for f in api.functions.values() if len(api.hints.get("request_templates", {}).get(f.name, [])) >= 2]
    out: list[tuple[str, str]] = []
    for _ in range(4 * k):
        if not fns or len(out) >= k:
            break
        fn = fns[int(rng.integers(len(fns)))]
        args = sample_arguments(fn.parameters, rng, api.hints.get("value_pools", {}), optional_share=0.0)
        own = templates_for(api, fn, args)
        if len(own) < 2:
            continue
        i, j = rng.choice(len(own), size=2, replace=False)
        forms = api.hints.get("surface_forms", {})
        props = fn.parameters.get("properties", {})
        written = {a: write_value(a, v, props.get(a, {}), rng, forms) for a, v in args.items()}
        out.append((own[int(i)].format(**written), own[int(j)].format(**written)))
    return out


def paraphrase_request(text: str, seed: int, shots: int = 4, examples: Sequence[tuple[str, str]] = ()) -> ChatRequest:
    """A few-shot completion request asking the model to say ``text`` in other words (values kept).

    ``examples`` (from :func:`template_pairs`) are used first; the built-in :data:`PARAPHRASE_SHOTS` fill up.
    """
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(PARAPHRASE_SHOTS), size=min(shots, len(PARAPHRASE_SHOTS)), replace=False)
    pairs = list(examples)[:shots] + [PARAPHRASE_SHOTS[int(i)] for i in picks][: max(0, shots - len(examples))]
    body = "Rewrite each request in other words. Keep every number, date, code and name exactly.\n\n"
    for a, b in pairs:
        body += f"Request: {a}\nRewritten: {b}\n\n"
    body += f"Request: {text}\nRewritten:"
    return ChatRequest.raw(body, max_tokens=60, temperature=0.8, seed=seed, stop=("\n",))


def clean_paraphrase(text: str) -> str:
    """The model's rewritten request: its first line, without quotes or a leaked label."""
    from simulacra.text.tasks.paraphrase import clean_generation

    out = clean_generation(text)
    return re.sub(r"^(request|rewritten)\s*:\s*", "", out, flags=re.IGNORECASE).strip()


__all__ = ["PARAPHRASE_SHOTS", "clean_paraphrase", "join_requests", "no_call_requests", "paraphrase_request",
           "phrase_call", "placeholders", "template_pairs", "templates_for", "unsupported_request"]
