"""JSON Schema helpers for structured output: normalise, bound lengths, parse and validate.

llama.cpp's schema-to-grammar conversion does not enforce ``minimum``/``maximum``, and small models
ramble inside strings until ``max_tokens`` cuts them; so every output is validated here, strings and
arrays get explicit bounds, and the token budget is derived from those bounds.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from simulacra.errors import InputError, require

DEFAULT_MAX_LENGTH = 400
DEFAULT_MAX_ITEMS = 16
#: the longest string bound llama.cpp's JSON-schema grammar survives: above 1,000 generation dies with SIGSEGV
GRAMMAR_MAX_LENGTH = 1000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def to_json_schema(schema: Any) -> dict[str, Any]:
    """A JSON Schema dict from a dict, a JSON string/path, or a pydantic model class.

    Examples
    --------
    >>> to_json_schema({"type": "object", "properties": {"a": {"type": "integer"}}})["type"]
    'object'
    >>> from pydantic import BaseModel
    >>> class P(BaseModel):
    ...     name: str
    >>> to_json_schema(P)["required"]
    ['name']
    """
    if isinstance(schema, dict):
        return copy.deepcopy(schema)
    if hasattr(schema, "model_json_schema"):
        return dict(schema.model_json_schema())
    if isinstance(schema, str):
        text = schema.strip()
        if not text.startswith("{"):
            from pathlib import Path

            path = Path(text)
            if not path.is_file():
                raise InputError(f"Schema file '{text}' does not exist; give a JSON Schema file or a dict")
            text = path.read_text(encoding="utf-8")
        try:
            out = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"The schema is not valid JSON ({exc}); fix the file") from exc
        if not isinstance(out, dict):
            raise InputError("A JSON Schema must be a JSON object")
        return out
    raise InputError(f"Cannot make a JSON Schema from {type(schema).__name__}; give a dict, a file or a pydantic model")


def bound_schema(schema: dict[str, Any], max_length: int = DEFAULT_MAX_LENGTH, max_items: int = DEFAULT_MAX_ITEMS) -> dict[str, Any]:
    """A copy of ``schema`` where every string has a ``maxLength`` and every array a ``maxItems``.

    Objects without ``required`` get all their properties required and ``additionalProperties: false``,
    so constrained decoding writes every field and nothing else.

    Examples
    --------
    >>> s = bound_schema({"type": "object", "properties": {"bio": {"type": "string"}}})
    >>> s["properties"]["bio"]["maxLength"], s["required"]
    (400, ['bio'])
    """
    def visit(node: dict[str, Any]) -> None:
        kind = node.get("type")
        if kind == "string" and "enum" not in node and "const" not in node and "format" not in node:
            node.setdefault("maxLength", max_length)
        if kind == "array":
            node.setdefault("maxItems", max_items)
        if kind == "object" and isinstance(node.get("properties"), dict):
            node.setdefault("required", list(node["properties"]))
            node.setdefault("additionalProperties", False)

    return _rewrite(schema, visit)


def _rewrite(schema: dict[str, Any], visit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A deep copy of ``schema`` where ``visit`` has changed every sub-schema (dict) in place."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            visit(node)
            for value in node.values():
                walk(value)

    walk(out)
    return out


def grammar_schema(schema: dict[str, Any], max_length: int = GRAMMAR_MAX_LENGTH) -> dict[str, Any]:
    """A copy of ``schema`` that a llama.cpp grammar can enforce: string bounds capped at ``max_length``.

    llama.cpp turns ``maxLength: N`` into N repetitions of a character rule, and above about 1,000 the
    grammar sampler crashes the process. The cap only narrows what decoding may write; the output is still
    validated against the original schema afterwards.

    Examples
    --------
    >>> s = grammar_schema({"type": "object", "properties": {"a": {"type": "string", "maxLength": 1500}}})
    >>> s["properties"]["a"]["maxLength"]
    1000
    """
    def visit(node: dict[str, Any]) -> None:
        for key in ("maxLength", "minLength"):
            if isinstance(node.get(key), int) and node[key] > max_length:
                node[key] = max_length

    return _rewrite(schema, visit)


def clean_text(value: Any) -> Any:
    """``value`` with control characters (other than newline, tab and carriage return) removed from every string.

    Examples
    --------
    >>> clean_text({"a": ["x\\x00y", 1], "b": "line\\nnext"})
    {'a': ['xy', 1], 'b': 'line\\nnext'}
    """
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, list):
        return [clean_text(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): clean_text(v) for k, v in value.items()}
    return value


def token_budget(schema: dict[str, Any], chars_per_token: float = 3.0, floor: int = 64, cap: int = 2048) -> int:
    """A ``max_tokens`` large enough for any valid output of a bounded ``schema``.

    Examples
    --------
    >>> token_budget(bound_schema({"type": "object", "properties": {"a": {"type": "string", "maxLength": 90}}}))
    64
    """

    def size(node: Any) -> float:
        if not isinstance(node, dict):
            return 8
        kind = node.get("type")
        if "enum" in node:
            return 2 + max((len(json.dumps(v)) for v in node["enum"]), default=4) / chars_per_token
        if kind == "string":
            return 2 + node.get("maxLength", DEFAULT_MAX_LENGTH) / chars_per_token
        if kind == "array":
            return 2 + node.get("maxItems", DEFAULT_MAX_ITEMS) * (size(node.get("items", {})) + 1)
        if kind == "object":
            props = node.get("properties", {})
            return 2 + sum(size(v) + len(k) / chars_per_token + 2 for k, v in props.items())
        return 8

    return int(min(cap, max(floor, size(schema) * 1.15)))


def validator(schema: dict[str, Any]) -> Any:
    """A jsonschema validator for ``schema`` (checked once: a malformed schema is an InputError)."""
    jsonschema: Any = require("jsonschema", "llm", "validating structured output")
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:  # type: ignore[attr-defined]
        raise InputError(f"The JSON Schema is invalid: {exc.message}; fix the schema") from exc
    return cls(schema)


def validation_errors(value: Any, check: Any) -> list[str]:
    """Every problem of ``value`` under the validator ``check``, as short readable strings.

    Examples
    --------
    >>> v = validator({"type": "object", "properties": {"age": {"type": "integer", "maximum": 120}}})
    >>> validation_errors({"age": 300}, v)
    ['age: 300 is greater than the maximum of 120']
    """
    out = []
    for err in sorted(check.iter_errors(value), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in err.path) or "(root)"
        msg = err.message if len(err.message) < 200 else err.message[:197] + "..."
        out.append(f"{where}: {msg}")
    return out


def extract_json(text: str) -> Any:
    """The first JSON value in ``text`` (whole text, a fenced block, or the first parseable ``{...}``/``[...]``).

    Raw control characters inside strings (which grammars let through and strict JSON refuses) are
    accepted and removed; newlines and tabs are kept. Raises ``ValueError`` when no value parses.

    Examples
    --------
    >>> extract_json('Sure! ```json\\n{"a": 1}\\n``` done')
    {'a': 1}
    >>> extract_json('{"a": "two\\nlines\\u0007"}')
    {'a': 'two\\nlines'}
    """
    stripped = text.strip()
    decoder = json.JSONDecoder(strict=False)
    try:
        return clean_text(decoder.decode(stripped))
    except json.JSONDecodeError:
        pass
    for match in re.finditer(r"[\[{]", stripped):
        try:
            value, _ = decoder.raw_decode(stripped, match.start())
            return clean_text(value)
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON value found in the output" + (" (it was cut by max_tokens?)" if stripped else " (empty output)"))


def regex_json(text: str) -> Any:
    """The naive baseline: the greedy ``{...}`` span of ``text`` parsed as JSON (raises ValueError).

    Examples
    --------
    >>> regex_json('x {"a": 2} y')
    {'a': 2}
    """
    match = re.search(r"\{.*\}", text, flags=re.DOTALL)
    if not match:
        raise ValueError("no {...} in the output")
    return json.loads(match.group(0))


def schema_description(schema: dict[str, Any]) -> str:
    """A compact description of an object schema for prompts: ``name (string), age (integer 18..90)``.

    Examples
    --------
    >>> schema_description({"type": "object", "properties": {"age": {"type": "integer", "minimum": 1, "maximum": 9}}})
    'age (integer 1..9)'
    """
    parts = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type", "any")
        extra = ""
        if "enum" in prop:
            extra = " one of " + "/".join(str(v) for v in prop["enum"])
        elif "minimum" in prop or "maximum" in prop:
            extra = f" {prop.get('minimum', '')}..{prop.get('maximum', '')}"
        desc = f": {prop['description']}" if prop.get("description") else ""
        parts.append(f"{name} ({kind}{extra}){desc}")
    return ", ".join(parts)


__all__ = [
    "bound_schema",
    "clean_text",
    "extract_json",
    "grammar_schema",
    "regex_json",
    "schema_description",
    "to_json_schema",
    "token_budget",
    "validation_errors",
    "validator",
]
