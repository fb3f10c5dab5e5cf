"""Migrations with aerich: the kernel's in ``migrations/kernel/``, each plugin's in
``<plugin package>/migrations/<plugin>/``.

aerich writes dialect-specific SQL, so migrations target PostgreSQL; the SQLite
development database is built from the models instead (``lyo db reset``). aerich also
ignores ``Meta.constraints``: CHECK constraints are written as SQL in the migration.

aerich keeps its state in class attributes and initialises Tortoise in the calling
task, so each operation here runs on its own, one app at a time, in a task with a
fresh context, never touching the serving process's database context.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import site
import sys
import sysconfig
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kernel.data.db import KERNEL_APP, connect_raw, prepare_models, tortoise_config
from kernel.errors import ConfigError, PluginError

if TYPE_CHECKING:
    from kernel.kernel import Kernel

T = TypeVar("T")

#: pg_advisory_lock key held while migrating ("lyo-migr" as an int64).
ADVISORY_LOCK_KEY = 0x6C796F2D6D696772
#: aerich's own table, which its ``upgrade`` expects to exist (``init-db`` makes it).
AERICH_TABLE = """
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
)"""
#: The kernel's migrations: top-level ``migrations/`` in a checkout (editable installs
#: too); an installed wheel carries them as ``kernel/_migrations`` (see pyproject.toml).
KERNEL_MIGRATIONS = next(
    (
        path
        for path in (
            Path(__file__).resolve().parents[2] / "migrations",  # kernel/data/ -> the checkout
            Path(__file__).resolve().parents[1] / "_migrations",  # kernel/_migrations
        )
        if (path / KERNEL_APP).is_dir()
    ),
    Path(__file__).resolve().parents[2] / "migrations",
)


def location(kernel: Kernel, app: str) -> Path:
    """The folder holding ``app``'s migration folder (aerich appends the app name)."""
    if app == KERNEL_APP:
        return KERNEL_MIGRATIONS
    module = kernel.plugin(app).module
    package = sys.modules[module.__name__.rpartition(".")[0] or module.__name__]
    return Path(package.__file__ or "").resolve().parent / "migrations"


def writable_location(kernel: Kernel, app: str) -> Path:
    """:func:`location`, refused (``PluginError``) when it is inside an installed
    package (site-packages): migrations belong in the plugin's source, so it must be
    installed editable."""
    if app != KERNEL_APP and app not in kernel.plugins:
        raise PluginError(f"{app!r} is not a loaded plugin")
    folder = location(kernel, app)
    if installed_as_package(folder):
        raise PluginError(
            f"{app!r} is installed as a package ({folder.parent}): migrations would be "
            "written there and lost with the next install. Install the plugin from its "
            "source folder in editable mode (pip install -e ./your-plugin) and run "
            "makemigrations again."
        )
    return folder


def installed_as_package(folder: Path) -> bool:
    """Whether ``folder`` lies in an installed package (site-packages), not a source
    tree."""
    paths = sysconfig.get_paths()
    roots = {
        Path(p).resolve()
        for p in (*site.getsitepackages(), site.getusersitepackages(), paths["purelib"],
                  paths["platlib"])
    }  # fmt: skip
    inside = any(folder.resolve().is_relative_to(root) for root in roots)
    return inside or bool({"site-packages", "dist-packages"} & set(folder.parts))


def app_order(kernel: Kernel) -> list[str]:
    """The kernel, then every usable plugin with models, in dependency order."""
    return [KERNEL_APP, *kernel.model_modules()]


def _config(kernel: Kernel) -> dict[str, Any]:
    apps = {KERNEL_APP: ["kernel.data.models", "aerich.models"], **kernel.model_modules()}
    for app, modules in apps.items():
        prepare_models(app, [m for m in modules if m != "aerich.models"])
    return tortoise_config(kernel.settings.database_url, apps, pool_size=2)


async def _isolated(func: Callable[[], Awaitable[T]]) -> T:
    """Run ``func`` in a task with an empty context, so aerich's Tortoise.init and
    close_connections see nothing of the caller's database."""
    return await asyncio.create_task(_wrapped(func), context=contextvars.Context())


async def _wrapped(func: Callable[[], Awaitable[T]]) -> T:
    from tortoise import Tortoise

    try:
        return await func()
    finally:
        await Tortoise.close_connections()


def _require_postgres(kernel: Kernel) -> None:
    if kernel.settings.database_url.startswith("sqlite"):
        raise ConfigError(
            "migrations target PostgreSQL (aerich writes dialect-specific SQL); "
            "on SQLite the schema is built from the models: run `lyo db reset`"
        )


