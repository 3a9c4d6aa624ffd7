from __future__ import annotations

import hashlib
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


def _replace_resummed(path, member, data):
    """Replace a member and recompute its checksum in the manifest, as an attacker would."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[member] = data
    manifest = json.loads(members["manifest.json"])
    manifest["sha256"][member] = hashlib.sha256(data).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)


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

    # even with checksums recomputed by an attacker, object arrays are refused
    _replace_resummed(path, "arrays.npz", inject(b""))
    with pytest.raises(ModelFileError, match="non-numeric array"):
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


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_manifest_with_string_checksums_is_a_clear_error(saved):
    _, path = saved
    _rewrite(path, "manifest.json", lambda b: json.dumps({**json.loads(b), "sha256": "abc"}).encode())
    with pytest.raises(ModelFileError, match="'sha256' must map each member"):
        load_model(path)
    with pytest.raises(ModelFileError, match="'sha256' must map each member"):
        read_manifest(path)


@pytest.mark.parametrize("member", ["manifest.json", "state.json"])
def test_a_member_marked_encrypted_is_a_clear_error(saved, member):
    """One flipped bit (the zip 'encrypted' flag) made zipfile raise RuntimeError('password required')."""
    _, path = saved
    raw = bytearray(path.read_bytes())
    at = raw.find(b"PK\x01\x02")  # the central directory: 46 bytes of header, then the name
    while raw[at + 46 : at + 46 + len(member)] != member.encode():
        at = raw.find(b"PK\x01\x02", at + 4)
    raw[at + 8] |= 0x1  # general purpose flags: bit 0, encrypted
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match=f"member {member} is marked as encrypted"):
        load_model(path)


def _edit_state(path, edit):
    with zipfile.ZipFile(path) as zf:
        state = json.loads(zf.read("state.json"))
    edit(state)
    _replace_resummed(path, "state.json", json.dumps(state).encode())


@pytest.mark.parametrize(("edit", "message"), [
    # found by benchmarks/fuzz.py --target model-sample: each loaded, then failed at the first sample
    (lambda s: s["columns"].__setitem__(0, "nope"), "column list repeats a column or names one"),
    (lambda s: s["state"]["encoders"][0].__setitem__("name", "nope"), "encoders repeat a column or name one"),
    (lambda s: s["state"]["encoders"][0]["stats"].__setitem__("dtype", ["x"]), "is corrupt or was saved by"),
    (lambda s: s["state"]["encoders"][2]["stats"].__setitem__("dtype", None), "is corrupt or was saved by"),
])
def test_a_state_that_loads_but_cannot_sample_is_refused_at_load(saved, edit, message):
    _, path = saved
    _edit_state(path, edit)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_signed_models_load_only_with_their_key(saved, tmp_path, monkeypatch):
    model, path = saved
    key_file = tmp_path / "key"
    key_file.write_text("s3cret\n")
    signed = model.save(tmp_path / "signed.model", key_file=key_file)
    assert read_manifest(signed)["signature"]["algorithm"] == "hmac-sha256"
    rows = model.sample(20, random_state=2)
    assert load_model(signed, key=b"s3cret").sample(20, random_state=2).equals(rows)
    assert load_model(signed).sample(20, random_state=2).equals(rows)  # no key: checksums only
    with pytest.raises(ModelFileError, match="does not match the key"):
        load_model(signed, key="another")
    with pytest.raises(ModelFileError, match="not signed"):
        load_model(path, key_file=key_file)
    # an attacker who edits a member and recomputes every checksum cannot recompute the signature
    state = _members(signed)["state.json"]
    _replace_resummed(signed, "state.json", state.replace(b'"missing_rate": 0.0', b'"missing_rate": 0.9', 1))
    assert load_model(signed).n_training_rows_ == model.n_training_rows_  # checksums alone are fooled
    with pytest.raises(ModelFileError, match="does not match the key"):
        load_model(signed, key_file=key_file)
    # the key may come from the environment, for saving and for loading
    monkeypatch.setenv("SIMULACRA_MODEL_KEY", "from-env")
    env_signed = model.save(tmp_path / "env.model")
    monkeypatch.delenv("SIMULACRA_MODEL_KEY")
    assert load_model(env_signed, key="from-env").n_training_rows_ == model.n_training_rows_
    with pytest.raises(ModelFileError, match="not signed"):
        load_model(path, key="from-env")


def test_key_file_problems_are_clear(saved, tmp_path):
    _, path = saved
    with pytest.raises(ModelFileError, match="Cannot read the key file"):
        load_model(path, key_file=tmp_path / "absent-key")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ModelFileError, match="is empty"):
        load_model(path, key_file=tmp_path / "empty")


def test_members_that_expand_too_far_are_refused(saved, tmp_path):
    """A small file whose member inflates to hundreds of MB is refused before it is read."""
    _, path = saved
    members = _members(path)
    bomb = tmp_path / "bomb.model"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for n, data in members.items():
            zf.writestr(n, b" " * (64 * 1024**2) if n == "state.json" else data)
    assert bomb.stat().st_size < 1024**2
    with pytest.raises(ModelFileError, match="would expand"):
        load_model(bomb)


def test_array_whose_header_claims_more_than_it_holds_is_refused(saved):
    import io as _io

    import numpy as np

    _, path = saved

    def lying(_: bytes) -> bytes:
        buf = _io.BytesIO()
        np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (4 * 10**12,)})
        raw = buf.getvalue() + np.zeros(4).tobytes()
        out = _io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr("a0.npy", raw)
        return out.getvalue()

    _replace_resummed(path, "arrays.npz", lying(b""))
    with pytest.raises(ModelFileError, match="shorter than its header says"):
        load_model(path)


def test_old_io_entry_points_say_where_they_went():
    import simulacra.io

    with pytest.raises(AttributeError, match=r"use simulacra.load\(path\)"):
        simulacra.io.load_model  # noqa: B018
    with pytest.raises(ImportError, match="save_model"):
        from simulacra.io import save_model  # noqa: F401
