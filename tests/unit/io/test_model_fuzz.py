"""Fuzzing model archives: whatever is done to a real model file, loading it either works or raises a
clear ``SimulacraError``, never another exception (issue 12).

The budget is small here (CI); ``SIMULACRA_FUZZ_EXAMPLES`` raises it for a longer run. The examples are
fixed in the suite (``derandomize``: the same ones on every run, so a result can be reproduced);
``SIMULACRA_FUZZ_RANDOM=1`` draws new ones, as ``benchmarks/fuzz_models.py`` does.

Finding of 2026-11-26, fixed: one randomly drawn corruption of an ``autoreg`` model's LightGBM text
(checksums recomputed) made LightGBM's own parser abort the process in ``lgb.Booster(model_str=...)``
instead of raising. LightGBM texts are now checked before LightGBM reads them
(``tabular/_lgb_text.py``); the damages that crashed it are fixed examples in
``tests/unit/tabular/test_lgb_text.py``.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulacra.testing.model_fuzz import MEMBERS as NAMES
from simulacra.testing.model_fuzz import json_paths, load_outcome, real_archive, replace_at, rezip
from simulacra.testing.model_fuzz import members as _members

EXAMPLES = int(os.environ.get("SIMULACRA_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                derandomize=os.environ.get("SIMULACRA_FUZZ_RANDOM") != "1")


class Raw(bytes):
    """The bytes of a real model file (shown by name, not content, in a failing example)."""

    name = ""

    def __repr__(self) -> str:
        return f"<{self.name} model file, {len(self)} bytes>"


@pytest.fixture(scope="module", params=["copula", "autoreg"])
def archive(request) -> bytes:
    raw = Raw(real_archive(request.param))
    raw.name = request.param
    return raw


def _load_or_clear_error(tmp_path, raw: bytes) -> None:
    outcome, details = load_outcome(raw, tmp_path)
    assert not outcome.startswith("BUG"), (outcome, details)


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
    _load_or_clear_error(tmp_path, rezip(members, resum=False))


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
    _load_or_clear_error(tmp_path, rezip(members, resum=resum))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(member=st.sampled_from(["manifest.json", "metadata.json", "state.json"]), pick=st.floats(0, 1, exclude_max=True),
       value=JSON)
def test_json_values_replaced(archive, tmp_path, member, pick, value):
    """Any value of a JSON member replaced by any other JSON value, checksums recomputed."""
    members = _members(archive)
    doc = json.loads(members[member])
    paths = list(json_paths(doc))
    members[member] = json.dumps(replace_at(doc, paths[int(pick * len(paths))], value)).encode()
    _load_or_clear_error(tmp_path, rezip(members, resum=True))
