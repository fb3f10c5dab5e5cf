"""The migrations in ``lyo_feeds/migrations/feeds/``, through the ``lyo``
command: up, down one by one, up again, and in step with the models. PostgreSQL only."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import lyo_feeds
import pytest

from kernel import testing

pytestmark = pytest.mark.skipif(
    testing.test_database_kind() != "postgres", reason="migrations target PostgreSQL"
)
TABLES = {
    "feeds_activity",
    "feeds_source",
    "feeds_follow",
    "feeds_privacy",
    "feeds_course",
    "feeds_embedding",
    "feeds_withdrawn",
    "feeds_reaction",
}
#: The tables of the second migration.
LATER = {"feeds_withdrawn", "feeds_reaction"}


async def lyo(url: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYO_")}
    env |= {
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": url,
        "LYO_PLUGINS__ENABLED": "feeds",
    }
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
        applied = await lyo(url, "migrate")
        assert "feeds: applied 0_" in applied and "_withdrawn_and_reactions" in applied
        assert await tables(url) >= TABLES
        for step, gone, kept in (("1_", LATER, TABLES - LATER), ("0_", TABLES, set())):
            undone = await lyo(url, "migrate", "--plugin", "feeds", "--downgrade", "-1")
            assert f"feeds: undone {step}" in undone
            found = await tables(url)
            assert not gone & found and kept <= found
        assert "feeds: applied 0_" in await lyo(url, "migrate")
        assert await tables(url) >= TABLES


async def test_the_migration_matches_the_models() -> None:
    folder = Path(lyo_feeds.__file__).parent / "migrations" / "feeds"
    before = set(folder.glob("*.py"))
    async with testing.temporary_database() as url:
        output = await lyo(url, "makemigrations", "feeds", "--check")
    for created in set(folder.glob("*.py")) - before:
        created.unlink()
    assert "feeds: no changes" in output, "models changed: lyo makemigrations feeds"
