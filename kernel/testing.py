"""pytest fixtures and helpers for plugin authors: a pytest plugin, registered by
lyo-kernel's entry point (``lyo_pytest``) wherever ``lyo-kernel[testing]`` is installed.

Choose your plugins by overriding ``lyo_plugins`` in your ``conftest.py``::

    @pytest.fixture
    def lyo_plugins():
        return [my_plugin]

then use ``lyo_app`` (a started app) and ``lyo_client`` (its test client), or
``lyo_server`` for a real Hypercorn server on a free port. ``token_plugin`` gives
you signed-in identities without an authentication plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio

from kernel.config import Settings
from kernel.events import Envelope, Event, on
from kernel.identity import Credentials, Identity
from kernel.plugins.hookspecs import hookimpl
from kernel.plugins.manifest import Manifest
from kernel.web.app import App, create_app


def make_plugin(name: str, version: str = "0.1.0", **hooks: Any) -> SimpleNamespace:
    """A plugin object named ``name`` whose hooks are the given functions.

    ``make_plugin("demo", startup=fn)`` marks ``fn`` as a hook implementation; a
    ``manifest`` is made from ``name``/``version`` unless one is given (a function
    or a :class:`Manifest`).
    """
    given = hooks.pop("manifest", None)
    if isinstance(given, Manifest):
        manifest_value = given
        hooks["manifest"] = lambda: manifest_value
    elif given is None:
        hooks["manifest"] = lambda: Manifest(name=name, version=version)
    else:
        hooks["manifest"] = given
    return SimpleNamespace(**{hook: hookimpl(fn) for hook, fn in hooks.items()})


def token_plugin(tokens: Mapping[str, Identity], name: str = "tokens") -> SimpleNamespace:
    """A plugin that authenticates fixed bearer tokens, for tests without an auth plugin.

    Unknown tokens are answered ``None`` (not this plugin's to judge).
    """

    def authenticate(credentials: Credentials) -> Identity | None:
        return tokens.get(credentials.token or "")

    return make_plugin(name, authenticate=authenticate)


class Recorder(SimpleNamespace):
    """A plugin that records the events it is delivered, in order (see :func:`recorder`)."""

    events: list[Envelope]

    def of(self, type_: str) -> list[Envelope]:
        """The recorded events of ``type_``."""
        return [envelope for envelope in self.events if envelope.type == type_]

    def payloads(self, type_: str) -> list[dict[str, Any]]:
        return [envelope.payload for envelope in self.of(type_)]

    def hold(self, type_: str) -> asyncio.Event:
        """Events of ``type_`` wait (in their handler) until the returned event is set."""
        gate = asyncio.Event()
        self.gates.setdefault(type_, []).append(gate)
        return gate

    def clear(self) -> None:
        self.events.clear()
        self.gates.clear()


def recorder(
    *types: str | type[Event], name: str = "recorder", durable: bool = False, retries: int = 0
) -> Recorder:
    """A plugin recording every event of ``types`` it receives: in-process after commit
    (``durable=False``), or through the outbox, the relay and a task (``durable=True``;
    needs a worker with Redis)::

        events = kernel.testing.recorder("learning.enrolled.v1")
        # lyo_plugins: [..., events]; then events.of("learning.enrolled.v1")
    """
    made = Recorder(events=[], gates={})

    async def record(envelope: Envelope) -> None:
        for gate in made.gates.get(envelope.type, ()):
            await gate.wait()
        made.events.append(envelope)

    handlers = [
        on(t, id=f"{name}:{t if isinstance(t, str) else t.type}", durable=durable, retries=retries)(
            record
        )
        for t in types
    ]
    made.manifest = hookimpl(lambda: Manifest(name=name, version="0.1.0"))
    made.event_handlers = hookimpl(lambda: handlers)
    return made


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


@pytest.fixture
def lyo_plugins() -> Iterable[Any]:
    """Plugin objects to load; override in your conftest."""
    return []


@pytest.fixture
def lyo_discover() -> bool:
    """Whether installed plugins (entry points) load too; off so tests are isolated."""
    return False


@pytest_asyncio.fixture
async def lyo_database_url() -> AsyncIterator[str]:
    """A fresh database for one test: in-memory SQLite, or a new PostgreSQL database
    when ``LYO_TEST_DATABASE=postgres`` (the tox ``pg`` factor sets it)."""
    if test_database_kind() != "postgres":
        yield "sqlite://:memory:"
        return
    async with temporary_database() as url:
        yield url


test_database_kind.__test__ = False  # type: ignore[attr-defined]  # not a test when imported


def test_redis_url() -> str | None:
    """``LYO_TEST_REDIS`` when the suite runs on PostgreSQL (tox's ``pg`` cells set
    both), else ``None``: SQLite runs keep the in-process broker, fan-out and cache."""
    if test_database_kind() != "postgres":
        return None
    return os.environ.get("LYO_TEST_REDIS") or None


test_redis_url.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def lyo_redis_url() -> str | None:
    """Redis for the test's app; ``None`` (the default): in-process broker, fan-out and
    cache, tasks run inside the app. Override it to return :func:`test_redis_url` to
    run on Redis when the suite does; tasks then need the ``lyo_worker`` fixture."""
    return None


@pytest.fixture
def lyo_settings(lyo_database_url: str, lyo_redis_url: str | None) -> Iterator[Settings]:
    """Settings for tests: ``LYO_ENV=test`` on a fresh database; with Redis, a Redis
    prefix of the test's own, whose keys are deleted afterwards."""
    prefix = f"lyo-test-{uuid.uuid4().hex[:12]}"
    yield Settings(
        env="test",
        database_url=lyo_database_url,
        access_log=False,
        redis_url=lyo_redis_url,
        redis_prefix=prefix,
    )
    if lyo_redis_url:
        from redis import Redis

        with Redis.from_url(lyo_redis_url) as client:
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            if keys:
                client.unlink(*keys)


@pytest_asyncio.fixture
async def lyo_app(
    lyo_settings: Settings, lyo_plugins: Iterable[Any], lyo_discover: bool
) -> AsyncIterator[App]:
    """A started app (plugins' startup hooks have run); the test can use the database."""
    app = create_app(lyo_settings, lyo_plugins, discover=lyo_discover)
    async with app.test_app():
        app.kernel.activate()
        yield app


@pytest.fixture
def lyo_client(lyo_app: App) -> Any:
    """Quart's test client for ``lyo_app``."""
    return lyo_app.test_client()


@pytest.fixture
def lyo_worker(
    lyo_settings: Settings, lyo_plugins: Iterable[Any], tmp_path: Path
) -> Iterator[None]:
    """Where tasks and event deliveries run. Without Redis (``lyo_settings.redis_url``
    unset) the app runs them in-process: nothing to start. With Redis, a real ``lyo
    worker`` process on this test's database and Redis prefix, loading the plugins of
    ``lyo_plugins`` that are modules (stand-ins such as ``token_plugin`` stay out);
    its output goes to ``worker.log`` in the test's ``tmp_path``."""
    if not lyo_settings.redis_url:
        yield
        return
    from kernel.plugins.loading import _read_manifest

    names: list[str] = []
    modules: list[str] = []
    for plugin in lyo_plugins:
        if isinstance(plugin, ModuleType):
            name = str(_read_manifest(plugin, None).name)
            names.append(name)
            if not any(
                ep.value == plugin.__name__ for ep in entry_points(group="lyo.plugins", name=name)
            ):
                modules.append(plugin.__name__)  # not installed: load it by import path
    if not names:
        raise RuntimeError("lyo_worker: lyo_plugins holds no plugin module for a worker to load")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
        # what this test can import, the worker can (rootdir and conftest folders)
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": lyo_settings.database_url,
        "LYO_REDIS_URL": lyo_settings.redis_url,
        "LYO_REDIS_PREFIX": lyo_settings.redis_prefix,
        "LYO_PLUGINS__ENABLED": ",".join(names),  # whatever else is installed stays out
        "LYO_PLUGINS__MODULES": ",".join(modules),
        "LYO_LOG_LEVEL": "WARNING",
    }
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "kernel", "worker", "--concurrency", "4"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            died = worker.poll()  # a worker that could not start: say why, not just "timeout"
            worker.terminate()  # SIGTERM: finish running tasks, then stop
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)
    if died is not None:
        tail = (tmp_path / "worker.log").read_text()[-4000:]
        raise RuntimeError(f"lyo worker exited with {died} during the test:\n{tail}")


@pytest_asyncio.fixture
async def lyo_server(
    lyo_settings: Settings, lyo_plugins: Iterable[Any], lyo_discover: bool
) -> AsyncIterator[str]:
    """A real Hypercorn server on a free port; yields its base URL."""
    app = create_app(lyo_settings, lyo_plugins, discover=lyo_discover)
    async with serve(app) as url:
        yield url
