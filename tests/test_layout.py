"""The kernel's layout: which part may import which, no cycles, small modules.

The parts, from the bottom up (README, "Architecture"); a module may import its own
part and any part below it, never one above. Imports under ``if TYPE_CHECKING:`` are
for annotations only and may point anywhere (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

KERNEL = Path(__file__).resolve().parent.parent / "kernel"

#: part -> the parts it may import (besides itself)
FOUNDATION = "foundation"
LAYERS: list[str] = [
    FOUNDATION,  # errors, version, config, identity, logs, metrics, breaker, health
    "data",  # database, kernel tables, migrations, pagination, cache, uploads, batching
    "realtime",  # the hub: topics across processes
    "tasks",  # declaring, sending, running, scheduling tasks; their store and broker
    "events",  # the outbox, the relay, deliveries
    "plugins",  # manifest, hooks, loading, scaffold
    "kernel",  # the Kernel object: composes every part below
    "web",  # the Quart app, middleware, problems, routes, /ws
    "cli",  # the lyo command
    "face",  # kernel/__init__.py and kernel.testing: the public face
]
MAX_LINES = 400


def part_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] == "__main__":
        return "cli"
    if len(parts) == 1 or parts[1] == "__init__":
        return "face"
    name = parts[1]
    if name in {"testing"}:
        return "face"
    if name == "kernel":
        return "kernel"
    if name in LAYERS:
        return name
    return FOUNDATION


def module_name(path: Path) -> str:
    rel = path.relative_to(KERNEL.parent).with_suffix("")
    names = list(rel.parts)
    if names[-1] == "__init__":
        names.pop()
    return ".".join(names)


def runtime_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found: list[tuple[int, str]] = []
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    type_only.add(id(sub))
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("kernel")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "kernel":
                # `from kernel import x`: x is a submodule or a public name of the face
                for a in node.names:
                    sub = KERNEL / a.name
                    if sub.with_suffix(".py").exists() or (sub / "__init__.py").exists():
                        found.append((node.lineno, f"kernel.{a.name}"))
                    else:
                        found.append((node.lineno, "kernel"))
            elif node.module.startswith("kernel."):
                found.append((node.lineno, node.module))
    return found


def test_every_import_points_down() -> None:
    wrong = []
    for path in sorted(KERNEL.rglob("*.py")):
        if "templates" in path.parts or "_migrations" in path.parts:
            continue
        here = module_name(path)
        mine = LAYERS.index(part_of(here))
        for line, target in runtime_imports(path):
            theirs = LAYERS.index(part_of(target))
            if theirs > mine:
                wrong.append(
                    f"{path.relative_to(KERNEL.parent)}:{line} {here} ({LAYERS[mine]}) "
                    f"imports {target} ({LAYERS[theirs]})"
                )
    assert not wrong, "imports against the layering (README, Architecture):\n" + "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    for path in KERNEL.rglob("*.py"):
        if "templates" in path.parts:
            continue
        graph[module_name(path)] = {t for _, t in runtime_imports(path) if t != "kernel"}
    seen: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if seen.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_modules_stay_small() -> None:
    big = {
        str(p.relative_to(KERNEL.parent)): n
        for p in KERNEL.rglob("*.py")
        if "templates" not in p.parts and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines (split them by noun): {big}"
