"""Python functions as tools: JSON schemas from type hints, descriptions from docstrings.

A module (dotted name or ``.py`` file) is imported in this process only to read its signatures; its
functions are *run* in a separate worker process (:mod:`simulacra.text.calls.runner`).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, get_type_hints

from simulacra.errors import InputError

_SECTION = re.compile(r"^\s*(Parameters|Args|Arguments|Returns|Return|Raises|Examples|Notes|Yields|See Also)\s*:?\s*$")


def import_source(source: str | Path | ModuleType) -> tuple[ModuleType, str]:
    """The module for ``source`` (a module, a dotted name or a ``.py`` file) and how to import it again."""
    if isinstance(source, ModuleType):
        origin = getattr(source, "__file__", None)
        return source, (str(Path(origin).resolve()) if origin and source.__name__ == "__main__" else source.__name__)
    text = str(source)
    if text.endswith(".py") or Path(text).is_file():
        path = Path(text).resolve()
        if not path.is_file():
            raise InputError(f"The Python file '{text}' does not exist; give a .py file or an importable module name")
        name = f"_simulacra_tools_{abs(hash(str(path)))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InputError(f"'{text}' cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise InputError(f"Importing '{text}' failed: {type(exc).__name__}: {exc}; fix the module") from exc
        return module, str(path)
    try:
        return importlib.import_module(text), text
    except ImportError as exc:
        raise InputError(f"'{text}' is neither a file nor an importable module ({exc}); give a .py file, an "
                         "OpenAPI .yaml/.json or a module name") from exc


def public_functions(module: ModuleType) -> list[Any]:
    """The functions the module offers as tools (``__all__`` if it has one, else its own public functions),
    in the order they are defined."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, f in vars(module).items() if inspect.isfunction(f) and not n.startswith("_")
                 and f.__module__ == module.__name__]
    funcs = [getattr(module, n) for n in names if inspect.isfunction(getattr(module, n, None))]
    funcs.sort(key=lambda f: (getattr(f, "__module__", ""), f.__code__.co_firstlineno))
    if not funcs:
        raise InputError(f"Module '{module.__name__}' defines no public functions to offer as tools")
    return funcs


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The summary and per-parameter descriptions of a numpydoc or Google-style docstring.

    Examples
    --------
    >>> parse_docstring('''Add two numbers.
    ...
    ... Parameters
    ... ----------
    ... a : int
    ...     The first.
    ... b : int
    ...     The second
    ...     number.
    ... ''')
    ('Add two numbers.', {'a': 'The first.', 'b': 'The second number.'})
    >>> parse_docstring("Greet.\\n\\nArgs:\\n    name (str): Who to greet.")
    ('Greet.', {'name': 'Who to greet.'})
    """
    lines = inspect.cleandoc(doc or "").splitlines()
    summary: list[str] = []
    i = 0
    while i < len(lines) and lines[i].strip() and not _SECTION.match(lines[i]):
        summary.append(lines[i].strip())
        i += 1
    params: dict[str, str] = {}
    section = None
    current: str | None = None
    for line in lines[i:]:
        head = _SECTION.match(line)
        if head:
            section, current = head.group(1), None
            continue
        if section not in ("Parameters", "Args", "Arguments") or set(line.strip()) <= {"-"}:
            continue
        google = re.match(r"^\s{0,4}(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", line) if section != "Parameters" else None
        numpy = re.match(r"^(\*{0,2}\w+)\s*(:.*)?$", line) if section == "Parameters" else None
        if google:
            current = google.group(1).lstrip("*")
            params[current] = google.group(3).strip()
        elif numpy:
            current = numpy.group(1).lstrip("*")
            params[current] = ""
        elif current and line.strip():
            params[current] = (params[current] + " " + line.strip()).strip()
    return " ".join(summary), params


def function_schema(func: Any) -> tuple[str, dict[str, Any]]:
    """The description and JSON schema of the parameters of ``func`` (from its hints and docstring)."""
    from pydantic import ConfigDict, create_model

    summary, docs = parse_docstring(func.__doc__)
    try:
        hints = get_type_hints(func)
    except Exception as exc:
        raise InputError(f"The type hints of '{func.__name__}' cannot be read ({exc}); fix them") from exc
    fields: dict[str, Any] = {}
    for name, p in inspect.signature(func).parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name not in hints:
            raise InputError(f"Parameter '{name}' of '{func.__name__}' has no type hint; every tool parameter needs one")
        default = ... if p.default is p.empty else p.default
        fields[name] = (hints[name], default)
    try:
        model = create_model(f"{func.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields)
        schema = model.model_json_schema()
    except Exception as exc:
        raise InputError(f"The parameters of '{func.__name__}' cannot be described as JSON schema ({exc}); "
                         "use JSON-like types (str, int, float, bool, Literal, Enum, list, dict, date)") from exc
    schema = inline_refs(schema)
    schema.pop("title", None)
    for name, prop in schema.get("properties", {}).items():
        prop.pop("title", None)
        if docs.get(name):
            prop["description"] = docs[name]
    schema.setdefault("required", [])
    return summary or func.__name__.replace("_", " "), schema


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with local ``$ref`` (``#/$defs/``, ``#/definitions/``, ``#/components/schemas/``) replaced
    by their targets; a recursive reference is left as ``{"type": "object"}``.

    Examples
    --------
    >>> inline_refs({"$defs": {"U": {"enum": ["km", "mi"]}}, "properties": {"u": {"$ref": "#/$defs/U"}}})
    {'properties': {'u': {'enum': ['km', 'mi']}}}
    """
    root = schema

    def resolve(ref: str) -> Any:
        node: Any = root
        for part in ref.lstrip("#/").split("/"):
            if not isinstance(node, dict) or part not in node:
                raise InputError(f"The reference '{ref}' points nowhere; fix the schema")
            node = node[part]
        return node

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                return {"type": "object"}
            target = walk(resolve(ref), (*seen, ref))
            rest = {k: walk(v, seen) for k, v in node.items() if k != "$ref"}
            return {**target, **rest} if isinstance(target, dict) else target
        return {k: walk(v, seen) for k, v in node.items() if k not in ("$defs", "definitions")}

    out = walk(schema, ())
    assert isinstance(out, dict)
    return out


__all__ = ["function_schema", "import_source", "inline_refs", "parse_docstring", "public_functions"]
