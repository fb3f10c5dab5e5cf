"""The migration shipped in ``lyo_gamification/migrations/gamification/``, driven
through the ``lyo`` command as an operator would: up, down, up again, and in step with the models.
PostgreSQL only (aerich writes PostgreSQL SQL; SQLite is built from the models)."""

from __future__ import annotations

import asyncio
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import lyo_gamification
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
        "LYO_PLUGINS__ENABLED": "gamification",
    }
    if not entry_points(group="lyo.plugins", name="gamification"):
        env["LYO_PLUGINS__MODULES"] = "lyo_gamification.plugin"
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
        assert "gamification: applied 0_" in first and "_moderation.py" in first
        assert {"gamification_entry", "gamification_progress"} <= await tables(url)
        assert "gamification: 2 applied, 0 pending" in await lyo(url, "migrations")

        undone = await lyo(url, "migrate", "--plugin", "gamification", "--downgrade", "-1")
        assert "gamification: undone 1_" in undone
        assert "gamification_progress" not in await tables(url)
        assert "gamification_entry" in await tables(url)
        assert "gamification: 1 applied, 1 pending" in await lyo(url, "migrations")

        undone = await lyo(url, "migrate", "--plugin", "gamification", "--downgrade", "-1")
        assert "gamification: undone 0_" in undone
        assert "gamification_entry" not in await tables(url)
        assert "gamification: 0 applied, 2 pending" in await lyo(url, "migrations")

        again = await lyo(url, "migrate")
        assert "kernel: applied nothing" in again and "gamification: applied 0_" in again
        assert {"gamification_entry", "gamification_progress"} <= await tables(url)


async def test_the_migration_matches_the_models() -> None:
    folder = Path(lyo_gamification.__file__).parent / "migrations" / "gamification"
    before = set(folder.glob("*.py"))
    async with testing.temporary_database() as url:
        output = await lyo(url, "makemigrations", "gamification", "--check")
    for created in set(folder.glob("*.py")) - before:
        created.unlink()  # keep the package as it was; the assertion says what to do
    assert "gamification: no changes" in output, (
        "the models changed: run lyo makemigrations gamification"
    )
