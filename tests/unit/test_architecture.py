"""The layering of DESIGN.md and docs/architecture.md: imports flow one way (lazy imports too), no
cycles, no unpickling in src, and each concept in one module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "simulacra"
#: The parts from the bottom up: a part imports only parts of lower layers (at module level or
#: lazily, inside functions). docs/architecture.md draws the same picture.
LAYERS = [
    {"errors"},
    {"_deprecation", "random", "expr", "io", "privacy"},
    {"metadata"},
    {"transform", "rules"},
    {"tabular", "spec"},
    {"text", "evaluate"},
    {"train"},
    {"scale", "augment", "testing"},
    {"demo", "images"},
    {"cli"},
]
# package -> packages it must never import, beyond the layers (at module level or lazily)
FORBIDDEN = {
    "transform": {"io"},  # encoders turn values into numbers; reading files is the caller's business
}
#: Known upward imports, each to be removed (the test fails once one is gone, so the list only shrinks).
#: (The last one, tabular/base.py -> scale for the deprecated BaseSynthesizer.sample_to, now forwards to the
#: public simulacra.sample_to through the package root.)
KNOWN_UPWARD: set[tuple[str, str]] = set()


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


def _layer(pkg: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if pkg in layer), None)


def test_every_part_has_a_layer():
    parts = {_package(p) for p in SRC.rglob("*.py")} - {"__init__"}
    assert not [p for p in parts if _layer(p) is None], "add new parts to LAYERS and docs/architecture.md"


def test_docs_draw_every_layer():
    """docs/architecture.md draws the same layers as LAYERS (one row of the picture per layer)."""
    doc = (SRC.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = {int(m.group(1)): set(m.group(2).split()) for m in re.finditer(r"^ +(\d) +│ +([\w ]+?) +│", doc, re.M)}
    assert rows == dict(enumerate(LAYERS))


def _upward_imports() -> set[tuple[str, str]]:
    found = set()
    for path in SRC.rglob("*.py"):
        pkg = _package(path)
        here = _layer(pkg)
        for target in _imports(path) - {pkg}:
            there = _layer(target)
            if target in FORBIDDEN.get(pkg, set()) or (here is not None and there is not None and there >= here):
                found.add((path.relative_to(SRC).as_posix(), target))
    return found


def test_imports_flow_one_way():
    bad = _upward_imports() - KNOWN_UPWARD
    assert not bad, "\n".join(f"{path} imports simulacra.{target}" for path, target in sorted(bad))


def test_known_upward_imports_are_still_there():
    gone = KNOWN_UPWARD - _upward_imports()
    assert not gone, f"fixed, so remove from KNOWN_UPWARD: {sorted(gone)}"


def test_the_checker_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from simulacra.tabular.base import BaseSynthesizer\n")
    assert _imports(module) == {"tabular"}


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


def _seeds_globally(text: str) -> bool:
    """A global seeding call, except ``torch.manual_seed`` directly inside ``with torch.random.fork_rng(...)``
    (the global state is saved before and restored after the block: the seed stays local)."""
    pattern = re.compile(r"np\.random\.seed\(|^\s*random\.seed\(|torch\.manual_seed\(", re.M)
    lines = text.splitlines()
    for m in pattern.finditer(text):
        n = text.count("\n", 0, m.start())
        if "torch.manual_seed(" in lines[n] and n and "torch.random.fork_rng(" in lines[n - 1]:
            continue
        return True
    return False


def test_no_global_seeding_in_src():
    bad = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if _seeds_globally(p.read_text(encoding="utf-8"))]
    assert not bad
    assert _seeds_globally("torch.manual_seed(1)\n") and _seeds_globally("with x:\n    torch.manual_seed(1)\n")
    assert not _seeds_globally("with torch.random.fork_rng(devices=[]):\n    torch.manual_seed(1)\n")


def _sources(pattern: str, flags: int = 0) -> set[str]:
    rx = re.compile(pattern, flags)
    return {p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py") if rx.search(p.read_text(encoding="utf-8"))}


def test_capabilities_are_declared_not_discovered():
    """No code finds out what an object can do by catching NotImplementedError."""
    assert not _sources(r"except[^:\n]*\bNotImplementedError\b")


def test_model_archive_format_lives_in_io():
    """Only io/model.py opens zip archives or reads .npz arrays; models only produce plain state.

    (``testing/model_fuzz.py`` damages archives on purpose, to test the reader.)
    """
    assert _sources(r"^\s*(import zipfile|from zipfile)|np\.load\(", re.M) == {"io/model.py", "testing/model_fuzz.py"}


def test_io_knows_no_model():
    assert not _sources(r"_get_state|_set_state|SYNTHESIZERS|_load_builtin") & {
        p.relative_to(SRC).as_posix() for p in (SRC / "io").rglob("*.py")
    }


def test_random_streams_live_in_one_module():
    """Keyed streams (SeedSequence spawn keys) and the block size are defined in simulacra/random.py only."""
    assert _sources(r"spawn_key\s*=") == {"random.py"}
    assert _sources(r"^BLOCK_CELLS\s*=|^MIN_BLOCK_ROWS\s*=|^def block_rng\b|^def resolve_seed\b", re.M) == {"random.py"}


def test_suffix_to_format_table_lives_in_io():
    """One table maps file suffixes to formats; the others call io."""
    assert _sources(r"\{[^}]*['\"]\.parquet['\"]\s*:") <= {"io/tables.py", "io/writers.py"}
