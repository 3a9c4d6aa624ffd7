"""Text data with LLMs: question/answer pairs, instructions, labelled texts, table rows, judgements.

Local by default (an embedded llama.cpp model, no server), any OpenAI-compatible server for real work.
Every response is cached on disk, so a rerun makes no model calls and an interrupted run resumes;
structured outputs are validated and invalid ones kept with their error; every filtered row is counted.

>>> import simulacra.text as st
>>> res = st.generate_labelled(["spam", "ham"], 2, domain="e-mails", backend="fake")
>>> len(res.records)
4

Submodules are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Backend": "simulacra.text.backends",
    "ChatRequest": "simulacra.text.types",
    "Completion": "simulacra.text.types",
    "Engine": "simulacra.text.engine",
    "ResponseCache": "simulacra.text.cache",
    "TaskResult": "simulacra.text.result",
    "evolve": "simulacra.text.tasks.evolve",
    "find_duplicates": "simulacra.text.dedup",
    "generate_labelled": "simulacra.text.tasks.label",
    "generate_qa": "simulacra.text.tasks.qa",
    "generate_rows": "simulacra.text.tasks.rows",
    "get_backend": "simulacra.text.backends",
    "judge": "simulacra.text.tasks.judge",
    "paraphrase": "simulacra.text.tasks.label",
    "render_report": "simulacra.text.report",
    "rouge_l": "simulacra.text.similarity",
    "self_instruct": "simulacra.text.tasks.instruct",
    "text_report": "simulacra.text.report",
    "write_result": "simulacra.text.formats",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simulacra.text' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
