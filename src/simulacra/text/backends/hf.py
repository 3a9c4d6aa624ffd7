"""A backend for Hugging Face model folders run by transformers (the models that ``simulacra train`` writes).

``get_backend("tuned/")`` (any folder with a ``config.json``, or a LoRA adapter folder with an
``adapter_config.json``) and ``get_backend("hf:smollm2-135m")`` (the embedded GGUF model, dequantised by
transformers) land here. Decoding is greedy when ``temperature`` is 0 and sampled otherwise. Greedy requests
that start with a system message (the function-calling prompt: several hundred tokens of tool descriptions)
reuse that message's keys and values, computed once, so each request only reads its own few tokens;
other greedy requests are batched, left padded, other sampled ones run one at a time. A sampled request
runs under its own seed (the global torch random state is
saved and restored, so nothing outside is reseeded). A JSON Schema is not enforced while decoding, only
validated afterwards by the engine.

The embedded GGUF model is dequantised once into ``$SIMULACRA_HOME/hf/<name>`` (about 540 MB of float32
safetensors), so later loads take a second or two instead of the 20-50 s of a GGUF conversion.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulacra.errors import InputError, MissingDependencyError
from simulacra.random import torch_device, torch_seeded
from simulacra.text.backends import ResultCallback
from simulacra.text.types import ChatRequest, Completion

HF_PREFIX = "hf:"


def is_model_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a Hugging Face causal LM or a LoRA adapter."""
    p = Path(path)
    return p.is_dir() and ((p / "config.json").is_file() or (p / "adapter_config.json").is_file())


def _torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("transformers", "train", "Hugging Face model folders") from exc
    return torch


def _cache_root() -> Path:
    return Path(os.environ.get("SIMULACRA_HOME") or Path.home() / ".cache" / "simulacra") / "hf"


def resolve_device(device: str | None = None) -> str:
    """``device``, or ``cuda`` when torch sees a CUDA GPU and ``cpu`` otherwise; an unusable choice is an error."""
    return torch_device(_torch(), device)


def hf_folder(name_or_path: str | Path) -> Path:
    """A Hugging Face folder for ``name_or_path``: a known GGUF model's name (dequantised and cached once),
    a ``.gguf`` file (likewise), or a model folder as it is.

    Raises InputError for anything else.
    """
    from simulacra.text.backends import models

    text = str(name_or_path).strip()
    text = text[len(HF_PREFIX):] if text.startswith(HF_PREFIX) else text
    if is_model_folder(text):
        return Path(text)
    if models.is_known(text):
        gguf, name = models.resolve_model(text), text.strip().lower()
    elif text.lower().endswith(".gguf") and Path(text).is_file():
        gguf = Path(text)
        name = f"{gguf.stem}-{gguf.stat().st_size}"
    else:
        raise InputError(f"'{text}' is neither a model folder (with config.json or adapter_config.json), nor a .gguf "
                         f"file, nor an installed model name ({', '.join(models.KNOWN)})")
    target = _cache_root() / name
    if (target / "config.json").is_file():
        return target
    _dequantise(gguf, target)
    return target


