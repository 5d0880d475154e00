"""Data flows one way: no two harness modules import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import harness

PACKAGE = Path(harness.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("harness")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness"):
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}  # "from harness import config"
    return out


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    # A module's own packages are imported before it anyway: an edge to them is no dependency.
    return {name: {m for m in _imports(path, top_level_only=top_level_only)
                   if m in modules and m != name and not name.startswith(m + ".")}
            for name, path in modules.items()}


def test_module_level_imports_have_no_cycle():
    graph = _graph(top_level_only=True)
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_the_two_former_circles_stay_broken():
    graph = _graph(top_level_only=False)  # function-level imports count here
    assert "harness.runner" not in graph["harness.evaluate"]
    for executor in ("harness.executors", "harness.executors.local", "harness.executors.ray_cluster"):
        assert "harness.sweep" not in graph[executor]
