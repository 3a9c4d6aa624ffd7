"""Bad specs: errors name the file, the line and the field, and say what is allowed."""

import pytest

from simulacra.errors import SpecError
from simulacra.spec import Spec


def _error(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        Spec.from_yaml(path)
    return str(info.value)


HEAD = "tables:\n  people:\n    rows: 10\n    columns:\n"


def test_typo_in_parameter(tmp_path):
    msg = _error(tmp_path, HEAD + "      age: {kind: normal, mean: 40, sdt: 3}\n")
    assert "bad.yaml, line 5" in msg and "columns.age.sdt" in msg and "did you mean 'std'" in msg
    assert "allowed:" in msg


def test_unknown_kind(tmp_path):
    msg = _error(tmp_path, HEAD + "      id: {kind: sequence}\n      age:\n        kind: nromal\n")
    assert "line 7" in msg and "unknown kind 'nromal'" in msg and "did you mean 'normal'" in msg


def test_parameter_out_of_range(tmp_path):
    msg = _error(tmp_path, HEAD + "      age:\n        kind: normal\n        std: -3\n")
    assert "line 7" in msg and "columns.age.std" in msg and "greater than 0" in msg


def test_cycle_between_derived_columns(tmp_path):
    msg = _error(tmp_path, HEAD + '      a: "= b + 1"\n      b: "= c * 2"\n      c: "= a - 1"\n')
    assert "cycle" in msg and "line " in msg and all(c in msg for c in "abc")


def test_unknown_column_in_formula(tmp_path):
    msg = _error(tmp_path, HEAD + "      height: {kind: normal}\n      w: \"= heigth * 2\"\n")
    assert "line 6" in msg and "'heigth'" in msg and "did you mean 'height'" in msg


def test_impossible_constraint_is_detected(tmp_path):
    text = HEAD + "      age: {kind: uniform, min: 0, max: 10}\n    constraints:\n      - age > 20\n"
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=r"line 7.*impossible constraint 'age > 20'"):
        Spec.from_yaml(path).generate(random_state=0)


def test_contradictory_range_is_refused(tmp_path):
    msg = _error(tmp_path, HEAD + "      age: {kind: normal}\n    constraints:\n      - {column: age, min: 5, max: 1}\n")
    assert "line 7" in msg and "impossible constraint" in msg


def test_unguaranteed_uniqueness_is_refused(tmp_path):
    msg = _error(tmp_path, HEAD + "      x: {kind: normal}\n    constraints:\n      - {unique: x}\n")
    assert "cannot be guaranteed" in msg


def test_invalid_yaml_and_missing_file(tmp_path):
    assert "not valid YAML" in _error(tmp_path, "tables: [\n")
    with pytest.raises(SpecError, match="not found"):
        Spec.from_yaml(tmp_path / "nope.yaml")


def test_bad_foreign_key_and_parent(tmp_path):
    msg = _error(tmp_path, HEAD + "      id: {kind: sequence}\n  orders:\n    parent: peeple\n    per_parent: {kind: poisson, lam: 1}\n")
    assert "unknown table 'peeple'" in msg and "did you mean 'people'" in msg
    msg = _error(tmp_path, HEAD + "      x: {kind: normal}\n  o:\n    rows: 3\n    columns:\n      ref: {kind: foreign_key, references: people.x}\n")
    assert "not a key" in msg


def test_non_stationary_arma_refused(tmp_path):
    text = "tables:\n  s:\n    kind: timeseries\n    entities: 2\n    length: 5\n    columns:\n      y: {kind: arma, ar: [1.5]}\n"
    assert "non-stationary" in _error(tmp_path, text)
