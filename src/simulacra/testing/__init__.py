"""Public checks that users can run too: the synthesizer battery and a fake LLM backend."""

from __future__ import annotations

import importlib
from typing import Any

from simulacra.testing.synthesizers import check_synthesizer, example_table

__all__ = ["FakeBackend", "FakeOpenAIServer", "check_backend", "check_synthesizer", "example_table"]
_LLM = ("FakeBackend", "FakeOpenAIServer", "check_backend")


def __getattr__(name: str) -> Any:
    if name in _LLM:
        return getattr(importlib.import_module("simulacra.testing.llm"), name)
    raise AttributeError(f"module 'simulacra.testing' has no attribute '{name}'")
