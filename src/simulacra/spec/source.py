"""Reading a spec's YAML with the line of every key, and errors that point at that line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulacra.errors import SpecError
from simulacra.expr import suggest

Loc = tuple[str | int, ...]


@dataclass
class SpecSource:
    """Where a spec came from: a file name (or ``<string>``) and the line of each path in it."""

    name: str = "<dict>"
    lines: dict[Loc, int] = field(default_factory=dict)
    #: let the spec read files outside its folder (``empirical`` kind's ``file``)
    allow_external_files: bool = False

    @property
    def folder(self) -> Path:
        """The spec's folder (the current directory for a spec given as text or a mapping)."""
        return Path(self.name).parent if self.name not in ("<string>", "<dict>") else Path.cwd()

    def resolve_file(self, loc: Sequence[str | int], file: str) -> Path:
        """``file`` resolved relative to the spec's folder; a path that leaves the folder (``..``, an
        absolute path, a symbolic link out) is refused unless :attr:`allow_external_files` is set."""
        path = self.folder / file
        if self.allow_external_files:
            return path
        try:
            inside = path.resolve().is_relative_to(self.folder.resolve())
        except (OSError, RuntimeError):
            inside = False
        if not inside:
            raise self.error(
                loc, f"'{file}' is outside the spec's folder ({self.folder}); a spec may only read files beside it. "
                "Move the file there, or allow it explicitly (allow_external_files=True, --allow-external-files)"
            )
        return path

    def line(self, loc: Sequence[str | int]) -> int | None:
        """The line of ``loc``, or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def error(self, loc: Sequence[str | int], message: str) -> SpecError:
        """A :class:`SpecError` naming the file, the line and the field."""
        return SpecError(describe(self, loc, message))


def describe(source: SpecSource, loc: Sequence[str | int], message: str) -> str:
    line = source.line(loc)
    where = source.name + (f", line {line}" if line else "")
    dotted = ".".join(str(p) for p in loc)
    return f"{where}, field '{dotted}': {message}" if dotted else f"{where}: {message}"


def _walk(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            out[(*loc, k)] = key.start_mark.line + 1
            _walk(value, (*loc, k), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*loc, i)] = item.start_mark.line + 1
            _walk(item, (*loc, i), out)


#: The most values a spec may hold once its YAML aliases (``*name``) are expanded: far above any real
#: spec, far below a "billion laughs" bomb (a few kilobytes of aliases that expand to billions of values).
MAX_EXPANDED_NODES = 100_000


def expanded_size(root: yaml.Node, limit: int = MAX_EXPANDED_NODES, name: str = "<string>") -> int:
    """How many values the YAML graph ``root`` holds with every alias expanded (stops past ``limit``).

    Shared nodes are sized once (memoized), so a bomb costs as little to measure as it is to read; a
    node that contains itself is refused.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = min(limit + 1, 1 + sum(size[id(c)] for c in children))
            continue
        if key in size:
            continue
        if key in on_path:
            raise SpecError(f"{name}, line {node.start_mark.line + 1}: a YAML alias refers to a value that contains it "
                            "(a recursive spec); write the values out instead")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)
    return size[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_yaml(path_or_text: str | Path) -> tuple[dict[str, Any], SpecSource]:
    """Parse a spec from a YAML file or YAML text; returns the data and its :class:`SpecSource`.

    >>> data, src = load_yaml("tables:\\n  t:\\n    rows: 3\\n")
    >>> data["tables"]["t"]["rows"], src.line(("tables", "t", "rows"))
    (3, 3)
    """
    text, name = _read(path_or_text)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and expanded_size(node, name=name) > MAX_EXPANDED_NODES:
            raise SpecError(
                f"{name}: the spec's YAML aliases (*name) expand to more than {MAX_EXPANDED_NODES:,} values; "
                "this looks like an alias bomb. Write the values out, or use fewer aliases"
            )
        data = yaml.safe_load(text)
    except RecursionError:
        raise SpecError(f"{name}: the YAML is nested too deeply to be a spec") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{name}{where}: the file is not valid YAML ({problem}).") from None
    if not isinstance(data, dict):
        raise SpecError(f"{name}: a spec must be a YAML mapping with a 'tables' key, got {type(data).__name__}.")
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, SpecSource(name=name, lines=lines)


def _read(path_or_text: str | Path) -> tuple[str, str]:
    if isinstance(path_or_text, Path):
        return _read_file(path_or_text)
    text = str(path_or_text)
    if "\n" not in text and len(text) < 1024 and text.strip().lower().endswith((".yaml", ".yml", ".json")):
        return _read_file(Path(text))
    return text, "<string>"


def _read_file(path: Path) -> tuple[str, str]:
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise SpecError(f"Spec file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"Cannot read spec file {path}: {exc}") from None


def pydantic_problems(exc: Any, model: Any, loc: Loc, source: SpecSource) -> SpecError:
    """Turn a pydantic ValidationError on ``model`` at ``loc`` into one :class:`SpecError`."""
    messages = []
    allowed = sorted(getattr(model, "model_fields", {}))
    for err in exc.errors():
        sub = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        full = (*loc, *sub)
        if err["type"] == "extra_forbidden":
            name = str(sub[-1]) if sub else "?"
            msg = f"unknown parameter '{name}'{suggest(name, allowed)}; allowed: {', '.join(allowed)}"
        elif err["type"] == "missing":
            msg = "this parameter is required"
        else:
            got = err.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            msg = f"{err['msg']}{shown}"
        messages.append(describe(source, full, msg))
    return SpecError("\n".join(messages))
