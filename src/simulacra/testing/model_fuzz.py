"""Fuzz cases for model archives: a real model file, damaged at random, must load or be refused clearly.

Used by ``tests/unit/io/test_model_fuzz.py`` (a fixed Hypothesis budget in CI) and by
``benchmarks/fuzz.py --target model`` (a longer, timed run). The invariant: loading a damaged archive
gives a correct model or a :class:`~simulacra.errors.SimulacraError`, never another exception.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from simulacra.errors import SimulacraError

MEMBERS = ("manifest.json", "metadata.json", "state.json", "arrays.npz")


@lru_cache(maxsize=4)
def real_archive(model: str = "copula", **params: Any) -> bytes:
    """The bytes of a small real model file (fitted on the example table, seed 0, with ``params``)."""
    import tempfile

    from simulacra.tabular.registry import get_synthesizer_class
    from simulacra.testing import example_table

    with tempfile.TemporaryDirectory() as tmp:
        path = get_synthesizer_class(model)(random_state=0, **params).fit(example_table()).save(Path(tmp) / "m.model")
        return path.read_bytes()


def members(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rezip(parts: dict[str, bytes], *, resum: bool) -> bytes:
    """An archive of ``parts``; with ``resum``, the manifest's checksums recomputed (as an attacker would)."""
    if resum and "manifest.json" in parts:
        try:
            manifest = json.loads(parts["manifest.json"])
            manifest["sha256"] = {n: hashlib.sha256(d).hexdigest() for n, d in parts.items() if n != "manifest.json"}
            parts = {**parts, "manifest.json": json.dumps(manifest).encode()}
        except (ValueError, TypeError):
            pass
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def json_paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON document (the empty path is the document itself)."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from json_paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from json_paths(v, (*prefix, i))


