"""Fuzzing model archives: whatever is done to a real model file, loading it either works or raises a
clear ``SimulacraError``, never another exception (issue 12).

The budget is small here (CI); ``SIMULACRA_FUZZ_EXAMPLES`` raises it for a longer run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulacra import load
from simulacra.errors import SimulacraError
from simulacra.tabular.autoreg import AutoregressiveSynthesizer
from simulacra.tabular.copula import GaussianCopulaSynthesizer
from simulacra.testing import example_table

EXAMPLES = int(os.environ.get("SIMULACRA_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = ["manifest.json", "metadata.json", "state.json", "arrays.npz"]


class Raw(bytes):
    """The bytes of a real model file (shown by name, not content, in a failing example)."""

    name = ""

    def __repr__(self) -> str:
        return f"<{self.name} model file, {len(self)} bytes>"


@pytest.fixture(scope="module", params=["copula", "autoreg"])
def archive(request, tmp_path_factory) -> bytes:
    cls = GaussianCopulaSynthesizer if request.param == "copula" else AutoregressiveSynthesizer
    path = cls(random_state=0).fit(example_table()).save(tmp_path_factory.mktemp("m") / "m.model")
    raw = Raw(path.read_bytes())
    raw.name = request.param
    return raw


def _members(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _zip(members: dict[str, bytes], *, resum: bool) -> bytes:
    if resum and "manifest.json" in members:
        try:
            manifest = json.loads(members["manifest.json"])
            manifest["sha256"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items() if n != "manifest.json"}
            members = {**members, "manifest.json": json.dumps(manifest).encode()}
        except (ValueError, TypeError):
            pass
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    return out.getvalue()


def _load_or_clear_error(tmp_path, raw: bytes) -> None:
    path = tmp_path / "fuzzed.model"
    path.write_bytes(raw)
    try:
        model = load(path)
    except SimulacraError:
        return
    assert model.n_training_rows_ >= 0


@FUZZ
@given(cut=st.floats(0, 1, exclude_max=True))
def test_truncated_files(archive, tmp_path, cut):
    _load_or_clear_error(tmp_path, archive[: int(len(archive) * cut)])


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=8))
def test_flipped_bytes_of_the_file(archive, tmp_path, flips):
    raw = bytearray(archive)
    for where, xor in flips:
        raw[int(where * len(raw))] ^= xor
    _load_or_clear_error(tmp_path, bytes(raw))


@FUZZ
@given(member=st.sampled_from(NAMES), new_name=st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, blacklist_categories=("Cs",)), min_size=1, max_size=20), drop=st.booleans())
def test_renamed_or_missing_members(archive, tmp_path, member, new_name, drop):
    members = _members(archive)
    data = members.pop(member)
    if not drop:
        members[new_name] = data
    _load_or_clear_error(tmp_path, _zip(members, resum=False))


@FUZZ
@given(
    member=st.sampled_from(NAMES),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(max_size=4)), min_size=1, max_size=6),
    cut=st.one_of(st.none(), st.floats(0, 1)),
    resum=st.booleans(),
)
def test_corrupted_members(archive, tmp_path, member, edits, cut, resum):
    """Members edited byte by byte, cut short, with checksums recomputed (as an attacker would) or not."""
    members = _members(archive)
    data = bytearray(members[member])
    for where, new in edits:
        at = int(where * len(data))
        data[at : at + len(new)] = new
    if cut is not None:
        data = data[: int(len(data) * cut)]
    members[member] = bytes(data)
    _load_or_clear_error(tmp_path, _zip(members, resum=resum))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@FUZZ
@given(member=st.sampled_from(["manifest.json", "metadata.json", "state.json"]), pick=st.floats(0, 1, exclude_max=True),
       value=JSON)
def test_json_values_replaced(archive, tmp_path, member, pick, value):
    """Any value of a JSON member replaced by any other JSON value, checksums recomputed."""
    members = _members(archive)
    doc = json.loads(members[member])
    paths = list(_paths(doc))
    path = paths[int(pick * len(paths))]
    if not path:
        doc = value
    else:
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = value
    members[member] = json.dumps(doc).encode()
    _load_or_clear_error(tmp_path, _zip(members, resum=True))
