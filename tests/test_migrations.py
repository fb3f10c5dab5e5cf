"""Migrations on PostgreSQL: up, down in reverse dependency order, up again; the
advisory lock; production refusing pending migrations; models and files in sync."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner

from kernel import ConfigError, Kernel, Settings
from kernel.cli import main
from kernel.data import migrations
from kernel.data.db import connect_raw
from kernel.testing import table_names
from tests.notes import plugin as notes
from tests.tags import plugin as tags

KERNEL_TABLES = {
    "kernel_task_run",
    "kernel_outbox_event",
    "kernel_handled_event",
    "kernel_dead_letter",
}
NOTES_TABLES = {"notes_note", "notes_folder", "tags_tag"}


def load(url: str, env: str = "test") -> Kernel:
    extra = {"secret_key": "k" * 40, "redis_url": "redis://127.0.0.1"} if env != "test" else {}
    # tags requires notes: passed first, it must still migrate after notes
    return Kernel.load(Settings(env=env, database_url=url, **extra), [tags, notes], discover=False)


async def test_upgrade_downgrade_and_upgrade_again(pg_url: str) -> None:
    kernel = load(pg_url)
    applied = await migrations.upgrade(kernel)
    assert list(applied) == ["kernel", "notes", "tags"]  # the kernel, then dependency order
    assert await table_names(pg_url) >= KERNEL_TABLES | NOTES_TABLES
    status = await migrations.status(kernel)
    assert all(not state["pending"] for state in status.values())

    undone = await migrations.downgrade(kernel, None)
    assert list(undone) == ["tags", "notes", "kernel"]  # reverse dependency order
    assert not (KERNEL_TABLES | NOTES_TABLES) & await table_names(pg_url)
    assert all(not s["applied"] for s in (await migrations.status(kernel)).values())

    again = await migrations.upgrade(kernel)
    assert again == applied
    assert await table_names(pg_url) >= KERNEL_TABLES | NOTES_TABLES
    assert await migrations.upgrade(kernel) == {"kernel": [], "notes": [], "tags": []}


async def test_check_constraint_from_the_migration(pg_url: str) -> None:
    await migrations.upgrade(load(pg_url))
    connection = await connect_raw(pg_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await connection.execute(
                "INSERT INTO notes_note (id, slug, title, priority, created_at) "
                "VALUES (gen_random_uuid(), 's', 't', 6, now())"
            )
    finally:
        await connection.close()


async def test_concurrent_migrations_apply_once(pg_url: str) -> None:
    script = (
        "import asyncio, sys; from tests.test_migrations import load; "
        "from kernel.data import migrations; "
        "print(asyncio.run(migrations.upgrade(load(sys.argv[1]))))"
    )
    runs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, pg_url, stdout=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outputs = [(await run.communicate())[0].decode() for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert sum("_init.py" in out for out in outputs) == 1, outputs  # one did the work
    connection = await connect_raw(pg_url)
    try:
        count = await connection.fetchval("SELECT count(*) FROM aerich")
    finally:
        await connection.close()
    assert count == 6  # the kernel's four, notes' and tags', once each


async def test_production_refuses_pending_migrations(pg_url: str) -> None:
    kernel = load(pg_url, env="production")
    with pytest.raises(ConfigError, match="pending migrations"):
        await kernel.start()
    await migrations.upgrade(load(pg_url))
    kernel = load(pg_url, env="production")
    await kernel.start()
    await kernel.stop()


async def test_committed_migrations_match_the_models() -> None:
    kernel = load("postgres://postgres@127.0.0.1:5432/postgres")
    for app in ("kernel", "notes", "tags"):
        assert await migrations.make(kernel, app) is None, f"{app}: run lyo makemigrations"


def test_migration_commands(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_DATABASE_URL", pg_url)
    runner = CliRunner()
    before = runner.invoke(main, ["migrations"])
    assert before.exit_code == 0, before.output
    assert "kernel: 0 applied, 4 pending" in before.output
    done = runner.invoke(main, ["migrate"])
    assert done.exit_code == 0 and "kernel: applied 0_" in done.output
    assert "kernel: 4 applied, 0 pending" in runner.invoke(main, ["migrations"]).output
    down = runner.invoke(main, ["migrate", "--plugin", "kernel", "--downgrade", "-1"])
    # the last one: the owner_id index back, then gone again
    assert down.exit_code == 0 and "kernel: undone 3_" in down.output
    again = runner.invoke(main, ["migrate"])
    assert again.exit_code == 0 and "kernel: applied 3_" in again.output


def test_sqlite_is_built_from_models(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("LYO_DATABASE_URL", f"sqlite://{tmp_path}/dev.sqlite3")
    runner = CliRunner()
    refused = runner.invoke(main, ["migrate"])
    assert refused.exit_code == 2 and "lyo db reset" in refused.output
    reset = runner.invoke(main, ["db", "reset"])
    assert reset.exit_code == 0, reset.output


def test_makemigrations_refuses_a_plugin_installed_as_a_package() -> None:
    """Migrations written into site-packages would be lost with the next install."""
    import pluggy

    from kernel.data.migrations import installed_as_package

    assert installed_as_package(Path(pluggy.__file__).parent / "migrations")
    assert not installed_as_package(Path(__file__).parent / "notes" / "migrations")


async def test_makemigrations_check_tells_without_writing() -> None:
    """``lyo makemigrations PLUGIN --check`` (CI, installed packages): says whether the
    models are ahead of the committed migrations and leaves the folder as it was."""
    kernel = load("postgres://postgres@127.0.0.1:5432/postgres")
    folder = Path(__file__).parent / "tags" / "migrations" / "tags"
    committed = sorted(p.name for p in folder.glob("[0-9]*.py"))
    assert await migrations.make(kernel, "tags", check=True) is None
    newest = folder / committed[-1]
    hidden = newest.with_suffix(".hidden")
    newest.rename(hidden)  # the models are now ahead of the migrations
    try:
        assert await migrations.make(kernel, "tags", check=True) is not None
        assert sorted(p.name for p in folder.glob("[0-9]*.py")) == committed[:-1]
    finally:
        hidden.rename(newest)
