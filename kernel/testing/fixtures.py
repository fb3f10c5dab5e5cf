"""The pytest fixtures: an app on a fresh database (SQLite, or PostgreSQL and Redis when
the suite asks), its test client, a real server, and a real worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio

from kernel.config import Settings
from kernel.testing.services import serve, temporary_database, test_database_kind
from kernel.web.app import App, create_app


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
    ``lyo_plugins`` that are modules (stand-ins such as ``token_plugin`` stay out),
    with this test's ``LYO_<PLUGIN>__*`` settings of those plugins (set them with
    ``monkeypatch.setenv`` before the fixture starts); its output goes to
    ``worker.log`` in the test's ``tmp_path``."""
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
    own = tuple(f"LYO_{name.upper()}__" for name in names)  # the plugins' own settings
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_") or k.startswith(own)},
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
