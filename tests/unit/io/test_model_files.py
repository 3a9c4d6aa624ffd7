from __future__ import annotations

import json
import zipfile

import pytest

from simulacra.errors import ModelFileError
from simulacra import load as load_model
from simulacra.io import read_manifest
from simulacra.tabular.copula import GaussianCopulaSynthesizer
from simulacra.testing import example_table


@pytest.fixture()
def saved(tmp_path):
    model = GaussianCopulaSynthesizer(random_state=3).fit(example_table())
    path = tmp_path / "m.model"
    model.save(path)
    return model, path


def _rewrite(path, member, transform):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[member] = transform(members[member])
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


def test_round_trip(saved):
    model, path = saved
    loaded = load_model(path)
    assert loaded.sample(200, random_state=1).equals(model.sample(200, random_state=1))
    manifest = read_manifest(path)
    assert manifest["class"] == "GaussianCopulaSynthesizer" and manifest["params"]["random_state"] == 3
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["arrays.npz", "manifest.json", "metadata.json", "state.json"]


def test_tampered_state_is_refused(saved):
    _, path = saved
    _rewrite(path, "state.json", lambda b: b.replace(b'"missing_rate": 0.0', b'"missing_rate": 0.9', 1))
    with pytest.raises(ModelFileError, match="modified after it was saved"):
        load_model(path)


def test_pickle_payload_is_never_executed(saved, tmp_path):
    import io
    import pickle

    import numpy as np

    _, path = saved
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    def inject(_: bytes) -> bytes:
        buf = io.BytesIO()
        np.save(buf, np.array([Evil()], dtype=object), allow_pickle=True)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr("a0.npy", buf.getvalue())
        return out.getvalue()

    _rewrite(path, "arrays.npz", inject)
    # even with checksums recomputed by an attacker, object arrays are refused
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["manifest.json"])
    import hashlib

    manifest["sha256"]["arrays.npz"] = hashlib.sha256(members["arrays.npz"]).hexdigest()
    _rewrite(path, "manifest.json", lambda _: json.dumps(manifest).encode())
    with pytest.raises(ModelFileError):
        load_model(path)
    assert not marker.exists()
    assert pickle  # imported only to build the payload


def test_unknown_class_extra_member_and_garbage(saved, tmp_path):
    _, path = saved
    _rewrite(path, "manifest.json", lambda b: b.replace(b"GaussianCopulaSynthesizer", b"os.system"))
    with pytest.raises(ModelFileError, match="not a registered synthesizer"):
        load_model(path)
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a simulacra model"):
        load_model(junk)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "absent.model")
