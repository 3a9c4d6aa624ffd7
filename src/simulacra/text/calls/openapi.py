"""OpenAPI documents (3.x, and Swagger 2.0) as tools, and a mock server built from their examples.

Each operation becomes one function: its name is the ``operationId`` (or method and path), its
parameters the path, query and header parameters plus the properties of a JSON request body. Running a
call never leaves the machine: the mock checks the call, fills the path, and answers with the example
of the operation's success response (or a value made from the response schema when there is none).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from simulacra.errors import InputError
from simulacra.text.calls.pyapi import inline_refs
from simulacra.text.calls.runner import CallExecutionError

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def read_spec(path: str | Path) -> dict[str, Any]:
    """The OpenAPI document at ``path`` (YAML or JSON)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise InputError(f"The OpenAPI file '{path}' does not exist")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"'{path}' is not valid YAML/JSON ({exc}); fix the file") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise InputError(f"'{path}' is not an OpenAPI document (no 'paths' mapping)")
    return doc


def _name(op: dict[str, Any], method: str, path: str) -> str:
    name = op.get("operationId") or f"{method}_{path}"
    name = re.sub(r"[^A-Za-z0-9]+", "_", str(name)).strip("_")
    return name[:64] or method


def _param_schema(param: dict[str, Any]) -> dict[str, Any]:
    schema = dict(param.get("schema") or {k: v for k, v in param.items()
                                           if k in ("type", "format", "enum", "items", "minimum", "maximum", "default", "pattern")})
    if param.get("description") and "description" not in schema:
        schema["description"] = param["description"]
    if "example" in param and "examples" not in schema:
        schema["examples"] = [param["example"]]
    return schema


def operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per operation: ``name``, ``description``, ``parameters`` (JSON schema), ``method``,
    ``path``, ``locations`` (argument -> path/query/header/body) and ``responses``."""
    doc = inline_refs(doc)
    ops: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            name = _name(op, method, path)
            if name in seen:
                raise InputError(f"Two operations are both named '{name}'; give them distinct operationIds")
            seen.add(name)
            props: dict[str, Any] = {}
            required: list[str] = []
            where: dict[str, str] = {}
            params = {(p.get("in"), p.get("name")): p for p in [*shared, *op.get("parameters", [])] if isinstance(p, dict)}
            body = None
            for (loc, pname), p in params.items():
                if loc == "body":  # Swagger 2.0
                    body = p.get("schema")
                    continue
                if loc not in ("path", "query", "header") or not pname:
                    continue
                props[pname] = _param_schema(p)
                where[pname] = loc
                if p.get("required") or loc == "path":
                    required.append(pname)
            content = (op.get("requestBody") or {}).get("content") or {}
            json_body = content.get("application/json") or next(iter(content.values()), None)
            if isinstance(json_body, dict):
                body = json_body.get("schema")
            if isinstance(body, dict):
                for bname, bschema in (body.get("properties") or {}).items():
                    key = bname if bname not in props else f"body_{bname}"
                    props[key] = bschema
                    where[key] = "body:" + bname
                    if bname in body.get("required", []):
                        required.append(key)
            description = " ".join(str(op.get(k, "")).strip() for k in ("summary", "description") if op.get(k)).strip()
            ops.append({
                "name": name, "description": description or f"{method.upper()} {path}",
                "parameters": {"type": "object", "properties": props, "required": required, "additionalProperties": False},
                "method": method.upper(), "path": path, "locations": where, "responses": op.get("responses") or {},
            })
    if not ops:
        raise InputError("The OpenAPI document has no operations under 'paths'")
    return ops


def _example(response: dict[str, Any], seed: int) -> Any:
    content = response.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None) or {}
    if "example" in media:
        return media["example"]
    examples = media.get("examples") or response.get("examples") or {}
    if isinstance(examples, dict) and examples:
        first = next(iter(examples.values()))
        return first.get("value", first) if isinstance(first, dict) else first
    schema = media.get("schema") or response.get("schema")
    if isinstance(schema, dict):
        if "example" in schema:
            return schema["example"]
        from simulacra.text.backends.fake import example_from_schema

        return example_from_schema(schema, random.Random(seed))
    return None


def mock_call(op: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The mock server's answer to one call of ``op``: the request it would send and the example response."""
    path = op["path"]
    query: dict[str, Any] = {}
    body: dict[str, Any] = {}
    headers: dict[str, Any] = {}
    for key, value in arguments.items():
        loc = op["locations"].get(key)
        if loc == "path":
            if "{" + key + "}" not in path:
                raise CallExecutionError(f"path parameter '{key}' has no place in {op['path']}")
            path = path.replace("{" + key + "}", quote(str(value), safe=""))
        elif loc == "query":
            query[key] = value
        elif loc == "header":
            headers[key] = value
        elif loc and loc.startswith("body:"):
            body[loc[5:]] = value
    if re.search(r"\{[^}]+\}", path):
        raise CallExecutionError(f"path parameters missing in {path}")
    codes = sorted(str(c) for c in op["responses"] if str(c).startswith("2"))
    if not codes:
        default = op["responses"].get("default")
        if not isinstance(default, dict):
            raise CallExecutionError(f"the spec documents no success response for {op['method']} {op['path']}")
        codes = ["default"]
    seed = int.from_bytes(json.dumps(arguments, sort_keys=True, default=str).encode()[:8].ljust(8, b"\0"), "little")
    url = path + ("?" + urlencode(query, doseq=True) if query else "")
    out: dict[str, Any] = {"status": 200 if codes[0] == "default" else int(codes[0]), "method": op["method"], "url": url,
                           "response": _example(op["responses"][codes[0]], seed)}
    if body:
        out["body"] = body
    if headers:
        out["headers"] = headers
    return out


__all__ = ["mock_call", "operations", "read_spec"]
