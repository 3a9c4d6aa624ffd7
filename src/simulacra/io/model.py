"""Saving and loading fitted models as an archive of JSON and arrays: nothing in it is ever executed.

A model file is a zip archive holding ``manifest.json`` (format, library version, class, parameters
and the SHA-256 of every other member), ``metadata.json``, ``state.json`` and ``arrays.npz``. Loading
checks the manifest and every checksum, rebuilds only registered classes, and reads arrays with
``allow_pickle=False``: a file from a stranger cannot run code, and a modified one is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any, cast

import numpy as np

from simulacra.errors import ModelFileError
from simulacra.io.tables import atomic_path

FORMAT = "simulacra-model"
FORMAT_VERSION = 1
MEMBERS = ("manifest.json", "metadata.json", "state.json", "arrays.npz")
_MAX_MEMBER_BYTES = 8 * 1024**3


def split_arrays(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Replace numeric numpy arrays in a nested structure by references; returns the JSON-able rest."""
    if isinstance(obj, np.ndarray):
        if obj.dtype == object or obj.dtype.kind in "USO":
            return [split_arrays(v, arrays) for v in obj.tolist()]
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        return {str(k): split_arrays(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [split_arrays(v, arrays) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise ModelFileError(f"Cannot save a value of type {type(obj).__name__} in a model file")


def join_arrays(obj: Any, arrays: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if key not in arrays:
                raise ModelFileError(f"The model file is corrupt: array '{key}' is missing.")
            return arrays[key]
        return {k: join_arrays(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_arrays(v, arrays) for v in obj]
    return obj


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_model(model: Any, path: str | Path) -> Path:
    """Write a fitted synthesizer to ``path``."""
    from simulacra import __version__

    arrays: dict[str, np.ndarray] = {}
    state = split_arrays(model._get_state(), arrays)
    base_state = split_arrays(model._base_state(), arrays) if hasattr(model, "_base_state") else None
    params = {k: v for k, v in model.get_params().items() if k != "metadata"}
    try:
        json.dumps(params)
    except TypeError as exc:
        raise ModelFileError(f"Model parameters must be JSON values to be saved: {exc}") from None
    buf = io.BytesIO()
    np.savez_compressed(buf, **cast(dict[str, Any], arrays))  # mypy: a key could be allow_pickle
    members = {
        "metadata.json": json.dumps(model.metadata_.to_dict()).encode(),
        "state.json": json.dumps(
            {"columns": model.columns_, "n_training_rows": model.n_training_rows_, "state": state,
             "base": base_state}
        ).encode(),
        "arrays.npz": buf.getvalue(),
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "class": type(model).__name__,
        "model": model.name,
        "params": params,
        "sha256": {name: _sha(data) for name, data in members.items()},
    }
    target = Path(path)
    with atomic_path(target) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, indent=2))
            for name, data in members.items():
                zf.writestr(name, data)
    return target


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a model file, checked for format and version."""
    manifest, _ = _open(path, verify=False)
    return manifest


def _open(path: str | Path, *, verify: bool) -> tuple[dict[str, Any], dict[str, bytes]]:
    p = Path(path)
    if not p.exists():
        raise ModelFileError(f"Model file '{p}' does not exist.")
    if not zipfile.is_zipfile(p):
        raise ModelFileError(f"'{p}' is not a simulacra model file (not a model archive).")
    try:
        with zipfile.ZipFile(p) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            unexpected = sorted(set(infos) - set(MEMBERS))
            missing = sorted(set(MEMBERS) - set(infos))
            if unexpected or missing:
                raise ModelFileError(
                    f"'{p}' is not a valid simulacra model: "
                    + (f"unexpected members {unexpected}" if unexpected else f"missing members {missing}")
                )
            if any(i.file_size > _MAX_MEMBER_BYTES for i in infos.values()):
                raise ModelFileError(f"'{p}' has a member too large for a model file; refusing it.")
            data = {name: zf.read(name) for name in MEMBERS}
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"'{p}' is corrupt: {exc}") from None
    try:
        manifest = json.loads(data["manifest.json"])
    except json.JSONDecodeError:
        raise ModelFileError(f"'{p}' has a corrupt manifest.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"'{p}' is not a simulacra model file.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"'{p}' uses model format {version!r}, newer than this simulacra reads ({FORMAT_VERSION}); upgrade simulacra."
        )
    if verify:
        sums = manifest.get("sha256") or {}
        for name in MEMBERS[1:]:
            if sums.get(name) != _sha(data[name]):
                raise ModelFileError(
                    f"'{p}' was modified after it was saved ({name} does not match its checksum); "
                    "refusing to load it. Re-fit the model or use an untouched copy."
                )
    return manifest, data


def load_model(path: str | Path) -> Any:
    """Load a model saved by ``save``. Executes nothing from the file."""
    from simulacra.metadata import Metadata
    from simulacra.tabular.registry import SYNTHESIZERS, _load_builtin

    manifest, data = _open(path, verify=True)
    _load_builtin(str(manifest.get("model")))
    cls = next((c for c in SYNTHESIZERS.values() if c.__name__ == manifest.get("class")), None)
    if cls is None:
        _load_builtin()
        cls = next((c for c in SYNTHESIZERS.values() if c.__name__ == manifest.get("class")), None)
    if cls is None:
        raise ModelFileError(
            f"'{path}' holds a model of class {manifest.get('class')!r}, which is not a registered synthesizer."
        )
    try:
        params = dict(manifest.get("params") or {})
        unknown = set(params) - set(cls._param_names())
        if unknown:
            raise ModelFileError(f"'{path}' has unknown parameters for {cls.__name__}: {sorted(unknown)}")
        model = cls(**params)
        model.metadata_ = Metadata.from_dict(json.loads(data["metadata.json"]))
        body = json.loads(data["state.json"])
        with np.load(io.BytesIO(data["arrays.npz"]), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        model.columns_ = [str(c) for c in body["columns"]]
        model.n_training_rows_ = int(body["n_training_rows"])
        model._sample_rng_ = np.random.default_rng(params.get("random_state"))
        if hasattr(model, "_set_base_state"):
            model._set_base_state(join_arrays(body.get("base"), arrays))
        model._set_state(join_arrays(body["state"], arrays))
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"'{path}' is corrupt or incompatible: {exc}") from None
    return model
