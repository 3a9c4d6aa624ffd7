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

    ``spec`` is ``"local"`` (or None) for the embedded model, an installed model's name such as
    ``"smollm2-135m"``, a path to a ``.gguf`` file, a Hugging Face model folder (e.g. one that ``simulacra train``
    wrote) or ``hf:<model name>`` (run by transformers), an ``http://``/``https://`` URL of an OpenAI-compatible
    server, or ``"fake"`` (the deterministic :class:`~simulacra.text.backends.fake.FakeBackend`). ``model`` is,
    with a server, the served model's name; otherwise it may itself be a model name, a ``.gguf`` path or a
    URL (so ``--model`` alone says everything). Options go to the backend (``timeout``, ``deadline``,
    ``concurrency``, ``max_retries``, ``n_threads``...). A backend object is returned as it is.

    Examples
    --------
    >>> get_backend("fake").model_id
    'fake'
    >>> get_backend("local", model="nonsense")
    Traceback (most recent call last):
    ...
    simulacra.errors.InputError: Unknown model 'nonsense': ...
    """
    if spec is not None and not isinstance(spec, str):
        if isinstance(spec, Backend):
            return spec
        raise InputError(f"Expected a backend or a backend description, got {type(spec).__name__}")
    text = (spec or "local").strip()
    if text == "local" and model:  # --model alone: a name, a path or a URL
        text, model = model.strip(), None
    if text == "fake":
        from simulacra.text.backends.fake import FakeBackend

        return FakeBackend(**options)
    if text.startswith(("http://", "https://")):
        from simulacra.text.backends.openai_http import OpenAIBackend

        return OpenAIBackend(text, model=model, **options)
    from simulacra.text.backends import hf, models

    if text.startswith(hf.HF_PREFIX) or hf.is_model_folder(text):  # transformers: trained folders, dequantised GGUF
        return hf.TransformersBackend(text, **options)
    if text == "local" or models.is_known(text) or text.lower().endswith(".gguf") or Path(text).is_file():
        from simulacra.text.backends.llamacpp import LlamaCppBackend

        if model and not text.lower().endswith(".gguf") and text != "local" and not models.is_known(text):
            raise InputError(f"--model '{model}' names a served model, but '{text}' is not a server URL")
        path = models.resolve_model(text) if models.is_known(text) else None if text == "local" else text
        return LlamaCppBackend(model_path=path, **options)
    if "/" not in text and "\\" not in text:
        models.resolve_model(text)  # raises the "unknown model" error, listing what is installed
    raise InputError(
        f"Unknown LLM '{text}': use 'local' (embedded model), an installed model name "
        f"({', '.join(models.KNOWN)}), a path to a .gguf file, an OpenAI-compatible URL such as "
        "http://127.0.0.1:8000/v1, or 'fake'"
    )


__all__ = ["Backend", "ResultCallback", "get_backend"]
