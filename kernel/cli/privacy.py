"""Privacy: export and erase one user's personal data across every plugin.

:func:`export_user` gathers each active plugin's ``export_user`` answer (and the
kernel's own: the user's task runs) into one JSON object keyed by plugin name;
:func:`erase_user` runs each active plugin's ``erase_user`` in reverse load order and
then the kernel's own, all in one database transaction, so a plugin that fails rolls
the whole erase back. ``lyo users export ID`` and ``lyo users erase ID --yes`` run them
(see the hooks in :mod:`kernel.hookspecs`).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import click
import orjson

from kernel.data.db import transaction
from kernel.data.models import TaskRun
from kernel.errors import PluginError
from kernel.plugins.loading import PluginState

if TYPE_CHECKING:
    from kernel.kernel import Kernel

#: The key of the kernel's own part of an export.
KERNEL = "kernel"


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID) or type(value).__name__ == "UUID":  # asyncpg's too
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def dumps(data: Any, *, indent: bool = False) -> bytes:
    """An export as JSON (datetimes, dataclasses and UUIDs of any driver included)."""
    return orjson.dumps(data, default=_default, option=orjson.OPT_INDENT_2 if indent else None)


async def export_user(kernel: Kernel, user_id: str) -> dict[str, Any]:
    """``{"kernel": {...}, "<plugin>": {...}, ...}``: what each plugin stores about the
    user (plugins that store nothing are left out). Raises :class:`PluginError` naming
    a plugin whose export fails or is not JSON."""
    runs = (
        await TaskRun.filter(owner_id=user_id)
        .order_by("created_at")
        .values("id", "name", "status", "created_at", "finished_at")
    )
    exported: dict[str, Any] = {KERNEL: {"task_runs": runs}} if runs else {}
    for plugin in kernel.plugins.values():
        if plugin.state != PluginState.ACTIVE or not kernel.implements(plugin, "export_user"):
            continue
        try:
            answer = await kernel.call(plugin, "export_user", user_id=user_id, kernel=kernel)
            if answer:
                dumps(answer)
        except Exception as exc:
            raise PluginError(
                f"plugin {plugin.name!r} failed to export user {user_id}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if answer:
            exported[plugin.name] = dict(answer)
    return exported


async def erase_user(kernel: Kernel, user_id: str) -> list[str]:
    """Erase the user everywhere in one transaction; the plugins that took part, in the
    order they ran. Raises :class:`PluginError` naming the plugin that failed, after
    rolling back every plugin's erase."""
    erased: list[str] = []
    async with transaction():
        for plugin in reversed(list(kernel.plugins.values())):
            if plugin.state != PluginState.ACTIVE or not kernel.implements(plugin, "erase_user"):
                continue
            try:
                await kernel.call(plugin, "erase_user", user_id=user_id, kernel=kernel)
            except Exception as exc:
                raise PluginError(
                    f"plugin {plugin.name!r} failed to erase user {user_id}, so nothing was "
                    f"erased: {type(exc).__name__}: {exc}"
                ) from exc
            erased.append(plugin.name)
        # runs still going keep their row (the worker updates it), detached from the user
        await TaskRun.filter(owner_id=user_id, finished_at__isnull=False).delete()
        await TaskRun.filter(owner_id=user_id).update(owner_id=None)
        erased.append(KERNEL)
    return erased


@click.group("users")
def users() -> None:
    """Personal data: export or erase one user's, across every plugin."""


@users.command("export")
@click.argument("user_id")
def export_command(user_id: str) -> None:
    """Print as JSON every plugin's personal data about USER_ID."""
    from kernel.cli.context import with_kernel

    @with_kernel
    async def run(kernel: Kernel) -> dict[str, Any]:
        return await export_user(kernel, user_id)

    data = run()
    click.echo(dumps({"user_id": user_id, "data": data}, indent=True))


@users.command("erase")
@click.argument("user_id")
@click.option("--yes", is_flag=True, help="Erase without asking (required when not interactive).")
def erase_command(user_id: str, yes: bool) -> None:
    """Erase every plugin's personal data about USER_ID, all or nothing."""
    from kernel.cli.context import with_kernel

    if not yes:
        click.confirm(
            f"Erase every plugin's data about user {user_id}? This cannot be undone",
            abort=True,
        )

    @with_kernel
    async def run(kernel: Kernel) -> list[str]:
        return await erase_user(kernel, user_id)

    erased = run()
    click.echo(f"erased user {user_id} from: {', '.join(erased)}")
