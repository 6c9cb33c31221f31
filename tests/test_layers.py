"""The tree explains the architecture only if imports follow it: no cycles, and no layer
importing one above it. Read from the source (every import, those inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import crosspost

SRC = Path(crosspost.__file__).parent
# Lower layers first; a module may import its own layer and those before it.
LAYERS = [
    {"model", "errors", "logs", "timeutil", "config.problems", "telemetry"},
    {"store", "oauth", "adapter_state", "render", "config", "delivery.transport", "sources.media"},
    {"outgoing", "engagement", "adapter", "registry", "outbox", "sources", "testing"},
    {"service.assembly"},  # the files people edit, loaded: config, calendars, adapters
    {"render.compose", "render.first_comment", "delivery", "alerts", "results"},
    {"service"},
    {"cli", "__main__"},
]


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every crosspost module `path` imports at run time (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            node.body = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "crosspost":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("crosspost."):
                found.add(node.module.removeprefix("crosspost."))
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("crosspost.")
                for a in node.names
                if a.name.startswith("crosspost.")
            }
    return found


GRAPH = {_module(p): _imports(p) for p in SRC.rglob("*.py")}


def _layer(module: str) -> int:
    best = (-1, 0)  # (length of the longest matching prefix, its layer)
    for number, names in enumerate(LAYERS):
        for name in names:
            if module == name or module.startswith(name + "."):
                best = max(best, (len(name), number))
    assert best[0] >= 0, f"{module} is in no layer: add it to LAYERS"
    return best[1]


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if target in GRAPH and _layer(target) > _layer(module)
    ]
    assert upward == []


def test_there_is_no_import_cycle() -> None:
    # A package's __init__ importing its own submodules is how packages work, not a cycle.
    edges = {
        m: {t for t in ts if t in GRAPH and not (t.startswith(m + ".") and m != "")}
        for m, ts in GRAPH.items()
    }
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        for target in edges[module]:
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    done: set[str] = set()
    for module in sorted(edges):
        if module not in done:
            visit(module, [module])
    assert cycles == []
