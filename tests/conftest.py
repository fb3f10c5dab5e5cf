"""Kernel tests. The kernel's own pytest plugin (kernel.testing) gives the fixtures."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from kernel import Kernel, Settings
from kernel.testing import temporary_database


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set what they need; a developer's LYO_* variables never leak in, and
    ad-hoc Settings() use a throw-away in-memory database."""
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LYO_DATABASE_URL", "sqlite://:memory:")


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str]:
    """One PostgreSQL database for the session with the kernel's migrations applied,
    for tests of production behaviour (which refuses SQLite and pending migrations)."""
    from kernel.data import migrations

    runner = asyncio.Runner()
    database = temporary_database()
    url = runner.run(database.__aenter__())
    kernel = Kernel.load(Settings(env="test", database_url=url), discover=False)
    runner.run(migrations.upgrade(kernel))
    try:
        yield url
    finally:
        runner.run(database.__aexit__(None, None, None))
        runner.close()


@pytest.fixture
def production(migrated_postgres: str) -> Any:
    """Make production Settings on the migrated database: ``production(**overrides)``."""

    def make(**overrides: Any) -> Settings:
        values = {
            "env": "production",
            "database_url": migrated_postgres,
            "secret_key": "k" * 40,
            "redis_url": "redis://127.0.0.1:6379/0",
            "access_log": False,
            **overrides,
        }
        return Settings(**values)

    return make


@pytest_asyncio.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, whatever LYO_TEST_DATABASE says (real workers,
    migrations and production settings need PostgreSQL)."""
    async with temporary_database() as url:
        yield url