def _dequantise(gguf: Path, target: Path) -> None:
    """Load ``gguf`` through transformers (dequantised to float32) and save it as a plain folder."""
    torch = _torch()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        import gguf as _gguf  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("gguf", "train", "loading GGUF models through transformers") from exc
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # transformers marks a GGUF-loaded model as quantized and refuses to save it; the weights are plain
    # float32 tensors by now, so the marks are dropped.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "simulacra-source.json").write_text(json.dumps({"gguf": str(gguf), "size": gguf.stat().st_size}))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def load_causal_lm(name_or_path: str | Path, *, n_threads: int | None = None,
                   device: str | None = "cpu") -> tuple[Any, Any]:
    """``(model, tokenizer)`` for a model name, ``.gguf`` file, model folder or LoRA adapter folder (float32, in
    evaluation mode, on ``device``: the CPU by default, None for a CUDA GPU when there is one). An adapter is
    merged into its base, which is read from ``adapter_config.json``."""
    torch = _torch()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if n_threads:
        torch.set_num_threads(int(n_threads))
    folder = hf_folder(name_or_path)
    if (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file():
        from peft import PeftModel

        base = json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"]
        model, tokenizer = load_causal_lm(base)
        model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
        if (folder / "tokenizer_config.json").is_file():
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    where = resolve_device(device)
    if where != "cpu":
        model = model.to(where)
    return model, tokenizer


class TransformersBackend:
    """The :class:`~simulacra.text.backends.Backend` for Hugging Face folders (see the module docstring).

    Parameters
    ----------
    model_path : a model folder, an adapter folder, a ``.gguf`` file or an installed model name.
    n_threads : torch threads (default: ``OMP_NUM_THREADS`` or 1).
    batch_size : requests decoded together (greedy ones; on a GPU sampled ones too).
    device : ``cpu``, ``cuda``, or None: a CUDA GPU when torch sees one. On a GPU every request is decoded in
        left-padded batches (sampled ones under the seed of the batch's first request), which is far faster
        there than the prefix cache's one request at a time.
    """

    supports_schema = False

    def __init__(self, model_path: str | Path, *, n_threads: int | None = None, batch_size: int = 8,
                 prefix_cache: bool = True, device: str | None = None, **_: Any) -> None:
        self.model_path = str(model_path)
        self.n_threads = n_threads or int(os.environ.get("OMP_NUM_THREADS") or 1)
        self.batch_size = max(1, int(batch_size))
        name = Path(self.model_path.removeprefix(HF_PREFIX)).resolve().name if Path(self.model_path).exists() else self.model_path
        self.model_id = f"transformers:{name.removeprefix(HF_PREFIX)}"
        self.device = resolve_device(device)
        self.prefix_cache = prefix_cache and self.device == "cpu"
        self.batch_sampled = self.device != "cpu"
        self._model: Any = None
        self._tokenizer: Any = None
        self._prefixes: dict[str, tuple[list[int], Any]] = {}

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            self._model, self._tokenizer = load_causal_lm(self.model_path, n_threads=self.n_threads, device=self.device)
        return self._model, self._tokenizer

    def prompt_text(self, request: ChatRequest) -> str:
        """The text the model continues: the raw prompt, or the messages under the tokenizer's chat template."""
        _, tokenizer = self._load()
        raw = request.raw_prompt
        if raw is not None:
            return raw
        return str(tokenizer.apply_chat_template(list(request.messages), tokenize=False, add_generation_prompt=True))

    def complete(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None = None) -> list[Completion]:
        """Answer ``requests`` in order (greedy ones in batches, sampled ones one by one)."""
        self._load()
        out: list[Completion | None] = [None] * len(requests)
        if self.prefix_cache:  # requests under a system message: its keys and values are computed once
            for i, r in enumerate(requests):
                if self._split(r) is not None:
                    out[i] = done = self._generate_cached(r)
                    if on_result:
                        on_result(i, done)
        greedy = [i for i, r in enumerate(requests) if r.temperature <= 0 and out[i] is None]
        for start in range(0, len(greedy), self.batch_size):
            idx = greedy[start:start + self.batch_size]
            for i, done in zip(idx, self._generate([requests[i] for i in idx], sample=False)):
                out[i] = done
                if on_result:
                    on_result(i, done)
        sampled = [i for i, r in enumerate(requests) if out[i] is None]
        step = self.batch_size if self.batch_sampled else 1
        for start in range(0, len(sampled), step):
            idx = sampled[start:start + step]
            for i, done in zip(idx, self._generate([requests[i] for i in idx], sample=True)):
                out[i] = done
                if on_result:
                    on_result(i, done)
        return [c for c in out if c is not None]

    def _split(self, request: ChatRequest) -> tuple[str, list[int]] | None:
        """``(system prefix, full prompt ids)`` when the prompt starts with a system message's tokens, else None."""
        _, tokenizer = self._load()
        if request.raw_prompt is not None or request.messages[0].get("role") != "system":
            return None
        prefix = str(tokenizer.apply_chat_template(list(request.messages[:1]), tokenize=False))
        full = self.prompt_text(request)
        if not full.startswith(prefix):
            return None
        ids = list(tokenizer(full, add_special_tokens=False)["input_ids"])
        head = list(tokenizer(prefix, add_special_tokens=False)["input_ids"])
        return (prefix, ids) if ids[: len(head)] == head and len(ids) > len(head) else None

    def _generate_cached(self, request: ChatRequest) -> Completion:
        """One request decoded from a copy of its system prefix's cached keys and values."""
        import copy

        torch = _torch()
        model, tokenizer = self._load()
        start = time.perf_counter()
        split = self._split(request)
        assert split is not None
        prefix, ids = split
        sample = request.temperature > 0
        how = ({"do_sample": True, "temperature": request.temperature, "top_p": request.top_p} if sample else
               {"do_sample": False, "temperature": None, "top_p": None, "top_k": None})
        try:
            with torch.inference_mode():
                if prefix not in self._prefixes:
                    head = tokenizer(prefix, add_special_tokens=False, return_tensors="pt")["input_ids"]
                    self._prefixes[prefix] = (head, model(input_ids=head, use_cache=True).past_key_values)
                cache = copy.deepcopy(self._prefixes[prefix][1])
            full = torch.tensor([ids])

            def decode() -> Any:
                with torch.inference_mode():
                    return model.generate(input_ids=full, attention_mask=torch.ones_like(full), cache=cache,
                                          max_new_tokens=request.max_tokens, pad_token_id=tokenizer.pad_token_id,
                                          eos_token_id=tokenizer.eos_token_id, **how)

            out = torch_seeded(torch, request.seed, decode)  # the CPU only (a prefix cache is): a local seed
        except Exception as exc:  # noqa: BLE001 - a failed request comes back as a failed Completion
            return Completion(text="", error=f"{type(exc).__name__}: {exc}")
        return self._completion(request, out[0, len(ids):], len(ids), time.perf_counter() - start)

    def _completion(self, request: ChatRequest, ids: Any, n_prompt: int, seconds: float) -> Completion:
        _, tokenizer = self._load()
        ids = ids[: request.max_tokens]
        ended = bool((ids == tokenizer.eos_token_id).any())
        text, stopped = _cut(tokenizer.decode(ids, skip_special_tokens=True), request.stop)
        return Completion(text=text, prompt_tokens=n_prompt, completion_tokens=int((ids != tokenizer.pad_token_id).sum()),
                          finish_reason="stop" if ended or stopped else "length", seconds=seconds)

    def _generate(self, batch: Sequence[ChatRequest], *, sample: bool) -> list[Completion]:
        torch = _torch()
        model, tokenizer = self._load()
        start = time.perf_counter()
        texts = [self.prompt_text(r) for r in batch]
        tokenizer.padding_side = "left"
        enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
        r0 = batch[0]
        kwargs: dict[str, Any] = {"max_new_tokens": max(r.max_tokens for r in batch), "do_sample": sample,
                                  "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id}
        if sample:  # one setting for the batch: sampled requests are batched only on a GPU (see the class)
            kwargs.update(temperature=r0.temperature, top_p=r0.top_p)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        def run() -> Any:
            with torch.inference_mode():
                return model.generate(**enc, **kwargs)

        try:  # a local seed: the global generators (the model's device's too) are restored on exit
            out = torch_seeded(torch, r0.seed, run, device=model.device)
        except Exception as exc:  # noqa: BLE001 - a failed request comes back as a failed Completion
            return [Completion(text="", error=f"{type(exc).__name__}: {exc}") for _ in batch]
        seconds = (time.perf_counter() - start) / len(batch)
        n_prompt = enc["input_ids"].shape[1]
        return [self._completion(r, out[j, n_prompt:], int(enc["attention_mask"][j].sum()), seconds)
                for j, r in enumerate(batch)]

    def close(self) -> None:
        """Free the model."""
        self._model = self._tokenizer = None
        self._prefixes.clear()


def _cut(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first stop string, and whether one was found."""
    cuts = [text.find(s) for s in stops if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


__all__ = ["HF_PREFIX", "TransformersBackend", "hf_folder", "is_model_folder", "load_causal_lm", "resolve_device"]