def replace_at(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``doc`` with the value at ``path`` replaced (in place; the new document is returned)."""
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return doc


def load_outcome(raw: bytes, workdir: Path, *, sample: bool = False) -> tuple[str, dict[str, Any]]:
    """Load ``raw`` as a model file (and with ``sample``, draw 20 rows from it): ``ok``, ``clear error`` or
    ``BUG: ...``."""
    from simulacra.tabular.persistence import load

    path = workdir / "fuzzed.model"
    path.write_bytes(raw)
    try:
        model = load(path)
        if sample:
            model.sample(20, random_state=0)
    except SimulacraError as exc:
        return "clear error", {"message": str(exc)[:200]}
    except Exception as exc:  # noqa: BLE001 - the invariant under test
        return f"BUG: {type(exc).__name__}", {"message": str(exc)[:300]}
    return "ok", {}


_JUNK: list[Any] = [None, True, 0, -1, 2**70, 1.5, float("nan"), "", "x", [], {}, [1, 2], {"a": 1}, {"__array__": "a0"}]


def mutate(raw: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One random damage to an archive, and what it was."""
    kind = str(rng.choice(["truncate", "flip", "rename", "drop", "edit", "edit-resummed", "json"]))
    if kind == "truncate":
        return raw[: int(rng.integers(0, len(raw)))], kind
    if kind == "flip":
        data = bytearray(raw)
        for at in rng.integers(0, len(data), int(rng.integers(1, 9))):
            data[int(at)] ^= int(rng.integers(1, 256))
        return bytes(data), kind
    parts = members(raw)
    name = str(rng.choice(MEMBERS))
    if kind in ("rename", "drop"):
        moved = parts.pop(name)
        if kind == "rename":
            parts[name.upper() if rng.random() < 0.5 else f"x/{name}"] = moved
        return rezip(parts, resum=False), f"{kind} {name}"
    if kind == "json":
        name = str(rng.choice(MEMBERS[:3]))
        doc = json.loads(parts[name])
        paths = list(json_paths(doc))
        path = paths[int(rng.integers(0, len(paths)))]
        parts[name] = json.dumps(replace_at(doc, path, _JUNK[int(rng.integers(0, len(_JUNK)))])).encode()
        return rezip(parts, resum=True), f"json {name} {list(path)[:6]}"
    edited = bytearray(parts[name])
    for _ in range(int(rng.integers(1, 7))):
        at = int(rng.integers(0, max(len(edited), 1)))
        edited[at : at + 4] = rng.integers(0, 256, int(rng.integers(0, 5))).astype(np.uint8).tobytes()
    if rng.random() < 0.3:
        edited = edited[: int(rng.integers(0, len(edited) + 1))]
    parts[name] = bytes(edited)
    return rezip(parts, resum=kind == "edit-resummed"), f"{kind} {name}"


def model_case(seed: int, workdir: Path, *, sample: bool = False) -> tuple[str, dict[str, Any]]:
    """One fuzz case for ``benchmarks/fuzz.py``: a random damage to a real copula or autoreg model file,
    loaded (and with ``sample``, sampled)."""
    rng = np.random.default_rng(seed)
    model = "copula" if seed % 2 == 0 else "autoreg"
    raw, what = mutate(real_archive(model), rng)
    outcome, details = load_outcome(raw, workdir, sample=sample)
    return outcome, {"model": model, "damage": what, **details}


def model_sample_case(seed: int, workdir: Path) -> tuple[str, dict[str, Any]]:
    """:func:`model_case`, then 20 rows sampled from the model when it loads."""
    return model_case(seed, workdir, sample=True)


def model_texts(model: str = "autoreg", **params: Any) -> list[str]:
    """The LightGBM model texts inside a real model file (every ``"model"`` string of its state)."""
    state = json.loads(members(real_archive(model, **params))["state.json"])
    found: list[str] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key == "model" and isinstance(value, str) and value.startswith("tree\n"):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk(state)
    return found


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_ODD_NUMBERS = ["-1", "0", "1", "-2", "99", "2147483647", "-2147483648", "4294967295", "1e400", "nan", "inf",
                "-inf", "", "x", "0.5"]
TEXT_DAMAGES = ("flip", "truncate", "number", "numbers", "del-line", "dup-line", "swap-lines", "token",
                "chars")


def mutate_model_text(text: str, rng: np.random.Generator) -> tuple[str, str]:
    """One random damage to a LightGBM model text, and its kind (one of :data:`TEXT_DAMAGES`).

    Byte flips, a cut, numbers replaced by odd values or nudged by a few, whole lines deleted, duplicated
    or swapped, array items deleted or repeated, and single characters that matter to the parser
    (``=``, newline, space, digits) put in.
    """
    kind = str(rng.choice(TEXT_DAMAGES))
    lines = text.split("\n")
    if kind == "flip":
        data = bytearray(text.encode())
        for at in rng.integers(0, len(data), int(rng.integers(1, 6))):
            data[int(at)] ^= int(rng.integers(1, 128))
        return data.decode("utf-8", "replace"), kind
    if kind == "truncate":
        return text[: int(rng.integers(0, len(text)))], kind
    if kind in ("number", "numbers"):
        for _ in range(1 if kind == "number" else int(rng.integers(2, 6))):
            spans = [m.span() for m in _NUMBER.finditer(text)]
            a, b = spans[int(rng.integers(0, len(spans)))]
            old = text[a:b]
            if rng.random() < 0.5 or not re.fullmatch(r"-?\d+", old):
                new = _ODD_NUMBERS[int(rng.integers(0, len(_ODD_NUMBERS)))]
            else:
                new = str(int(old) + int(rng.integers(-3, 4)))
            text = text[:a] + new + text[b:]
        return text, kind
    i, j = (int(v) for v in rng.integers(0, len(lines), 2))
    if kind == "del-line":
        del lines[i]
    elif kind == "dup-line":
        lines.insert(i, lines[i])
    elif kind == "swap-lines":
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "token":
        items = lines[i].split(" ")
        k = int(rng.integers(0, len(items)))
        if rng.random() < 0.5:
            del items[k]
        else:
            items.insert(k, items[k])
        lines[i] = " ".join(items)
    else:
        chars = list(text)
        for _ in range(int(rng.integers(1, 5))):
            at = int(rng.integers(0, len(chars)))
            chars[at : at + int(rng.integers(0, 3))] = [str(rng.choice(list("=\n -0123456789.:[]")))]
        return "".join(chars), kind
    return "\n".join(lines), kind


_CHILD = """
import json, sys
from simulacra.errors import SimulacraError
def run(case):
{body}
for name, case in json.loads(open(sys.argv[1]).read()).items():
    print("start", json.dumps(name), flush=True)
    try:
        run(case)
        outcome = "ok"
    except SimulacraError as exc:
        outcome = "clear: " + str(exc)
    except Exception as exc:
        outcome = "other: " + type(exc).__name__ + ": " + str(exc)
    print("done", json.dumps([name, outcome]), flush=True)
"""


def outcomes_in_child(cases: dict[str, Any], body: str, workdir: Path, *, timeout: float = 180.0) -> dict[str, str]:
    """Run ``body`` (Python code on ``case``, each case's JSON value) for every case in ONE child process.

    Returns, per case, ``"ok"``, ``"clear: <message>"`` (a :class:`SimulacraError`) or ``"other: ..."``.
    A child that dies (a crash in native code) or runs past ``timeout`` (a hang) raises AssertionError
    naming the case it was running, so that a test fails instead of the test run dying or stalling.
    """
    (workdir / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    code = _CHILD.format(body=textwrap.indent(textwrap.dedent(body).strip(), "    "))
    try:
        run = subprocess.run([sys.executable, "-c", code, str(workdir / "cases.json")], capture_output=True,
                             text=True, timeout=timeout)
        stdout = run.stdout
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        started = [line[6:] for line in stdout.splitlines() if line.startswith("start ")]
        raise AssertionError(f"the child hung (past {timeout:.0f} s) at {started[-1:]}") from None
    started = [line[6:] for line in stdout.splitlines() if line.startswith("start ")]
    if run.returncode != 0:
        raise AssertionError(f"the child died (status {run.returncode}) at {started[-1:]}: {run.stderr[-300:]}")
    return dict(json.loads(line[5:]) for line in stdout.splitlines() if line.startswith("done "))


CASES = {"model": model_case, "model-sample": model_sample_case}