async def _command(kernel: Kernel, app: str) -> Any:
    from aerich import Command

    command = Command(_config(kernel), app=app, location=str(location(kernel, app)))
    await command.init()
    return command


async def status(kernel: Kernel) -> dict[str, dict[str, list[str]]]:
    """``{app: {"applied": [...], "pending": [...]}}`` for the kernel and each plugin."""
    _require_postgres(kernel)

    async def run() -> dict[str, dict[str, list[str]]]:
        from aerich.models import Aerich
        from tortoise import Tortoise
        from tortoise.exceptions import OperationalError

        await Tortoise.init(config=_config(kernel))
        result = {}
        for app in app_order(kernel):
            files = sorted(
                (p.name for p in (location(kernel, app) / app).glob("[0-9]*_*.py")),
                key=lambda name: int(name.split("_", 1)[0]),
            )
            applied: set[str] = set()
            with contextlib.suppress(OperationalError):  # no aerich table yet: none applied
                rows = await Aerich.filter(app=app).values_list("version", flat=True)
                applied = {str(v) for v in rows}
            result[app] = {
                "applied": [f for f in files if f in applied],
                "pending": [f for f in files if f not in applied],
            }
        return result

    return await _isolated(run)


async def upgrade(kernel: Kernel, only: str | None = None) -> dict[str, list[str]]:
    """Apply pending migrations of the kernel and every plugin (or of ``only``), in
    dependency order, under a PostgreSQL advisory lock. Returns what was applied."""
    _require_postgres(kernel)
    apps = app_order(kernel)
    if only is not None and only not in apps:
        raise PluginError(f"{only!r} is not an active plugin with models ({', '.join(apps)})")

    async def run() -> dict[str, list[str]]:
        applied: dict[str, list[str]] = {}
        async with _advisory_lock(kernel) as connection:
            await connection.execute(AERICH_TABLE)
            for app in [only] if only else apps:
                if not (location(kernel, app) / app).is_dir():
                    continue
                command = await _command(kernel, app)
                applied[app] = await command.upgrade(run_in_transaction=True)
        return applied

    return await _isolated(run)


async def downgrade(kernel: Kernel, app: str | None, version: int = -1) -> dict[str, list[str]]:
    """Undo migrations. With ``app``: down to ``version`` (-1: only the last one).
    Without: every migration of every app, plugins in reverse dependency order,
    the kernel last."""
    _require_postgres(kernel)
    apps = [app] if app else list(reversed(app_order(kernel)))

    async def run() -> dict[str, list[str]]:
        from aerich.models import Aerich

        undone: dict[str, list[str]] = {}
        async with _advisory_lock(kernel):
            for name in apps:
                command = await _command(kernel, name)
                if app is None:
                    first = await Aerich.filter(app=name).order_by("id").first()
                    if first is None:
                        continue
                    target = int(first.version.split("_", 1)[0])
                else:
                    target = version
                undone[name] = await command.downgrade(target, delete=False)
        return undone

    return await _isolated(run)


async def make(
    kernel: Kernel, app: str, name: str = "update", *, check: bool = False
) -> str | None:
    """Generate ``app``'s next migration from its models; the first one creates the
    tables. Returns the new file name, or ``None`` when the models did not change.
    ``check`` only tells: the file is removed again, so it works on installed packages."""
    _require_postgres(kernel)
    if app not in app_order(kernel):
        raise PluginError(f"{app!r} is not an active plugin with models")
    if not check:
        writable_location(kernel, app)

    async def run() -> str | None:
        from aerich import Command
        from aerich.migrate import Migrate

        (location(kernel, app) / app).mkdir(parents=True, exist_ok=True)
        command = Command(_config(kernel), app=app, location=str(location(kernel, app)))
        # aerich keeps the last models state in a class attribute: start from empty (so
        # the first migration creates this app's tables, with a downgrade that drops
        # them), then let init read the state recorded in the newest migration file.
        Migrate._last_version_content = {}
        await command.init(offline=True)
        created: str | None = await command.migrate(name, no_input=True, offline=True)
        if created and check:
            (location(kernel, app) / app / created).unlink()
        return created or None

    return await _isolated(run)


class _advisory_lock:
    """Hold a session-level PostgreSQL advisory lock on a dedicated connection, so
    processes starting together never migrate twice: the second waits, then finds
    nothing pending."""

    def __init__(self, kernel: Kernel) -> None:
        self.url = kernel.settings.database_url

    async def __aenter__(self) -> Any:
        self.connection = await connect_raw(self.url)
        await self.connection.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        return self.connection

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.connection.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
        finally:
            await self.connection.close()
