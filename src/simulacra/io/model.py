"""The model archive format: JSON and numeric arrays in a zip file, nothing in it ever executed.

A model file is a zip archive holding ``manifest.json`` (format, library version, class, parameters
and the SHA-256 of every other member), ``metadata.json``, ``state.json`` and ``arrays.npz``. This
module knows the format only, not the models: :func:`write_archive` takes plain state (JSON values
and numpy arrays) and :func:`read_archive` gives it back, after checking the manifest, the size of
every member, every checksum and, when a key is given, the signature. Arrays are read with
``allow_pickle=False``. A model turns itself into that plain state and back
(``BaseSynthesizer.to_state`` / ``from_state``); :func:`simulacra.load` ties the two together.

Checksums catch corruption, not tampering: whoever edits a file can recompute them. People who share
models can sign them with a key they keep (HMAC-SHA256 over the manifest, which holds the checksum of
every member); a file loaded with a key must carry a signature made with that key.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from simulacra.errors import ModelFileError
from simulacra.io.tables import atomic_path

FORMAT = "simulacra-model"
FORMAT_VERSION = 1
MEMBERS = ("manifest.json", "metadata.json", "state.json", "arrays.npz")
#: Environment variable holding the key that signs saved models and verifies loaded ones.
KEY_ENV = "SIMULACRA_MODEL_KEY"
SIGNATURE_ALGORITHM = "hmac-sha256"
#: Largest manifest: it holds a few names, the parameters and four checksums.
MAX_MANIFEST_BYTES = 16 * 1024**2
#: Largest JSON member (``metadata.json``, ``state.json``) once expanded.
MAX_JSON_BYTES = 1024**3
#: Largest total of the arrays, expanded (``arrays.npz`` and each array inside it).
MAX_ARRAY_BYTES = 8 * 1024**3
#: A member may expand to at most this many times its compressed size ...
MAX_RATIO = 100
#: ... unless it stays below this size (small members of constant values compress very well).
RATIO_FREE_BYTES = 16 * 1024**2
_CHUNK = 1 << 20
#: What reading a damaged archive raises (zlib.error: a corrupt deflate stream).
_CORRUPT = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError)


@dataclass(frozen=True)
class Archive:
    """The content of a model file: its manifest, its metadata and its state (arrays joined in)."""

    manifest: dict[str, Any]
    metadata: dict[str, Any]
    state: dict[str, Any]


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


def join_arrays(obj: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """The inverse of :func:`split_arrays`: array references replaced by the arrays."""
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            key = obj["__array__"]
            if not isinstance(key, str) or key not in arrays:
                raise ModelFileError.corrupt(f"array {key!r} is missing")
            return arrays[key]
        return {k: join_arrays(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_arrays(v, arrays) for v in obj]
    return obj


# -- keys and signatures -------------------------------------------------------------------------
def model_key(key: str | bytes | None = None, *, key_file: str | Path | None = None) -> bytes | None:
    """The signing key: ``key`` itself, else the content of ``key_file``, else ``$SIMULACRA_MODEL_KEY``.

    None when none is given (models are then saved unsigned and loaded without a signature check).
    """
    if key is not None:
        raw = key.encode() if isinstance(key, str) else bytes(key)
    elif key_file is not None:
        try:
            raw = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise ModelFileError(f"Cannot read the key file '{key_file}': {exc.strerror or exc}") from None
        if not raw:
            raise ModelFileError(f"The key file '{key_file}' is empty; put the signing key in it.")
    else:
        env = os.environ.get(KEY_ENV)
        if not env:
            return None
        raw = env.encode()
    if not raw:
        raise ModelFileError("The model signing key is empty; give a non-empty key.")
    return raw


def _signature(manifest: Mapping[str, Any], key: bytes) -> str:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    message = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _check_signature(p: Path, manifest: dict[str, Any], key: bytes) -> None:
    sig = manifest.get("signature")
    if not isinstance(sig, dict) or "value" not in sig:
        raise ModelFileError(
            f"'{p}' is not signed, but a signing key was given; refusing it. Load it without a key only if "
            "you trust where it came from, or ask its author for a signed copy."
        )
    if sig.get("algorithm") != SIGNATURE_ALGORITHM or not isinstance(sig.get("value"), str) or not hmac.compare_digest(
        sig["value"], _signature(manifest, key)
    ):
        raise ModelFileError(
            f"'{p}' has a signature that does not match the key given: it was changed after it was signed, "
            "or signed with another key; refusing it."
        )


# -- writing -------------------------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json(value: Any, what: str) -> bytes:
    try:
        return json.dumps(value, allow_nan=True).encode()
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"The model's {what} must be JSON values to be saved: {exc}") from None


def write_archive(
    path: str | Path,
    *,
    header: Mapping[str, Any],
    metadata: Mapping[str, Any],
    state: Mapping[str, Any],
    key: bytes | None = None,
) -> Path:
    """Write a model file: ``header`` (JSON) joins the manifest, ``state`` may hold numeric arrays.

    With ``key``, the manifest is signed (HMAC-SHA256). The file appears whole or not at all.
    """
    from simulacra import __version__

    arrays: dict[str, np.ndarray] = {}
    body = split_arrays(dict(state), arrays)
    buf = io.BytesIO()
    np.savez_compressed(buf, **cast(dict[str, Any], arrays))  # mypy: a key could be allow_pickle
    members = {
        "metadata.json": _json(dict(metadata), "metadata"),
        "state.json": _json(body, "state"),
        "arrays.npz": buf.getvalue(),
    }
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        **json.loads(_json(dict(header), "parameters")),
        "sha256": {name: _sha(data) for name, data in members.items()},
    }
    if key is not None:
        manifest["signature"] = {"algorithm": SIGNATURE_ALGORITHM, "value": _signature(manifest, key)}
    target = Path(path)
    with atomic_path(target) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("manifest.json", json.dumps(manifest, indent=2))
            for name, data in members.items():
                zf.writestr(name, data)
    return target


# -- reading -------------------------------------------------------------------------------------
def _check_size(p: Path, info: zipfile.ZipInfo, limit: int) -> None:
    """Refuse a member that would expand beyond ``limit`` or far beyond its compressed size."""
    size = info.file_size
    if size > limit:
        raise ModelFileError(
            f"'{p}': member {info.filename} would expand to {size:,} bytes, more than a model file may hold "
            f"({limit:,}); refusing it."
        )
    if size > RATIO_FREE_BYTES and size > MAX_RATIO * max(info.compress_size, 1):
        raise ModelFileError(
            f"'{p}': member {info.filename} would expand {size / max(info.compress_size, 1):,.0f} times "
            f"(from {info.compress_size:,} to {size:,} bytes), far more than real model data does; refusing it."
        )


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, sink: IO[bytes]) -> str:
    """Copy a member into ``sink`` in chunks; its SHA-256."""
    digest = hashlib.sha256()
    with zf.open(info) as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            sink.write(chunk)
    return digest.hexdigest()


def _open_zip(p: Path) -> zipfile.ZipFile:
    if not p.exists():
        raise ModelFileError(f"Model file '{p}' does not exist.")
    if p.is_dir():
        raise ModelFileError(f"'{p}' is a folder, not a simulacra model file.")
    if not zipfile.is_zipfile(p):
        raise ModelFileError(f"'{p}' is not a simulacra model file (not a model archive).")
    try:
        return zipfile.ZipFile(p)
    except _CORRUPT as exc:
        raise ModelFileError(f"'{p}' is corrupt: {exc}") from None


def _members(p: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.filename in infos:
            raise ModelFileError(f"'{p}' is not a valid simulacra model: member {info.filename} appears twice.")
        infos[info.filename] = info
        if info.flag_bits & 0x1:  # zipfile would raise RuntimeError("... is encrypted, password required")
            raise ModelFileError(
                f"'{p}' is corrupt: member {info.filename} is marked as encrypted, which simulacra never writes."
            )
    unexpected = sorted(set(infos) - set(MEMBERS))
    missing = sorted(set(MEMBERS) - set(infos))
    if unexpected or missing:
        raise ModelFileError(
            f"'{p}' is not a valid simulacra model: "
            + (f"unexpected members {unexpected}" if unexpected else f"missing members {missing}")
        )
    _check_size(p, infos["manifest.json"], MAX_MANIFEST_BYTES)
    _check_size(p, infos["metadata.json"], MAX_JSON_BYTES)
    _check_size(p, infos["state.json"], MAX_JSON_BYTES)
    _check_size(p, infos["arrays.npz"], MAX_ARRAY_BYTES)
    return infos


def _parse_manifest(p: Path, data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ModelFileError(f"'{p}' has a corrupt manifest.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"'{p}' is not a simulacra model file.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"'{p}' uses model format {version!r}, newer than this simulacra reads ({FORMAT_VERSION}); "
            "upgrade simulacra."
        )
    sums = manifest.get("sha256")
    if not isinstance(sums, dict) or not all(isinstance(sums.get(n), str) for n in MEMBERS[1:]):
        raise ModelFileError(
            f"'{p}' has a corrupt manifest: 'sha256' must map each member to its checksum; "
            "re-save the model from its source, or re-fit it."
        )
    return manifest


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a model file, checked for format and version (members are not verified)."""
    p = Path(path)
    try:
        with _open_zip(p) as zf:
            infos = _members(p, zf)
            return _parse_manifest(p, zf.read(infos["manifest.json"]))
    except _CORRUPT as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"'{p}' is corrupt: {exc}") from None


