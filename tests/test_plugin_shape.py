"""Every first-party plugin, the example and a freshly scaffolded plugin have the one
plugin shape (README, "Plugin author guide"): the same files with the same roles, the
name defined once, the kernel reached through ``kernel.PluginHandle``/``kernel.current()``
and through the public API only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kernel.cli import scaffold

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {
    "auth": ROOT / "plugins" / "auth" / "lyo_auth",
    "learning": ROOT / "plugins" / "learning" / "lyo_learning",
    "ai": ROOT / "plugins" / "ai" / "lyo_ai",
    "community": ROOT / "plugins" / "community" / "lyo_community",
    "gamification": ROOT / "plugins" / "gamification" / "lyo_gamification",
    "notifications": ROOT / "plugins" / "notifications" / "lyo_notifications",
    "feeds": ROOT / "plugins" / "feeds" / "lyo_feeds",
    "hello": ROOT / "examples" / "hello_plugin" / "lyo_hello",
}
#: file -> its role; each plugin has every one of them
SHAPE = {
    "__init__.py": "a docstring",
    "plugin.py": "the manifest and the hooks",
    "settings.py": "NAME, the Settings model, plugin = kernel.PluginHandle(NAME)",
    "models.py": "Tortoise models",
    "schemas.py": "request and response bodies",
    "routes.py": "the blueprints",
    "tasks.py": "@kernel.task functions",
    "events.py": "Event classes and @kernel.on handlers",
    "api.py": "what other plugins may call",
    "cli.py": "click commands",
}
#: names of modules that meant something else in each plugin before the shape
RETIRED = ("runtime.py", "config.py", "state.py")


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("scaffold") / "lyo-shaped"
    scaffold.create("shaped", target)
    return target / "lyo_shaped"


def packages(scaffolded: Path) -> dict[str, Path]:
    return {**FIRST_PARTY, "shaped": scaffolded}


def modules(package: Path) -> dict[str, ast.Module]:
    return {
        str(path.relative_to(package)): ast.parse(path.read_text())
        for path in sorted(package.rglob("*.py"))
        if "migrations" not in path.relative_to(package).parts
    }


def decorators(node: ast.AST) -> list[str]:
    found = getattr(node, "decorator_list", [])
    return [ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in found]


@pytest.mark.parametrize("name", [*FIRST_PARTY, "shaped"])
def test_the_files_are_there(name: str, scaffolded: Path) -> None:
    package = packages(scaffolded)[name]
    missing = [f"{file} ({role})" for file, role in SHAPE.items() if not (package / file).is_file()]
    assert not missing, f"{name}: missing {missing}"
    assert not [f for f in RETIRED if (package / f).exists()], f"{name}: retired module names"
    migrations = package / "migrations" / name
    assert sorted(migrations.glob("0_*.py")), f"{name}: no first migration in {migrations}"
    assert (package.parent / "tests" / "conftest.py").is_file(), f"{name}: no tests/conftest.py"


@pytest.mark.parametrize("name", [*FIRST_PARTY, "shaped"])
def test_plugin_py_holds_the_manifest_and_hooks_only(name: str, scaffolded: Path) -> None:
    tree = modules(packages(scaffolded)[name])["plugin.py"]
    hooks = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert "hookimpl" in decorators(node), f"{name}: plugin.py defines {node.name}()"
            hooks.add(node.name)
        else:
            assert not isinstance(node, ast.ClassDef), f"{name}: plugin.py defines a class"
            assert "Blueprint(" not in ast.unparse(node), f"{name}: a blueprint in plugin.py"
    assert "manifest" in hooks


@pytest.mark.parametrize("name", [*FIRST_PARTY, "shaped"])
def test_each_role_lives_in_its_file(name: str, scaffolded: Path) -> None:
    wrong: list[str] = []
    for file, tree in modules(packages(scaffolded)[name]).items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                names = [ast.unparse(t) for t in node.targets]
                if "NAME" in names and file != "settings.py":
                    wrong.append(f"{file}: NAME (only settings.py defines it)")
                if "Blueprint(" in ast.unparse(node.value) and file != "routes.py":
                    wrong.append(f"{file}: a blueprint (routes.py has them all)")
            used = decorators(node)
            if any(d in {"kernel.task", "task"} for d in used) and file != "tasks.py":
                wrong.append(f"{file}: a task (tasks.py has them)")
            if any(d in {"kernel.on", "on"} for d in used) and file != "events.py":
                wrong.append(f"{file}: an event handler (events.py has them)")
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b) for b in node.bases}
                if bases & {"Model", "models.Model"} and file != "models.py":
                    wrong.append(f"{file}: model {node.name} (models.py has them)")
                if bases & {"Event", "kernel.Event"} and file != "events.py":
                    wrong.append(f"{file}: event {node.name} (events.py has them)")
    assert not wrong, f"{name}: {wrong}"


@pytest.mark.parametrize("name", [*FIRST_PARTY, "shaped"])
def test_settings_py_names_the_plugin_and_holds_its_handle(name: str, scaffolded: Path) -> None:
    tree = modules(packages(scaffolded)[name])["settings.py"]
    assigned = {
        ast.unparse(t): ast.unparse(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
    }
    assert assigned.get("NAME") == repr(name)
    assert assigned.get("plugin") in {"PluginHandle(NAME)", "kernel.PluginHandle(NAME)"}
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert any("BaseModel" in {ast.unparse(b) for b in c.bases} for c in classes)


@pytest.mark.parametrize("name", [*FIRST_PARTY, "shaped"])
def test_the_init_module_is_a_docstring(name: str, scaffolded: Path) -> None:
    tree = modules(packages(scaffolded)[name])["__init__.py"]
    assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr), name


@pytest.mark.parametrize("name", [*FIRST_PARTY, "shaped"])
def test_only_the_public_api_and_the_one_way_to_the_kernel(name: str, scaffolded: Path) -> None:
    """No ``kernel.<module>`` imports (a third party could not rely on them), no home-made
    ways to the running kernel (a module global set at start-up, ``current_app``)."""
    wrong: list[str] = []
    for file, tree in modules(packages(scaffolded)[name]).items():
        source = ast.unparse(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and (node.module or "").startswith("kernel.")
            ):
                wrong.append(f"{file}: from {node.module} import ...")
            if isinstance(node, ast.Import):
                wrong += [
                    f"{file}: import {a.name}" for a in node.names if a.name.startswith("kernel.")
                ]
            if isinstance(node, ast.Global) and any(
                "kernel" in n or "runtime" in n or "state" in n for n in node.names
            ):
                wrong.append(f"{file}: global {node.names}")
            if isinstance(node, ast.ClassDef) and node.name in {"State", "Runtime"}:
                wrong.append(f"{file}: class {node.name}")
        for home_made in (
            "current_app.extensions",
            "current_app.kernel",
            "set_runtime",
            "running_kernel",
        ):
            if home_made in source:
                wrong.append(f"{file}: {home_made}")
    assert not wrong, f"{name}: {wrong}"
