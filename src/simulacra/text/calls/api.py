"""An API as tools for a language model: load it, describe it, validate and run calls.

A *call* is ``{"name": str, "arguments": dict}``. An :class:`Api` comes from an OpenAPI document
(``.yaml``/``.json``) or from Python functions (a module, a dotted module name or a ``.py`` file) and
gives the tool descriptions in the OpenAI ``tools`` format, checks calls against each function's JSON
schema, and runs them: Python functions in a worker process with a timeout and no network, OpenAPI
operations against a mock answering from the document's examples.

>>> from simulacra.text.calls import load_api
>>> api = load_api("simulacra.text.calls.demo_api")
>>> call = {"name": "convert_units", "arguments": {"value": 5, "from_unit": "km", "to_unit": "mi"}}
>>> api.validate(call)
[]
>>> api.execute(call)["value"]
3.106856
>>> api.close()
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from simulacra.text.calls.runner import CallExecutionError, Worker

#: how the model writes a call in its answer (the corpus's assistant turns and the uplift's parser agree on it)
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
#: corpus-builder hints an API may carry: module attributes in upper case (``SURFACE_FORMS``), or keys of an
#: ``x-simulacra`` mapping at the top of an OpenAPI document
HINTS = ("surface_forms", "value_pools", "request_templates", "context_templates", "unsupported_values")
_CALL_RE = re.compile(re.escape(CALL_OPEN) + r"\s*(.*?)\s*(?:" + re.escape(CALL_CLOSE) + r"|$)", re.S)


@dataclass
class Function:
    """One tool: its name, description, JSON schema of the arguments, and where it runs."""

    name: str
    description: str
    parameters: dict[str, Any]
    operation: dict[str, Any] | None = None  # OpenAPI: method, path, locations, responses

    @property
    def defaults(self) -> dict[str, Any]:
        """The documented default of each optional argument that has one."""
        props = self.parameters.get("properties", {})
        return {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}

    @property
    def required(self) -> list[str]:
        """The arguments every call must give."""
        return list(self.parameters.get("required", []))

    def tool(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry of this function."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


@dataclass
class Api:
    """A set of tools, with validation and execution of calls (see the module docstring)."""

    functions: dict[str, Function]
    source: str
    kind: str  # "python" or "openapi"
    #: hints for the corpus builder (:data:`HINTS`)
    hints: dict[str, Any] = field(default_factory=dict)
    _worker: Worker | None = field(default=None, repr=False)
    _validators: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> list[str]:
        """The function names, in the order of the source."""
        return list(self.functions)

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The tool descriptions in the OpenAI ``tools`` format."""
        return [f.tool() for f in self.functions.values()]

    def _validator(self, name: str) -> Any:
        if name not in self._validators:
            import jsonschema

            schema = self.functions[name].parameters
            cls = jsonschema.validators.validator_for(schema)
            self._validators[name] = cls(schema, format_checker=cls.FORMAT_CHECKER)
        return self._validators[name]

    def validate(self, call: Any) -> list[str]:
        """Every problem of ``call`` (shape, unknown function, arguments against the schema); [] when valid."""
        from simulacra.text.schema import validation_errors

        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            return ["a call must be an object with a string 'name' and an object 'arguments'"]
        if call["name"] not in self.functions:
            return [f"unknown function '{call['name']}'"]
        args = call.get("arguments", {})
        if not isinstance(args, dict):
            return ["'arguments' must be an object"]
        return validation_errors(args, self._validator(call["name"]))

    def execute(self, call: dict[str, Any], timeout: float = 5.0) -> Any:
        """Run ``call`` and return its result; raise :class:`CallExecutionError` if it does not return.

        The call is validated first (an invalid call is not run). Python functions run in a worker process
        (network refused, ``timeout`` seconds per call); OpenAPI operations are answered by the mock.
        """
        problems = self.validate(call)
        if problems:
            raise CallExecutionError("invalid call: " + "; ".join(problems))
        fn = self.functions[call["name"]]
        args = dict(call.get("arguments", {}))
        if fn.operation is not None:
            from simulacra.text.calls.openapi import mock_call

            return mock_call(fn.operation, args)
        if self._worker is None:
            self._worker = Worker(self.source)
        return self._worker.call(fn.name, args, timeout=timeout)

    def canonical(self, call: dict[str, Any] | None) -> str:
        """:func:`call_key` of ``call`` with its function's documented defaults filled in.

        Two calls that differ only by an argument given at its default value compare equal.
        """
        if call is None or call.get("name") not in self.functions or not isinstance(call.get("arguments"), dict):
            return call_key(call)
        return call_key({"name": call["name"], "arguments": {**self.functions[call["name"]].defaults, **call["arguments"]}})

    def prompt(self) -> str:
        """A compact listing of the tools for a system prompt: one line per function.

        Examples
        --------
        >>> api = load_api("simulacra.text.calls.demo_api")
        >>> api.prompt().splitlines()[0].startswith("convert_units(value: number, from_unit: ")
        True
        """
        return "\n".join(_signature(f) for f in self.functions.values())

    def close(self) -> None:
        """Stop the worker process (if one was started)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


_WORD = re.compile(r"^[A-Za-z0-9_.+-]+$")


def _values(values: list[Any]) -> str:
    """Enumerated values, space-separated: bare words where every value is one, JSON otherwise (fewer tokens
    than quoted, ``|``-joined lists; the model still writes JSON strings in its call)."""
    if all(isinstance(v, str) and _WORD.match(v) for v in values):
        return " ".join(values)
    return " ".join(json.dumps(v) for v in values)


def _type(schema: dict[str, Any], names: dict[str, str] | None = None) -> str:
    if "enum" in schema:
        key = json.dumps(schema["enum"])
        return names[key] if names and key in names else "one of " + _values(schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "anyOf" in schema:
        return "|".join(_type(s, names) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{_type(schema.get('items', {}), names)}]"
    if schema.get("format") == "date":
        return "date YYYY-MM-DD"
    if schema.get("format") == "date-time":
        return "datetime ISO 8601"
    return str(kind)


def _shared_enums(fn: Function) -> dict[str, str]:
    """A name for each list of values that several of ``fn``'s arguments share (``from_unit``, ``to_unit`` ->
    ``unit``): the list is then written once, under that name, instead of once per argument."""
    users: dict[str, list[str]] = {}
    for name, schema in fn.parameters.get("properties", {}).items():
        if isinstance(schema, dict) and "enum" in schema:
            users.setdefault(json.dumps(schema["enum"]), []).append(name)
    out = {}
    for key, params in users.items():
        if len(params) > 1:
            words = [p.split("_") for p in params]
            common = [w for w in words[0] if all(w in ws for ws in words[1:])]
            out[key] = "_".join(common) or params[0]
    return out


def _signature(fn: Function) -> str:
    parts = []
    required = set(fn.required)
    shared = _shared_enums(fn)
    for name, schema in fn.parameters.get("properties", {}).items():
        text = f"{name}: {_type(schema, shared)}"
        if name not in required:
            text += " = " + json.dumps(schema.get("default")) if "default" in schema else "?"
        parts.append(text)
    line = f"{fn.name}({', '.join(parts)}) - {_first_sentence(fn.description)}"
    for key, label in shared.items():
        line += f" {label}: one of {_values(json.loads(key))}."
    return line


def _first_sentence(text: str) -> str:
    """The first sentence of a description (the rest rarely helps a model choose the function)."""
    text = " ".join(text.split())
    cut = re.search(r"(?<=[.!?])\s", text)
    return text[: cut.start()] if cut else text


def system_prompt(api: Api) -> str:
    """The system message that offers ``api``'s tools and says how to call them: one line per function (its
    signature with types, defaults and allowed values, and the first sentence of its description). The corpus,
    training, the preference pairs and the uplift all use this one prompt, so a model is scored under the prompt
    it was trained on.

    Examples
    --------
    >>> api = load_api("simulacra.text.calls.demo_api")
    >>> print(system_prompt(api).splitlines()[3])
    add_days(date: date YYYY-MM-DD, days: integer) - The date a number of days after (or, if negative, before) a given date.
    """
    return ("Functions:\n" + api.prompt() + "\n"
            f"To call one, answer only {CALL_OPEN}{{\"name\": ..., \"arguments\": {{...}}}}{CALL_CLOSE}. "
            "If none fits, answer in words without a call.")


def render_call(call: dict[str, Any] | None, *, no_call: str = "None of the available functions can do that.") -> str:
    """The assistant's answer for ``call`` (None: a plain answer, no call).

    Examples
    --------
    >>> render_call({"name": "f", "arguments": {"x": 1}})
    '<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>'
    >>> parse_call(render_call({"name": "f", "arguments": {"x": 1}}))
    {'name': 'f', 'arguments': {'x': 1}}
    """
    if call is None:
        return no_call
    body = json.dumps({"name": call["name"], "arguments": call.get("arguments", {})}, ensure_ascii=False)
    return f"{CALL_OPEN}{body}{CALL_CLOSE}"


def parse_calls(text: str) -> list[dict[str, Any]]:
    """Every call written in ``text``; a block that is not a JSON call object gives ``{"name": None, "raw": ...}``."""
    from simulacra.text.schema import extract_json

    out: list[dict[str, Any]] = []
    for block in _CALL_RE.findall(text):
        try:
            value = extract_json(block)
        except ValueError:
            out.append({"name": None, "raw": block})
            continue
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            args = value.get("arguments", {})
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except json.JSONDecodeError:
                    pass
            out.append({"name": value["name"], "arguments": args})
        else:
            out.append({"name": None, "raw": block})
    return out


def parse_call(text: str) -> dict[str, Any] | None:
    """The first call in a model's answer, or None when it made none (a malformed one has ``name`` None)."""
    calls = parse_calls(text)
    return calls[0] if calls else None