def read_archive(path: str | Path, *, key: bytes | None = None) -> Archive:
    """Read and verify a model file; with ``key``, its signature must match.

    Raises :class:`~simulacra.errors.ModelFileError` for anything that is not an intact model file
    (missing, corrupt, modified, oversized, unsigned when a key is given).
    """
    p = Path(path)
    try:
        with _open_zip(p) as zf, tempfile.TemporaryDirectory(prefix="simulacra-model-") as tmp:
            infos = _members(p, zf)
            manifest = _parse_manifest(p, zf.read(infos["manifest.json"]))
            if key is not None:
                _check_signature(p, manifest, key)
            texts: dict[str, bytes] = {}
            for name in ("metadata.json", "state.json"):
                buf = io.BytesIO()
                _verify(p, name, _read_member(zf, infos[name], buf), manifest)
                texts[name] = buf.getvalue()
            npz = Path(tmp) / "arrays.npz"
            with npz.open("wb") as sink:
                _verify(p, "arrays.npz", _read_member(zf, infos["arrays.npz"], sink), manifest)
            arrays = _load_arrays(p, npz)
    except ModelFileError:
        raise
    except _CORRUPT as exc:
        raise ModelFileError(f"'{p}' is corrupt: {exc}") from None
    metadata, state = (_parse_json(p, name, texts[name]) for name in ("metadata.json", "state.json"))
    return Archive(manifest=manifest, metadata=metadata, state=join_arrays(state, arrays))


