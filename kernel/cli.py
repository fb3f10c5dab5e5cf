"""The ``lyo`` command: serve, check, plugins, and every plugin's own commands."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

import click

from kernel.config import load_settings
from kernel.errors import KernelError
from kernel.kernel import Kernel
from kernel.privacy import users
from kernel.scaffold import new_plugin

P = ParamSpec("P")
R = TypeVar("R")

APP_FACTORY = "kernel.app:serving_app"


def with_kernel(
    func: Callable[Concatenate[Kernel, P], Awaitable[R]],
) -> Callable[P, R]:
    """Run an async CLI command with a loaded, started kernel as its first argument.

    Put it below click's decorators::

        @click.command()
        @click.argument("email")
        @with_kernel
        async def create_admin(kernel: Kernel, email: str) -> None: ...
    """

    @functools.wraps(func)
    def command(*args: P.args, **kwargs: P.kwargs) -> R:
        async def run() -> R:
            kernel = Kernel.load()
            await kernel.start()
            try:
                return await func(kernel, *args, **kwargs)
            finally:
                await kernel.stop()

        return asyncio.run(run())

    return command


def with_kernel_loaded(
    func: Callable[Concatenate[Kernel, P], Awaitable[R]],
) -> Callable[P, R]:
    """Like :func:`with_kernel`, but the kernel is only loaded: no database opened, no
    plugin started (for commands that manage the database itself)."""

    @functools.wraps(func)
    def command(*args: P.args, **kwargs: P.kwargs) -> R:
        return asyncio.run(func(Kernel.load(), *args, **kwargs))  # type: ignore[arg-type]

    return command


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
main.add_command(users)  # lyo users export|erase ID: kernel/privacy.py


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
    _announce_when_ready(host, port, f"with {server}, {workers} worker(s)")
    try:
        if server == "granian":
            _serve_granian(host, port, workers)
        else:
            _serve_hypercorn(host, port, workers, settings.hook_timeout)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _announce_when_ready(host: str, port: int, how: str) -> None:
    """Print "serving on ..." once ``/health/live`` answers (plugins started, socket
    bound), from a daemon thread: a server that fails to start never announces itself."""
    import threading
    import urllib.error
    import urllib.request

    local = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    url = f"http://{f'[{local}]' if ':' in local else local}:{port}/health/live"

    def poll() -> None:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # an answer (a host not trusted, say) is a server that is up
            except Exception:
                time.sleep(0.2)
        click.echo(f"lyo: serving on http://{host}:{port} {how}", err=True)

    threading.Thread(target=poll, name="lyo-announce", daemon=True).start()


def _serve_hypercorn(host: str, port: int, workers: int, graceful: float) -> None:
    """Serve with Hypercorn: in this process for one worker, else in spawned worker
    processes sharing the listening sockets. Either way SIGTERM/SIGINT close open
    websockets with 1001 (going away) before Hypercorn's graceful wait, which they
    would otherwise sit out (Hypercorn tells the app nothing when shutdown starts)."""
    import multiprocessing
    import signal
    from multiprocessing.connection import wait

    from hypercorn.config import Config

    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.graceful_timeout = graceful
    config.accesslog = None
    config.include_server_header = False  # the kernel's middleware sends its own
    if workers == 1:
        stop = asyncio.Event()

        async def serve_here() -> None:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            await _serve_app(config, None, stop.wait)

        asyncio.run(serve_here())
        return
    context = multiprocessing.get_context("spawn")
    sockets = config.create_sockets()
    shutdown = context.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited: the supervisor decides
    processes = [
        context.Process(target=_hypercorn_worker, args=(config, sockets, shutdown))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: shutdown.set())
    wait([process.sentinel for process in processes])  # one ended: end them all
    shutdown.set()
    for process in processes:
        process.join()
    sys.exit(max(abs(process.exitcode or 0) for process in processes))


def _hypercorn_worker(config: Any, sockets: Any, shutdown: Any) -> None:
    """One spawned worker process of ``lyo serve --workers N``."""

    async def stopped() -> None:
        # a multiprocessing Event, waited for in short slices so the thread never
        # outlives a worker whose start-up failed
        while not await asyncio.to_thread(shutdown.wait, 0.5):
            pass

    asyncio.run(_serve_app(config, sockets, stopped))


async def _serve_app(config: Any, sockets: Any, stopped: Callable[[], Awaitable[Any]]) -> None:
    from hypercorn.asyncio.run import worker_serve
    from hypercorn.utils import wrap_app

    from kernel.app import serving_app
    from kernel.ws import hypercorn_liveness

    app = serving_app()
    endpoint = app.extensions.get("lyo.ws")
    if endpoint is not None:  # protocol pings; a connection silent for idle_timeout closes
        hypercorn_liveness(config, endpoint.options)

    async def shutdown_trigger() -> None:
        await stopped()
        endpoint = app.extensions.get("lyo.ws")
        if endpoint is not None:
            await endpoint.close_all()

    wrapped = wrap_app(app, config.wsgi_max_body_size, None)  # type: ignore[arg-type]
    await worker_serve(wrapped, config, sockets=sockets, shutdown_trigger=shutdown_trigger)


def _serve_granian(host: str, port: int, workers: int) -> None:
    try:
        from granian import Granian
        from granian.constants import Interfaces
    except ImportError:
        raise click.ClickException(
            "granian is not installed: pip install 'lyo-kernel[granian]'"
        ) from None
    # ASGI, not ASGINL: the app needs lifespan events to run the plugins' startup hooks
    Granian(
        APP_FACTORY,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
    ).serve()


@main.command()
def check() -> None:
    """Validate configuration and plugins without serving: everything ``serve`` checks
    before it listens, blueprints and routes included. Unknown ``LYO_<PLUGIN>__*``
    variables fail it in staging and production."""
    from kernel.app import create_app

    kernel = create_app().kernel  # builds and mounts every blueprint, as serve does
    active = [p.name for p in kernel.plugins.values() if p.usable]
    click.echo(
        f"ok: {kernel.settings.env}, {len(active)} plugin(s) loadable"
        + (f": {', '.join(active)}" if active else "")
    )
    failed = [p for p in kernel.plugins.values() if p.state in ("failed", "skipped")]
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
    from kernel.app import create_app

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
    from kernel import migrations

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
@with_kernel_loaded
async def makemigrations(kernel: Kernel, plugin: str, name: str) -> None:
    """Generate PLUGIN's next migration from its models (PostgreSQL), into the plugin's
    source folder (installed editable: pip install -e), and print its path."""
    from kernel import migrations

    folder = migrations.writable_location(kernel, plugin) / plugin
    created = await migrations.make(kernel, plugin, name)
    click.echo(f"{plugin}: {f'created {folder / created}' if created else 'no changes'}")


@main.command("migrations")
@with_kernel_loaded
async def migrations_command(kernel: Kernel) -> None:
    """Show applied and pending migrations per plugin."""
    from kernel import migrations

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


def _run_until_signalled(
    work: Callable[[Kernel, asyncio.Event], Awaitable[None]], queues: Sequence[str] = ()
) -> None:
    """Start a kernel (a worker of ``queues``, if any), run ``work`` until SIGTERM/SIGINT,
    then stop gracefully."""
    import signal

    async def run() -> None:
        kernel = Kernel.load()
        kernel.worker_queues = tuple(queues)
        if not kernel.settings.redis_url:
            raise click.ClickException(
                "workers need LYO_REDIS_URL; with the in-memory broker (development) tasks "
                "run inside the API process"
            )
        await kernel.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await work(kernel, stop)
        finally:
            await kernel.stop()

    asyncio.run(run())


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

    _run_until_signalled(work, chosen)


@main.command()
def scheduler() -> None:
    """Enqueue the periodic tasks plugins declare, on time."""

    async def work(kernel: Kernel, stop: asyncio.Event) -> None:
        click.echo("lyo: scheduler running", err=True)
        await kernel.tasks.run_scheduler(stop)

    _run_until_signalled(work)


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
