"""The layering of DESIGN.md: imports flow one way, no cycles, no unpickling in src."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "simulacra"
# package -> packages it must never import (at module level or lazily)
FORBIDDEN = {
    "expr": {"metadata", "transform", "tabular", "spec", "text", "evaluate", "io", "scale", "cli", "augment"},
    "errors": {"metadata", "transform", "tabular", "spec", "text", "evaluate", "io", "scale", "cli", "augment"},
    "metadata": {"transform", "tabular", "spec", "text", "evaluate", "scale", "cli", "augment"},
    "transform": {"tabular", "spec", "text", "evaluate", "scale", "cli", "augment"},
    "tabular": {"spec", "text", "evaluate", "cli", "augment"},
    "spec": {"tabular", "text", "evaluate", "cli", "augment"},
    "text": {"tabular", "cli", "augment"},
    "evaluate": {"tabular", "cli", "augment", "spec", "text"},
    "rules": {"transform", "tabular", "spec", "text", "evaluate", "io", "scale", "cli", "augment"},
}


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m.split(".")[1] for m in found if m.startswith("simulacra.") and m.count(".") >= 1}


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def test_imports_flow_one_way():
    bad = []
    for path in SRC.rglob("*.py"):
        pkg = _package(path)
        for target in _imports(path) & FORBIDDEN.get(pkg, set()):
            bad.append(f"{path.relative_to(SRC)} imports simulacra.{target}")
    assert not bad, "\n".join(bad)


def test_nothing_imports_cli():
    bad = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if _package(p) != "cli" and "cli" in _imports(p)]
    assert not bad


def test_no_cycles_between_packages():
    """Module-level imports form no cycle (lazy imports inside functions may point back, e.g. io)."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        pkg = _package(path)
        graph.setdefault(pkg, set()).update(i for i in _imports(path, top_level_only=True) if i != pkg)
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack, node, nxt]))
            if not state.get(nxt):
                visit(nxt, [*stack, node])
        state[node] = 2

    for node in list(graph):
        if not state.get(node):
            visit(node, [])


def test_no_unpickling_in_src():
    pattern = re.compile(r"\b(pickle|cloudpickle|joblib|dill)\.(load|loads)\(|allow_pickle\s*=\s*True")
    bad = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert not bad


def test_no_global_seeding_in_src():
    pattern = re.compile(r"np\.random\.seed\(|^\s*random\.seed\(|torch\.manual_seed\(", re.M)
    bad = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert not bad
