"""The house rules, checked on the source: the layers' arrows point down, no import circles, no god modules.

    config  <-  models (core, ports, the domain)  <-  integrations (adapters implementing ports)
                                                  <-  handlers (contracts, authorisation)
    server (app factory, wiring, demo, workers, process) uses all of them; nothing uses server or handlers.

Every import counts, those inside functions and under TYPE_CHECKING too: an import hidden in a
function is still an arrow.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("config", "models", "integrations", "handlers", "server")
# What each layer may import of ours (by module-name prefix).
ALLOWED = {
    "config": ("config",),
    "models": ("config", "models"),
    "integrations": ("config", "integrations", "models.ports", "models.core", "models.errors"),
    "handlers": ("config", "models", "handlers"),
    "server": LAYERS,
}
MODEL_MODULE_MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (`from pkg import sub` counts as importing pkg.sub)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            name = module_name(path)
            package = name if path.name == "__init__.py" else name.rpartition(".")[0]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    graph[name].update(a.name for a in node.names if a.name.split(".")[0] in LAYERS)
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                    if base.split(".")[0] not in LAYERS:
                        continue
                    for alias in node.names:
                        sub = f"{base}.{alias.name}"
                        graph[name].add(sub if is_module(sub) else base)
            graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_arrows_point_down() -> None:
    wrong = [f"{source} imports {target}" for source, targets in sorted(import_graph().items())
             for target in sorted(targets)
             if not target.startswith(ALLOWED[source.split(".")[0]])]
    assert not wrong, "\n".join(wrong)


def test_there_is_no_import_circle() -> None:
    assert cycles(import_graph()) == []


def test_the_checks_see_an_arrow_pointing_up_and_a_circle() -> None:
    graph = {"models.a": {"models.b"}, "models.b": {"models.a", "server.app"}}
    assert cycles(graph) == [["models.a", "models.b"]]
    assert not "server.app".startswith(ALLOWED["models"])


@pytest.mark.parametrize("path", sorted((ROOT / "models").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_model_module_is_a_god_module(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MODEL_MODULE_MAX_LINES, f"{lines} lines: split it into modules named after what they hold"