def load_api(source: str | Path | ModuleType | Api) -> Api:
    """An :class:`Api` from an OpenAPI file (``.yaml``, ``.yml``, ``.json``), a ``.py`` file, a module or its name.

    Hints for the corpus builder (:data:`HINTS`) are read from the module's upper-case attributes of those
    names, or from the ``x-simulacra`` mapping of an OpenAPI document.
    """
    if isinstance(source, Api):
        return source
    text = str(source) if not isinstance(source, ModuleType) else ""
    if text.lower().endswith((".yaml", ".yml", ".json")):
        from simulacra.text.calls.openapi import operations, read_spec

        doc = read_spec(text)
        ops = operations(doc)
        funcs = {op["name"]: Function(op["name"], op["description"], op["parameters"], operation=op) for op in ops}
        found = doc.get("x-simulacra")
        extra: dict[str, Any] = found if isinstance(found, dict) else {}
        return Api(funcs, str(Path(text).resolve()), "openapi", hints={k: extra[k] for k in HINTS if k in extra})
    from simulacra.text.calls.pyapi import function_schema, import_source, public_functions

    assert not isinstance(source, Api)
    module, ref = import_source(source)
    funcs = {}
    for fn in public_functions(module):
        description, params = function_schema(fn)
        funcs[fn.__name__] = Function(fn.__name__, description, params)
    return Api(funcs, ref, "python", hints={k: getattr(module, k.upper()) for k in HINTS
                                            if isinstance(getattr(module, k.upper(), None), dict)})


def call_key(call: dict[str, Any] | None) -> str:
    """A canonical string of a call for exact-match comparison (argument order and int/float 2 vs 2.0 ignored).

    Examples
    --------
    >>> call_key({"name": "f", "arguments": {"b": 2.0, "a": "x"}}) == call_key({"name": "f", "arguments": {"a": "x", "b": 2}})
    True
    >>> call_key(None)
    'null'
    """
    if call is None:
        return "null"

    def norm(v: Any) -> Any:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return json.dumps({"name": call.get("name"), "arguments": norm(call.get("arguments", {}))}, sort_keys=True)


__all__ = ["Api", "CallExecutionError", "Function", "call_key", "load_api", "parse_call", "parse_calls",
           "render_call", "system_prompt"]
