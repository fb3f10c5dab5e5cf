"""The plugin as the kernel sees it: manifest and ``requires``, permissions, the route
contract in the OpenAPI document, and its migrations on PostgreSQL (up, down, up again,
CHECK constraints, files in sync with the models) through the ``lyo`` command.

Migrations target PostgreSQL, so those tests use it whatever ``LYO_TEST_DATABASE`` says,
as the kernel's own migration tests do."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner
from learning_support import auth_standin
from lyo_learning import plugin as learning

from kernel import Settings, create_app
from kernel.cli import main
from kernel.testing import temporary_database

LEARNING_TABLES = {
    "learning_course",
    "learning_course_tag",
    "learning_lesson",
    "learning_enrollment",
    "learning_lesson_progress",
    "learning_quiz_version",
    "learning_quiz_attempt",
}
CHECKS = {
    "learning_lesson_position_range",
    "learning_lesson_minutes_range",
    "learning_progress_percent_range",
    "learning_progress_seconds_range",
    "learning_progress_score_range",
    "learning_attempt_number_range",
}
CONTRACT = {
    "/api/learning/courses": {"get", "post"},
    "/api/learning/courses/{course_id}": {"get", "patch", "delete"},
    "/api/learning/courses/{course_id}/lessons": {"post"},
    "/api/learning/lessons/{lesson_id}": {"patch", "delete"},
    "/api/learning/courses/{course_id}/lessons/order": {"post"},
    "/api/learning/courses/{course_id}/enroll": {"post", "delete"},
    "/api/learning/lessons/{lesson_id}/progress": {"put"},
    "/api/learning/me/courses": {"get"},
    "/api/learning/lessons/{lesson_id}/quiz": {"post"},
    "/api/learning/lessons/{lesson_id}/quiz/attempts": {"get"},
    "/api/learning/courses/{course_id}/progress": {"get"},
    "/api/learning/courses/{course_id}/stats": {"get"},
}


async def test_declares_its_permissions(lyo_app: Any) -> None:
    permissions = lyo_app.kernel.permissions
    assert {"learning:write", "learning:manage", "learning:enroll"} <= set(permissions)


async def test_serves_the_documented_paths(lyo_client: Any) -> None:
    document = await (await lyo_client.get("/openapi.json")).get_json()
    paths = {
        path: set(operations) & {"get", "post", "put", "patch", "delete"}
        for path, operations in document["paths"].items()
        if path.startswith("/api/learning")
    }
    assert paths == CONTRACT


async def test_openapi_declares_conflicts(lyo_client: Any) -> None:
    paths = (await (await lyo_client.get("/openapi.json")).get_json())["paths"]
    for method, path in [
        ("post", "/api/learning/courses"),
        ("patch", "/api/learning/courses/{course_id}"),
        ("post", "/api/learning/courses/{course_id}/lessons"),
        ("post", "/api/learning/courses/{course_id}/enroll"),
        ("put", "/api/learning/lessons/{lesson_id}/progress"),
    ]:
        responses = paths[path][method]["responses"]
        assert "application/problem+json" in responses["409"]["content"], (method, path)


def test_without_an_authenticator_it_is_skipped(lyo_settings: Settings) -> None:
    """It needs someone implementing ``authenticate`` (not ``auth`` by name)."""
    kernel = create_app(lyo_settings, [learning], discover=False).kernel
    assert kernel.plugins["learning"].state == "skipped"
    assert "needs a plugin implementing `authenticate`" in str(kernel.plugins["learning"].error)


# -- migrations (PostgreSQL) ---------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database (the tests below are synchronous: ``lyo`` runs its own
    event loop)."""
    with asyncio.Runner() as runner:
        database = temporary_database()
        url = runner.run(database.__aenter__())
        try:
            yield url
        finally:
            runner.run(database.__aexit__(None, None, None))


