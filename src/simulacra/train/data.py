"""Training rows from JSONL: chat ``messages``, ``prompt``/``completion``, function-calling rows and pairs.

Everything becomes the conversational *prompt/completion* form that trl trains on with the loss on the
completion only: ``{"prompt": [messages...], "completion": [{"role": "assistant", ...}]}``. Function-calling
rows ``{"request": str, "call": {"name", "arguments"} | [calls] | null}`` need the API (``--api``): the prompt
is the API's system prompt and the request, the completion the rendered call or the plain no-call answer
(:func:`simulacra.text.calls.system_prompt` and :func:`~simulacra.text.calls.render_call`, the same format the
corpus, the uplift and the pair generator use). Preference pairs are ``{"prompt" | "request", "chosen",
"rejected"}``.

A bad row is an error naming its file and line, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simulacra.errors import InputError

Messages = list[dict[str, str]]
#: files of a corpus folder that hold rows kept apart (failed verification), never trained on
_REJECTED = ("reject", "fail", "quarantine", "invalid")


#: the training file of a corpus folder, by preference (``simulacra corpus`` writes messages.jsonl and rows.jsonl)
CORPUS_FILES = ("messages.jsonl", "rows.jsonl", "train.jsonl", "hf/data/train.jsonl")


def jsonl_files(path: str | Path) -> list[Path]:
    """The JSONL file ``path``, or the training file of a corpus folder (:data:`CORPUS_FILES`, the first found;
    a folder without one gives its ``.jsonl`` files, those of rejected rows left out)."""
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        for name in CORPUS_FILES:
            if (p / name).is_file():
                return [p / name]
        files = [f for f in sorted(p.glob("*.jsonl")) if not any(w in f.name.lower() for w in _REJECTED)]
        if files:
            return files
        raise InputError(f"No .jsonl training file in {p}; give a JSONL file or a corpus folder")
    raise InputError(f"Training data '{path}' does not exist")


def read_rows(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """``(where, row)`` for every row of the JSONL file(s); ``where`` is ``file:line`` for error messages."""
    out = []
    for f in jsonl_files(path):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{f}:{n} is not valid JSON ({exc.msg}); fix or remove that line") from None
            if not isinstance(row, dict):
                raise InputError(f"{f}:{n} is not a JSON object; each line must be one row object")
            out.append((f"{f}:{n}", row))
    if not out:
        raise InputError(f"No rows in {path}")
    return out


def call_messages(api: Any, request: str) -> Messages:
    """The prompt of a function-calling request: the API's system prompt and the user's request."""
    from simulacra.text.calls import system_prompt

    return [{"role": "system", "content": system_prompt(api)}, {"role": "user", "content": request}]


def call_answer(call: Any) -> str:
    """The assistant's answer for a call, a list of calls, or None (no call): the corpus's own rendering."""
    from simulacra.text.calls.output import answer

    return answer({"calls": call} if isinstance(call, list) else {"call": call})


def _messages(value: Any, where: str, field: str) -> Messages:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and all(isinstance(m, dict) and isinstance(m.get("role"), str)
                                       and isinstance(m.get("content"), str) for m in value):
        return [{"role": m["role"], "content": m["content"]} for m in value]
    raise InputError(f"{where}: '{field}' must be a string or a list of {{role, content}} messages")


def _text(value: Any, where: str, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict) and isinstance(value[-1].get("content"), str):
        return str(value[-1]["content"])
    raise InputError(f"{where}: '{field}' must be a string (or a list ending in an assistant message)")


def _needs_api(where: str, api: Any) -> None:
    if api is None:
        raise InputError(f"{where} is a function-calling row (request/call): pass the API that made it with --api "
                         "(a .py file, a module or an OpenAPI file)")


def sft_example(row: dict[str, Any], where: str, api: Any = None) -> dict[str, Messages]:
    """One SFT row in prompt/completion form (see the module docstring)."""
    if "messages" in row:
        msgs = _messages(row["messages"], where, "messages")
        if len(msgs) < 2 or msgs[-1]["role"] != "assistant":
            raise InputError(f"{where}: 'messages' must end with an assistant message (the target)")
        return {"prompt": msgs[:-1], "completion": msgs[-1:]}
    if "prompt" in row and "completion" in row:
        return {"prompt": _messages(row["prompt"], where, "prompt"),
                "completion": [{"role": "assistant", "content": _text(row["completion"], where, "completion")}]}
    if "request" in row and ("call" in row or "calls" in row):
        _needs_api(where, api)
        if not isinstance(row["request"], str) or not row["request"].strip():
            raise InputError(f"{where}: 'request' must be a non-empty string")
        call = row["call"] if "call" in row else row["calls"]
        return {"prompt": call_messages(api, row["request"]),
                "completion": [{"role": "assistant", "content": call_answer(call)}]}
    raise InputError(f"{where}: unknown row shape (keys: {', '.join(sorted(row)) or 'none'}); expected 'messages', "
                     "'prompt' and 'completion', or 'request' and 'call' (with --api)")


def pair_example(row: dict[str, Any], where: str, api: Any = None) -> dict[str, Messages]:
    """One preference pair: ``{"prompt": messages, "chosen": [assistant], "rejected": [assistant]}``."""
    missing = [k for k in ("chosen", "rejected") if k not in row]
    if missing:
        raise InputError(f"{where}: a preference pair needs 'chosen' and 'rejected' (missing: {', '.join(missing)})")
    if "request" in row:
        _needs_api(where, api)
        prompt = call_messages(api, str(row["request"]))
    elif "prompt" in row:
        prompt = _messages(row["prompt"], where, "prompt")
    else:
        raise InputError(f"{where}: a preference pair needs a 'prompt' (or a 'request' with --api)")
    chosen, rejected = _text(row["chosen"], where, "chosen"), _text(row["rejected"], where, "rejected")
    if chosen == rejected:
        raise InputError(f"{where}: 'chosen' and 'rejected' are the same answer; such a pair teaches nothing")
    return {"prompt": prompt, "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def load_sft(path: str | Path, api: Any = None) -> list[dict[str, Messages]]:
    """Every row of ``path`` as an SFT example."""
    return [sft_example(row, where, api) for where, row in read_rows(path)]


def load_pairs(path: str | Path, api: Any = None) -> list[dict[str, Messages]]:
    """Every row of ``path`` as a preference pair."""
    return [pair_example(row, where, api) for where, row in read_rows(path)]


def expected_calls(row: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The calls a held-out row expects (``call``: an object, a list, or null; or ``calls``: a list)."""
    call = row["call"] if "call" in row else row.get("calls", "missing")
    if call == "missing" or not isinstance(row.get("request"), str):
        raise InputError(f"{where}: a held-out row needs 'request' (a string) and 'call' (an object or null)")
    calls = [] if call is None else call if isinstance(call, list) else [call]
    if not all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls):
        raise InputError(f"{where}: 'call' must be null or an object with a 'name' and 'arguments'")
    return calls


def write_jsonl(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write rows as JSONL atomically; returns the number written."""
    from simulacra.io import atomic_path

    rows = list(rows)
    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


__all__ = ["call_answer", "call_messages", "expected_calls", "jsonl_files", "load_pairs", "load_sft", "pair_example", "read_rows",
           "sft_example", "write_jsonl"]