def _verify(p: Path, name: str, digest: str, manifest: dict[str, Any]) -> None:
    if not hmac.compare_digest(digest, manifest["sha256"][name]):
        raise ModelFileError(
            f"'{p}' was modified after it was saved ({name} does not match its checksum); "
            "refusing to load it. Re-fit the model or use an untouched copy."
        )


def _parse_json(p: Path, name: str, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ModelFileError(f"'{p}' is corrupt: {name} is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ModelFileError(f"'{p}' is corrupt: {name} must hold a JSON object.")
    return value


def _load_arrays(p: Path, npz: Path) -> dict[str, np.ndarray]:
    """The arrays of ``arrays.npz``, each one's size checked from its header before it is read."""
    fmt = np.lib.format
    arrays: dict[str, np.ndarray] = {}
    total = 0
    with zipfile.ZipFile(npz) as inner:
        for info in inner.infolist():
            _check_size(p, info, MAX_ARRAY_BYTES - total)
            total += info.file_size
            name = info.filename.removesuffix(".npy")
            with inner.open(info) as f:
                version = fmt.read_magic(f)
                read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                shape, _, dtype = read_header(f)
                if dtype.hasobject or dtype.kind not in "biufcmM":
                    raise ModelFileError(f"'{p}' holds a non-numeric array '{name}' ({dtype}); refusing it.")
                if int(np.prod(shape, dtype=object)) * dtype.itemsize > info.file_size:
                    raise ModelFileError(f"'{p}' is corrupt: array '{name}' is shorter than its header says.")
            with inner.open(info) as f:
                arrays[name] = fmt.read_array(f, allow_pickle=False)
    return arrays


def archive_digest(raw: bytes) -> str:
    """A digest of what a model file holds, not of its bytes (zip members carry the time they were written).

    Two saves of the same fitted model give the same digest: chunked jobs use it to recognise their model.
    """
    digest = hashlib.sha256()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        digest.update(json.dumps([manifest.get("class"), manifest.get("params")], sort_keys=True).encode())
        digest.update(zf.read("metadata.json"))
        digest.update(zf.read("state.json"))
        with np.load(io.BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
            for name in sorted(npz.files):
                array = npz[name]
                digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
                digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
