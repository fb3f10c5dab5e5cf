"""The migration shipped in ``lyo_hello/migrations/hello/``, driven through the ``lyo``
command as an operator would: up, down, up again, and in step with the models.
PostgreSQL only (aerich writes PostgreSQL SQL; SQLite is built from the models)."""

from __future__ import annotations

import asyncio
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import lyo_hello
import pytest

from kernel import testing

pytestmark = pytest.mark.skipif(
    testing.test_database_kind() != "postgres", reason="migrations target PostgreSQL"
)


async def lyo(url: str, *args: str) -> str:
    env = {
        **os.environ,
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": url,
        "LYO_PLUGINS__ENABLED": "hello",
    }
    if not entry_points(group="lyo.plugins", name="hello"):
        env["LYO_PLUGINS__MODULES"] = "lyo_hello.plugin"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kernel",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await process.communicate())[0].decode()
    assert process.returncode == 0, output
    return output


async def tables(url: str) -> set[str]:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await connection.close()


async def test_upgrade_downgrade_and_upgrade_again() -> None:
    async with testing.temporary_database() as url:
        first = await lyo(url, "migrate")
        assert "hello: applied 0_" in first and "hello_cheer" in await tables(url)
        assert "hello: 1 applied, 0 pending" in await lyo(url, "migrations")

        undone = await lyo(url, "migrate", "--plugin", "hello", "--downgrade", "-1")
        assert "hello: undone 0_" in undone
        assert "hello_cheer" not in await tables(url)
        assert "hello: 0 applied, 1 pending" in await lyo(url, "migrations")

        again = await lyo(url, "migrate")
        assert "kernel: applied nothing" in again and "hello: applied 0_" in again
        assert "hello_cheer" in await tables(url)


async def test_the_migration_matches_the_models() -> None:
    folder = Path(lyo_hello.__file__).parent / "migrations" / "hello"
    before = set(folder.glob("*.py"))
    async with testing.temporary_database() as url:
        output = await lyo(url, "makemigrations", "hello", "--check")
    for created in set(folder.glob("*.py")) - before:
        created.unlink()  # keep the package as it was; the assertion says what to do
    assert "hello: no changes" in output, "the models changed: run lyo makemigrations hello"
