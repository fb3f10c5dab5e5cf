"""``lyo new-plugin NAME``: a new third-party plugin package, with tests that pass.

The files come from ``kernel/cli/templates/plugin/`` (``string.Template``: ``$name``,
``$package``, ...; ``package/`` becomes ``lyo_<name>/``). The first migration is not a
template: it is generated from the new plugin's models by aerich, exactly as
``lyo makemigrations`` would, offline (no database needed), so the model state aerich
records in it always matches the models.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from string import Template

import click

from kernel.names import name_problem
from kernel.version import __version__

TEMPLATES = Path(__file__).resolve().parent / "templates" / "plugin"
#: Any PostgreSQL URL will do: migrations are generated offline, nothing connects.
OFFLINE_DATABASE = "postgres://lyo@127.0.0.1:5432/lyo"


def check_name(name: str) -> str:
    """``name`` if it can name a plugin, else a :class:`click.BadParameter` saying why."""
    problem = name_problem(name)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="NAME")
    return name


def kernel_range(version: str = __version__) -> str:
    """The kernel versions a new plugin declares it works with: this minor series
    before 1.0, this major series after."""
    major, minor = (int(part) for part in version.split(".")[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else str(major + 1)
    return f">={major}.{minor},<{upper}"


def render(name: str, target: Path) -> list[Path]:
    """Write the templates for plugin ``name`` into ``target`` (which must not exist)."""
    package = f"lyo_{name}"
    values = {
        "name": name,
        "upper": name.upper(),
        "package": package,
        "distribution": f"lyo-{name}",
        "kernel_range": kernel_range(),
    }
    written = []
    for source in sorted(TEMPLATES.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATES).with_suffix("")
        if relative.parts[0] == "package":
            relative = Path(package, *relative.parts[1:])
        elif relative == Path("tests/test_plugin.py"):
            relative = Path(f"tests/test_{name}.py")
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(source.read_text()).substitute(values))
        written.append(path)
    return written


async def make_first_migration(name: str, target: Path) -> str | None:
    """Generate the plugin's first migration from its models into
    ``lyo_<name>/migrations/<name>/``, importing the new package from ``target``."""
    from kernel.config import Settings
    from kernel.data import migrations
    from kernel.kernel import Kernel

    package = f"lyo_{name}"
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        module = importlib.import_module(f"{package}.plugin")
        settings = Settings(env="development", database_url=OFFLINE_DATABASE)
        kernel = Kernel.load(settings, [module], discover=False)
        return await migrations.make(kernel, name, "init")
    finally:
        sys.path.remove(str(target))
        for loaded in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[loaded]


def create(name: str, target: Path) -> list[Path]:
    """Make plugin ``name`` in ``target``: the files, then its first migration."""
    check_name(name)
    if target.exists():
        raise click.ClickException(f"{target} already exists; choose another --directory")
    written = render(name, target)
    created = asyncio.run(make_first_migration(name, target))
    if created:
        written.append(target / f"lyo_{name}" / "migrations" / name / created)
    return written


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to create the package [./lyo-NAME].",
)
def new_plugin(name: str, directory: Path | None) -> None:
    """Create a third-party plugin package NAME: a model with its migration, a task,
    an event handler, a websocket topic, a setting, a permission, routes and tests."""
    check_name(name)
    target = directory if directory is not None else Path(f"lyo-{name}")
    written = create(name, target)
    click.echo(f"created {target}/ ({len(written)} files): plugin {name!r}, module lyo_{name}")
    click.echo("next:")
    click.echo(f"  pip install -e './{target}[test]'")
    click.echo(f"  pytest {target}/tests")
