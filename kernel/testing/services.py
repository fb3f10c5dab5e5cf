"""What tests run against: fresh PostgreSQL databases, servers on free ports, and the
``lyo`` command on a database (migrations driven as an operator would)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from kernel.web.app import App

#: The PostgreSQL server tests create their databases on.
POSTGRES_SERVER = os.environ.get("LYO_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def test_database_kind() -> str:
    """``sqlite`` or ``postgres``: what ``LYO_TEST_DATABASE`` asks the suite to run on."""
    return os.environ.get("LYO_TEST_DATABASE", "sqlite")


@asynccontextmanager
async def temporary_database(server: str = POSTGRES_SERVER) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database; yields its URL and drops it afterwards."""
    from kernel.data.db import connect_raw

    name = f"lyo_test_{uuid.uuid4().hex[:12]}"
    admin = await connect_raw(f"{server}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{server}/{name}"
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(
    url: str,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    *,
    path: str = "/health/ready",
    timeout: float = 60.0,
) -> None:
    """Wait for a server started as a process (``lyo serve``) to answer 200 at
    ``url + path``; fail with the end of its ``log`` if ``proc`` exits or time runs out."""
    import time
    import urllib.error
    import urllib.request

    def tail() -> str:
        return log.read_text()[-4000:] if log is not None and log.exists() else ""

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}:\n{tail()}")
        # refused, reset, or an error status (HTTPError is an OSError)
        with contextlib.suppress(OSError), opener.open(url + path, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"{url}{path} did not answer 200 in {timeout:g} s:\n{tail()}")


@asynccontextmanager
async def serve(app: App, port: int | None = None) -> AsyncIterator[str]:
    """Serve ``app`` with Hypercorn on 127.0.0.1; yields the base URL."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    config = Config()
    port = port or free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.include_server_header = False  # as `lyo serve`
    endpoint = app.extensions.get("lyo.ws")
    if endpoint is not None:  # as `lyo serve`: protocol pings, silent connections closed
        from kernel.web.ws import hypercorn_liveness

        hypercorn_liveness(config, endpoint.options)
    stop = asyncio.Event()
    task = asyncio.create_task(hypercorn_serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        for _ in range(500):  # until the plugins have started (or start-up failed)
            if task.done():
                task.result()
                raise RuntimeError("the server stopped during start-up")
            if app.kernel.started:
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    break
            await asyncio.sleep(0.02)
        else:
            raise TimeoutError("the server did not start in 10 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        endpoint = app.extensions.get("lyo.ws")
        if endpoint is not None:
            await endpoint.close_all()  # going away (1001), as `lyo serve` does
        stop.set()
        await task


test_database_kind.__test__ = False  # type: ignore[attr-defined]  # not a test when imported


def test_redis_url() -> str | None:
    """``LYO_TEST_REDIS`` when the suite runs on PostgreSQL (tox's ``pg`` cells set
    both), else ``None``: SQLite runs keep the in-process broker, fan-out and cache."""
    if test_database_kind() != "postgres":
        return None
    return os.environ.get("LYO_TEST_REDIS") or None


test_redis_url.__test__ = False  # type: ignore[attr-defined]


async def lyo_command(
    url: str, *args: str, plugins: str, modules: str = "", env: Mapping[str, str] | None = None
) -> str:
    """Run ``lyo ARGS`` (``python -m kernel``) on the database at ``url`` with only the
    plugins named in ``plugins`` (comma-separated) enabled, as an operator would; fails
    with its output unless it exits 0, else returns the output. ``modules`` loads plugins
    that are not installed by import path (``LYO_PLUGINS__MODULES``); ``env`` adds
    settings (``{"LYO_REDIS_URL": ...}``). Other ``LYO_*`` variables of this process
    stay out."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LYO_")}
    environment |= {"LYO_ENV": "test", "LYO_DATABASE_URL": url, "LYO_PLUGINS__ENABLED": plugins}
    if modules:
        environment["LYO_PLUGINS__MODULES"] = modules
    environment |= env or {}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kernel",
        *args,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await process.communicate())[0].decode()
    assert process.returncode == 0, f"lyo {' '.join(args)} exited {process.returncode}:\n{output}"
    return output


async def table_names(url: str) -> set[str]:
    """The tables of the PostgreSQL database at ``url`` (schema ``public``)."""
    from kernel.data.db import connect_raw

    connection = await connect_raw(url)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await connection.close()


async def check_migrations(
    plugin: str, tables: Iterable[str], *, plugins: str = "", modules: str = ""
) -> None:
    """A plugin's shipped migrations, driven through ``lyo`` on a fresh PostgreSQL
    database as an operator would: all applied (``tables`` exist), all of the plugin's
    undone (``tables`` gone, the other apps' kept), applied again; and the newest
    migration in step with the models (``lyo makemigrations PLUGIN --check``).

    ``plugins``: what to enable (default: ``plugin`` alone; name the plugins it needs
    first); ``modules``: import paths of plugins that are not installed."""
    expected, enabled = set(tables), plugins or plugin
    async with temporary_database() as url:

        async def lyo(*args: str) -> str:
            return await lyo_command(url, *args, plugins=enabled, modules=modules)

        assert f"{plugin}: applied 0_" in await lyo("migrate")
        assert expected <= await table_names(url), "migrate did not create every table"
        shipped = re.search(rf"^{plugin}: (\d+) applied, 0 pending$", await lyo("migrations"), re.M)
        assert shipped and int(shipped[1]) > 0, "lyo migrations: not all applied"

        undone = await lyo("migrate", "--plugin", plugin, "--downgrade", "0")
        assert re.search(rf"^{plugin}: undone .*\b0_", undone, re.M), undone  # newest first
        left = await table_names(url)
        assert not expected & left, f"left after downgrading: {expected & left}"
        assert "aerich" in left, "the other apps' migrations must stay"
        assert f"{plugin}: 0 applied, {shipped[1]} pending" in await lyo("migrations")

        again = await lyo("migrate")
        assert "kernel: applied nothing" in again and f"{plugin}: applied 0_" in again
        assert expected <= await table_names(url)

        check = await lyo("makemigrations", plugin, "--check")
        assert f"{plugin}: no changes" in check, f"models changed: lyo makemigrations {plugin}"
