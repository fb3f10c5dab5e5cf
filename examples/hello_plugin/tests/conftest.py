"""The kernel's pytest plugin (kernel.testing) gives lyo_app, lyo_client and lyo_server;
choosing the plugins under test is most of what a plugin author's conftest does.

By default everything runs in-process: SQLite in memory, the in-memory broker (tasks
and event deliveries run inside the app). With ``LYO_TEST_DATABASE=postgres`` and
``LYO_TEST_REDIS=redis://...`` (tox's ``pg`` cells) each test gets a fresh PostgreSQL
database with the migrations applied, tasks go through Redis streams to a real
``lyo worker`` (the ``lyo_worker`` fixture) and websocket messages through Redis pub/sub.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import pytest_asyncio
from lyo_hello import plugin as hello

from kernel import Identity, Settings
from kernel.testing import test_database_kind, token_plugin

greeter = Identity(id="ada", permissions=frozenset({"hello:greet"}), kind="user")
coach = Identity(id="grace", permissions=frozenset({"hello:cheer"}), kind="user")
TOKENS = {"ada-token": greeter, "grace-token": coach}
REDIS_URL = os.environ.get("LYO_TEST_REDIS") if test_database_kind() == "postgres" else None


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's LYO_* variables never leak in; ad-hoc Settings() stay in memory."""
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LYO_DATABASE_URL", "sqlite://:memory:")


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [hello, token_plugin(TOKENS)]


@pytest_asyncio.fixture
async def lyo_settings(lyo_database_url: str) -> AsyncIterator[Settings]:
    prefix = f"lyo-test-hello-{uuid.uuid4().hex[:12]}"
    yield Settings(
        env="test",
        database_url=lyo_database_url,
        access_log=False,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
    )
    if REDIS_URL:
        from redis.asyncio import Redis

        client = Redis.from_url(REDIS_URL)
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


@pytest.fixture
def lyo_worker(lyo_settings: Settings, tmp_path: Path) -> Iterator[None]:
    """Where tasks and event deliveries run. In-process (nothing to start) without
    Redis; with Redis a real ``lyo worker`` on this test's database and Redis prefix,
    loading this plugin only. Its log is ``worker.log`` in the test's tmp_path."""
    if not lyo_settings.redis_url:
        yield
        return
    env = {
        **os.environ,
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": lyo_settings.database_url,
        "LYO_REDIS_URL": lyo_settings.redis_url,
        "LYO_REDIS_PREFIX": lyo_settings.redis_prefix,
        "LYO_PLUGINS__ENABLED": "hello",  # whatever else is installed stays out
        "LYO_LOG_LEVEL": "WARNING",
    }
    if not entry_points(group="lyo.plugins", name="hello"):  # not pip-installed
        env["LYO_PLUGINS__MODULES"] = "lyo_hello.plugin"
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
            worker.terminate()  # SIGTERM: finish running tasks, then stop
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.wait(5)
