"""Schema helpers: bounds, token budget, pydantic input, JSON extraction, clear errors."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from simulacra.errors import InputError
from simulacra.text.schema import bound_schema, extract_json, regex_json, to_json_schema, token_budget, validation_errors, validator


class Person(BaseModel):
    name: str = Field(max_length=30)
    age: int = Field(ge=0, le=120)
    tags: list[str]


def test_pydantic_model_bounded_and_validated() -> None:
    schema = bound_schema(to_json_schema(Person))
    assert schema["properties"]["name"]["maxLength"] == 30  # the user's bound is kept
    assert schema["properties"]["tags"]["maxItems"] == 16 and schema["properties"]["tags"]["items"]["maxLength"] == 400
    check = validator(schema)
    assert validation_errors({"name": "A", "age": 200, "tags": []}, check) == ["age: 200 is greater than the maximum of 120"]
    assert validation_errors({"name": "A", "age": 3, "tags": [], "extra": 1}, check)  # additionalProperties: false
    assert 64 <= token_budget(schema) <= 2048


def test_token_budget_grows_with_bounds() -> None:
    small = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 50}}}
    big = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 1500}}}
    assert token_budget(big) > token_budget(small) and token_budget(big) >= 500


def test_extract_json_variants_and_failures() -> None:
    assert extract_json('{"a": [1, 2]}') == {"a": [1, 2]}
    assert extract_json('Here you go: {"a": 1} and more {"b": 2}') == {"a": 1}
    with pytest.raises(ValueError, match="cut by max_tokens"):
        extract_json('{"a": "unterminated')
    with pytest.raises(ValueError):
        regex_json("no json here")


def test_bad_schema_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(InputError, match="JSON Schema is invalid"):
        validator({"type": "object", "properties": {"a": {"type": "nonsense"}}})
    with pytest.raises(InputError, match="does not exist"):
        to_json_schema(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(InputError, match="not valid JSON"):
        to_json_schema(str(tmp_path / "bad.json"))


def test_grammar_schema_caps_string_bounds_for_llama_cpp() -> None:
    # issue 14: a string maxLength above 1,000 in a llama.cpp grammar killed the process (SIGSEGV)
    from simulacra.text.schema import GRAMMAR_MAX_LENGTH, grammar_schema

    schema = {"type": "object", "properties": {
        "output": {"type": "string", "minLength": 1, "maxLength": 1500},
        "items": {"type": "array", "items": {"type": "string", "minLength": 1200, "maxLength": 4000}},
        "short": {"type": "string", "maxLength": 20}}}
    capped = grammar_schema(schema)
    assert capped["properties"]["output"]["maxLength"] == GRAMMAR_MAX_LENGTH == 1000
    assert capped["properties"]["items"]["items"] == {"type": "string", "minLength": 1000, "maxLength": 1000}
    assert capped["properties"]["short"]["maxLength"] == 20
    assert schema["properties"]["output"]["maxLength"] == 1500  # the original, checked after decoding, is kept
    check = validator(schema)
    assert validation_errors({"output": "x" * 1501, "items": [], "short": "a"}, check)


def test_control_characters_are_parsed_leniently_and_removed() -> None:
    # a grammar (or a server) let raw control characters into strings; strict JSON parsing refused them
    raw = '{"a": "tab\\there\\u0000 and a bell\x07", "b": ["x\x01y"]}'.replace("\\u0000", "\x00")
    assert extract_json(raw) == {"a": "tab\there and a bell", "b": ["xy"]}