@pytest.fixture
def lyo_command(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``lyo`` in-process, with the installed learning plugin and (unless the real one is
    installed) the auth stand-in module."""
    if not any(ep.name == "auth" for ep in entry_points(group="lyo.plugins")):
        monkeypatch.setenv("LYO_PLUGINS__MODULES", "learning_auth_standin")
    monkeypatch.setenv("LYO_PLUGINS__ENABLED", "auth,learning")
    monkeypatch.setenv("LYO_ENV", "test")
    runner = CliRunner()

    def run(*args: str, url: str) -> str:
        result = runner.invoke(main, list(args), env={"LYO_DATABASE_URL": url})
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output

    assert auth_standin  # the same stand-in the HTTP tests use, as a module
    yield run


async def _schema(url: str) -> tuple[set[str], set[str]]:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        checks = await connection.fetch("SELECT conname FROM pg_constraint WHERE contype = 'c'")
    finally:
        await connection.close()
    return {r["tablename"] for r in tables}, {r["conname"] for r in checks}


def test_migrations_up_down_and_up_again(lyo_command: Any, pg_url: str) -> None:
    assert "learning: applied 0_" in lyo_command("migrate", url=pg_url)
    tables, checks = asyncio.run(_schema(pg_url))
    assert tables >= LEARNING_TABLES and checks >= CHECKS
    out = lyo_command("migrate", "--plugin", "learning", "--downgrade", "-1", url=pg_url)
    assert "learning: undone 3_" in out  # quizzes, resumable progress, stats indexes
    tables, checks = asyncio.run(_schema(pg_url))
    assert "learning_quiz_attempt" not in tables and "learning_progress_score_range" not in checks
    assert "learning_course" in tables
    out = lyo_command("migrate", "--plugin", "learning", "--downgrade", "0", url=pg_url)
    # every migration undone, newest first (catalog search indexes, slugs, tables)
    assert "learning: undone 2_" in out and ", 1_" in out and ", 0_" in out
    tables, checks = asyncio.run(_schema(pg_url))
    assert not LEARNING_TABLES & tables and not CHECKS & checks
    assert "kernel_outbox_event" in tables  # only the plugin's own tables went
    assert "learning: applied 0_" in lyo_command("migrate", url=pg_url)
    assert asyncio.run(_schema(pg_url))[0] >= LEARNING_TABLES


def test_check_constraints_hold_in_the_database(lyo_command: Any, pg_url: str) -> None:
    lyo_command("migrate", url=pg_url)
    asyncio.run(_violate_checks(pg_url))


async def _violate_checks(pg_url: str) -> None:
    connection = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://"))
    try:
        course = await connection.fetchval(
            "INSERT INTO learning_course (id, title, slug, description, level, status, "
            "author_id, metadata, created_at, updated_at) VALUES (gen_random_uuid(), 't', 's', "
            "'', 'beginner', 'draft', 'a', '{}', now(), now()) RETURNING id"
        )
        lesson_sql = (
            "INSERT INTO learning_lesson (id, course_id, position, title, content, "
            "estimated_minutes, created_at, updated_at) "
            "VALUES (gen_random_uuid(), $1, $2, 't', '[]', 0, now(), now()) RETURNING id"
        )
        with pytest.raises(asyncpg.CheckViolationError, match="position_range"):
            await connection.fetchval(lesson_sql, course, -1)
        lesson = await connection.fetchval(lesson_sql, course, 0)
        progress_sql = (
            "INSERT INTO learning_lesson_progress (id, user_id, lesson_id, course_id, status, "
            "percent, seconds_spent, updated_at) "
            "VALUES (gen_random_uuid(), 'u', $1, $2, 'in_progress', $3, 0, now())"
        )
        for percent in (-1, 101):
            with pytest.raises(asyncpg.CheckViolationError, match="percent_range"):
                await connection.execute(progress_sql, lesson, course, percent)
        await connection.execute(progress_sql, lesson, course, 100)
    finally:
        await connection.close()


def test_committed_migrations_match_the_models(lyo_command: Any) -> None:
    """Fails (and writes the missing migration) when models changed without one."""
    url = os.environ.get("LYO_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432") + "/postgres"
    assert "learning: no changes" in lyo_command("makemigrations", "learning", "--check", url=url)
