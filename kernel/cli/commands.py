"""The ``lyo`` command: serve, check, plugins, and every plugin's own commands."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from typing import Any

import click

from kernel.cli.context import run_until_signalled, with_kernel, with_kernel_loaded
from kernel.cli.privacy import users
from kernel.cli.scaffold import new_plugin
from kernel.cli.serve import announce_when_ready, serve_granian, serve_hypercorn
from kernel.config import load_settings
from kernel.errors import KernelError
from kernel.kernel import Kernel
from kernel.plugins.loading import PluginState


class LyoGroup(click.Group):
    """Built-in commands, plus one group per plugin that has CLI commands.

    Plugins are loaded only when a command that is not built in is asked for, and a
    broken plugin setup never hides the built-in commands (``lyo check`` reports it).
    """

    def _plugin_groups(self) -> dict[str, click.Group]:
        if not hasattr(self, "_groups"):
            self._groups: dict[str, click.Group] = {}
            try:
                kernel = Kernel.load()
            except KernelError:
                return self._groups
            for plugin in kernel.usable():
                commands = kernel.call_sync(plugin, "cli_commands")
                if commands:
                    group = click.Group(plugin.name, help=f"Commands of plugin {plugin.name}.")
                    for command in commands:
                        group.add_command(command)
                    self._groups[plugin.name] = group
        return self._groups

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *sorted(self._plugin_groups())]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._plugin_groups().get(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KernelError as exc:
            click.echo(f"lyo: {exc.detail}", err=True)
            ctx.exit(2)


@click.group(cls=LyoGroup)
@click.version_option(package_name="lyo-kernel", prog_name="lyo")
def main() -> None:
    """Lyo: a plugin-based application kernel for learning platforms."""


main.add_command(new_plugin)
main.add_command(users)  # lyo users export|erase ID: kernel/cli/privacy.py


@main.command()
@click.option("--host", default=None, help="Interface to bind [LYO_HOST, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to bind [LYO_PORT, 8000].")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option(
    "--server",
    type=click.Choice(["hypercorn", "granian"]),
    default="hypercorn",
    show_default=True,
    help="granian needs the extra: pip install 'lyo-kernel[granian]'.",
)
def serve(host: str | None, port: int | None, workers: int, server: str) -> None:
    """Serve the API."""
    settings = load_settings()
    Kernel.load(settings)  # fail here, with the message, before any worker starts
    host = host or settings.host
    port = port if port is not None else settings.port
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="lyo-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    announce_when_ready(host, port, f"with {server}, {workers} worker(s)")
    try:
        if server == "granian":
            serve_granian(host, port, workers)
        else:
            serve_hypercorn(host, port, workers, settings.hook_timeout)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@main.command()
def check() -> None:
    """Validate configuration and plugins without serving: everything ``serve`` checks
    before it listens, blueprints and routes included. Unknown ``LYO_<PLUGIN>__*``
    variables fail it in staging and production."""
    from kernel.web.app import create_app

    kernel = create_app().kernel  # builds and mounts every blueprint, as serve does
    active = [p.name for p in kernel.plugins.values() if p.usable]
    click.echo(
        f"ok: {kernel.settings.env}, {len(active)} plugin(s) loadable"
        + (f": {', '.join(active)}" if active else "")
    )
    failed = [
        p for p in kernel.plugins.values() if p.state in (PluginState.FAILED, PluginState.SKIPPED)
    ]
    for plugin in failed:
        click.echo(f"  {plugin.name}: {plugin.state}: {plugin.error}", err=True)
    strict = kernel.settings.env in ("staging", "production")
    for name, variables in kernel.unknown_variables.items():
        click.echo(
            f"  {name}: {', '.join(variables)} name no setting of the plugin"
            + (" (refused in staging and production)" if strict else " (ignored)"),
            err=True,
        )
    if failed or (strict and kernel.unknown_variables):
        sys.exit(1)


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_command(as_json: bool) -> None:
    """List plugins with version, state, error, hooks and routes."""
    from kernel.web.app import create_app

    async def describe() -> list[dict[str, Any]]:
        kernel = create_app().kernel  # mounting the blueprints tells the routes
        await kernel.start()
        try:
            return kernel.describe_plugins()
        finally:
            await kernel.stop()

    rows = asyncio.run(describe())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        line = f"{row['name']:<16} {row['version']:<10} {row['state']:<9}"
        if row["degraded"]:
            line += f" degraded: {row['degraded']}"
        if row["error"]:
            line += f" error: {row['error']}"
        click.echo(line)
        click.echo(f"  hooks:  {', '.join(row['hooks']) or '-'}")
        for route in row["routes"]:
            click.echo(f"  route:  {route}")
        for name in row["tasks"]:
            click.echo(f"  task:   {name}")
        for name in row["event_handlers"]:
            click.echo(f"  handler: {name}")
        if "authorize_topic" in row["hooks"]:
            click.echo(f"  topics: {row['name']}:* (authorize_topic)")


@main.command()
@click.option("--plugin", "only", default=None, help="Only this plugin (or 'kernel').")
@click.option(
    "--downgrade",
    "down_to",
    type=int,
    default=None,
    help="Undo migrations down to this version number (-1: the last one); with no "
    "--plugin, undo every migration, plugins in reverse dependency order.",
)
@with_kernel_loaded
async def migrate(kernel: Kernel, only: str | None, down_to: int | None) -> None:
    """Apply pending migrations: the kernel, then each plugin in dependency order."""
    from kernel.data import migrations

    if down_to is None:
        done = await migrations.upgrade(kernel, only)
        verb = "applied"
    else:
        done = await migrations.downgrade(kernel, only, down_to)
        verb = "undone"
    for app, files in done.items():
        click.echo(f"{app}: {verb} {', '.join(files) if files else 'nothing'}")


@main.command()
@click.argument("plugin")
@click.option("--name", default="update", show_default=True, help="Label of the migration.")
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 if the models need a migration (CI)."
)
@with_kernel_loaded
async def makemigrations(kernel: Kernel, plugin: str, name: str, check: bool) -> None:
    """Generate PLUGIN's next migration from its models (PostgreSQL), into the plugin's
    source folder (installed editable: pip install -e), and print its path. With
    --check, only say whether the committed migrations match the models (any install)."""
    from kernel.data import migrations

    if check:
        if await migrations.make(kernel, plugin, name, check=True):
            click.echo(f"{plugin}: the models changed; run lyo makemigrations {plugin}")
            raise click.exceptions.Exit(1)
        click.echo(f"{plugin}: no changes")
        return
    folder = migrations.writable_location(kernel, plugin) / plugin
    created = await migrations.make(kernel, plugin, name)
    click.echo(f"{plugin}: {f'created {folder / created}' if created else 'no changes'}")


@main.command("migrations")
@with_kernel_loaded
async def migrations_command(kernel: Kernel) -> None:
    """Show applied and pending migrations per plugin."""
    from kernel.data import migrations

    for app, state in (await migrations.status(kernel)).items():
        click.echo(f"{app}: {len(state['applied'])} applied, {len(state['pending'])} pending")
        for name in state["pending"]:
            click.echo(f"  pending: {name}")


@main.group()
def db() -> None:
    """Development database commands."""


@db.command()
@with_kernel_loaded
async def reset(kernel: Kernel) -> None:
    """Recreate the SQLite development database from the models."""
    from pathlib import Path

    url = kernel.settings.database_url
    if not url.startswith("sqlite"):
        raise click.ClickException(
            "lyo db reset only recreates SQLite databases; on PostgreSQL use "
            "`lyo migrate --downgrade -1` and `lyo migrate`"
        )
    path = url.removeprefix("sqlite://")
    if path != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)  # noqa: ASYNC240 - a CLI, nothing waits
    await kernel.open_database()
    await kernel.db.close()  # type: ignore[union-attr]
    click.echo(f"recreated {path}")


@main.command()
@click.option("--queues", default="high,default,low", show_default=True, help="Queues to consume.")
@click.option("--concurrency", type=int, default=None, help="[LYO_WORKER_CONCURRENCY, 10]")
def worker(queues: str, concurrency: int | None) -> None:
    """Run a Taskiq worker with every plugin loaded and started."""
    from kernel.tasks import QUEUES

    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    if not chosen or any(q not in QUEUES for q in chosen):
        raise click.BadParameter(f"choose from {', '.join(QUEUES)}", param_hint="--queues")

    async def work(kernel: Kernel, stop: asyncio.Event) -> None:
        limit = concurrency or kernel.settings.worker_concurrency
        click.echo(f"lyo: worker consuming {', '.join(chosen)} ({limit} at a time)", err=True)
        await asyncio.gather(
            kernel.tasks.run_worker(chosen, limit, stop), kernel.events.run_relay(stop)
        )

    run_until_signalled(work, chosen)


@main.command()
def scheduler() -> None:
    """Enqueue the periodic tasks plugins declare, on time."""

    async def work(kernel: Kernel, stop: asyncio.Event) -> None:
        click.echo("lyo: scheduler running", err=True)
        await kernel.tasks.run_scheduler(stop)

    run_until_signalled(work)


@main.group()
def events() -> None:
    """The event outbox: dead letters and replays."""


@events.command("dead")
@with_kernel
async def events_dead(kernel: Kernel) -> None:
    """List deliveries that failed their last try."""
    letters = await kernel.events.dead()
    for letter in letters:
        click.echo(
            f"{letter.id}  {letter.handler_id}  {letter.type}  event {letter.event_id}  "
            f"after {letter.attempts} tries: {letter.error}"
        )
    click.echo(f"{len(letters)} dead letter(s)")


@events.command("replay")
@click.argument("ids", nargs=-1, type=int)
@with_kernel
async def events_replay(kernel: Kernel, ids: tuple[int, ...]) -> None:
    """Deliver dead letters again (all of them, or the IDS given)."""
    count = await kernel.events.replay(list(ids) or None)
    click.echo(f"replayed {count} dead letter(s)")
