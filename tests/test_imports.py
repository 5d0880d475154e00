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
    assert "harness.runs.runner" not in graph["harness.evaluate.evaluator"]
    for executor in ("harness.runs.executors", "harness.runs.executors.local", "harness.runs.executors.ray_cluster"):
        assert "harness.runs.sweep" not in graph[executor]


# The folders are the stages data flows through; the top-level modules are the building blocks every stage uses.
STAGES = ("data", "models", "train", "evaluate", "runs", "report", "cli")
PUBLIC_PATHS = ("harness.registry", "harness.metrics", "harness.objectives")  # documented plugin paths, on top


def _rank(module: str) -> int:
    parts = module.split(".")
    if module in PUBLIC_PATHS:
        return len(STAGES) + 1
    if len(parts) > 1 and parts[1] in STAGES:
        return 1 + STAGES.index(parts[1])
    return 0  # harness, harness.config, harness.errors, ...: the building blocks


def test_every_module_belongs_to_a_stage_or_is_a_building_block():
    top_level = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert set(top_level) == {"atomicio", "cachefile", "config", "errors", "fetch", "images", "paths", "phases",
                              "provenance", "rows", "streams", "registry", "metrics", "objectives"}, top_level
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert folders == sorted(STAGES)


def test_a_stage_imports_nothing_from_a_later_stage():
    """Function-level imports count too: a lazy import is still a dependency."""
    graph = _graph(top_level_only=False)
    upward = sorted(f"{a} -> {b}" for a, deps in graph.items() for b in deps
                    if a != "harness.__main__" and _rank(b) > _rank(a))
    assert not upward, "imports against the data flow:\n" + "\n".join(upward)


def test_the_variants_package_is_imported_only_by_the_registry_and_imports_only_public_paths():
    """The built-in variants (the top-level `variants` package) sit beside the plugins: the registry imports them
    (its one way up, lazily, on first lookup), and they import only the public paths, config and the registry,
    never the trainer, the evaluator or the runner."""
    importers = sorted(name for name, path in ((_module_name(p), p) for p in PACKAGE.rglob("*.py"))
                       if any(m == "variants" or m.startswith("variants.") for m in _all_imports(path)))
    assert importers == ["harness.models.registry"], importers
    allowed = ("harness.config", "harness.models.registry", "harness.registry", "harness.errors", "variants")
    for path in sorted((PACKAGE.parent / "variants").glob("*.py")):
        bad = sorted(m for m in _all_imports(path) if not m.startswith(allowed))
        assert not bad, f"{path.name} imports {bad}"


def _all_imports(path: Path) -> set[str]:
    """Every module a file imports (harness or not), function-level imports included."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return {m for m in out if m.startswith(("harness", "variants"))}


def test_every_metric_module_is_discovered():
    """A module placed in harness/evaluate/metrics/ is imported by the registry without being listed anywhere."""
    import pkgutil
    import sys

    from harness.evaluate import metrics

    metrics.registered()
    for module in pkgutil.iter_modules(metrics.__path__):
        assert f"harness.evaluate.metrics.{module.name}" in sys.modules, module.name


def test_the_documented_public_paths_import():
    from harness.cli import main  # noqa: F401  (the `harness` command's entry point in pyproject.toml)
    from harness.config import RunConfig, validate  # noqa: F401
    from harness.metrics import Output, register, register_space  # noqa: F401
    from harness.objectives import Objective, register_objective  # noqa: F401
    from harness.registry import ENTRY_POINT_GROUP, list_variants, register_variant  # noqa: F401

    assert ENTRY_POINT_GROUP == "harness.variants"
    assert "paper_dcgan" in list_variants()
    assert RunConfig().variant is not None
