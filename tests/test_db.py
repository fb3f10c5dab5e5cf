"""The database: context under a real server, errors as problems, pagination,
transactions, and migrations up, down and up again on PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kernel import PluginError, Settings, create_app
from kernel.data.db import integrity_problem, transaction
from kernel.testing import make_plugin, serve
from tests.notes import plugin as notes
from tests.notes.models import Note


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes]


async def test_handlers_see_the_database_under_a_real_server(lyo_settings: Settings) -> None:
    """Tortoise keeps its context in a context variable; the kernel makes it visible to
    request handlers although it was opened in the server's lifespan task."""
    app = create_app(lyo_settings, [notes], discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        created = await client.post("/api/notes/notes", json={"slug": "a", "title": "A"})
        assert created.status_code == 201, created.text
        fetched = await client.get(f"/api/notes/notes/{created.json()['id']}")
        assert fetched.json()["title"] == "A"
        ready = (await client.get("/health/ready")).json()
        assert {"name": "database", "status": "ok"}.items() <= ready["checks"][0].items()


async def test_unique_violation_is_409_naming_the_field(lyo_client: Any) -> None:
    body = {"slug": "same", "title": "One"}
    assert (await lyo_client.post("/api/notes/notes", json=body)).status_code == 201
    response = await lyo_client.post("/api/notes/notes", json=body)
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert (await response.get_json())["field"] == "slug"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"slug": "fk", "title": "x", "folder_id": 999}, "/folder_id"),
        ({"slug": "range", "title": "x", "priority": 9}, "/priority"),
        ({"slug": "null"}, "/title"),
    ],
    ids=["foreign-key", "check", "not-null"],
)
async def test_constraint_violations_are_422(
    lyo_app: Any, lyo_client: Any, body: dict[str, Any], pointer: str
) -> None:
    response = await lyo_client.post("/api/notes/notes", json=body)
    assert response.status_code == 422, await response.get_data(as_text=True)
    problem = await response.get_json()
    if lyo_app.kernel.db.dialect == "sqlite" and pointer == "/folder_id":
        pointer = "/"  # SQLite does not say which foreign key failed
    assert problem["errors"][0]["pointer"] == pointer
    assert await Note.filter(slug=body["slug"]).count() == 0


async def test_missing_record_is_404(lyo_client: Any) -> None:
    response = await lyo_client.get("/api/notes/notes/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


async def test_a_failing_request_writes_nothing(lyo_client: Any) -> None:
    body = {"slug": "half", "title": "x", "fail_after_write": True}
    assert (await lyo_client.post("/api/notes/notes", json=body)).status_code == 500
    assert await Note.filter(slug="half").count() == 0


async def test_database_constraints_map_to_problems(lyo_app: Any) -> None:
    """The constraints themselves, below the model validators, in this dialect."""
    from tortoise.exceptions import IntegrityError

    await Note.create(slug="raw", title="t")
    statements = {
        "slug": "INSERT INTO notes_note (id, slug, title, priority, created_at) "
        "VALUES ('11111111-1111-1111-1111-111111111111', 'raw', 't', 0, CURRENT_TIMESTAMP)",
        "title": "INSERT INTO notes_note (id, slug, priority, created_at) "
        "VALUES ('22222222-2222-2222-2222-222222222222', 'n', 0, CURRENT_TIMESTAMP)",
    }
    db = lyo_app.kernel.db.connection()
    for field, sql in statements.items():
        with pytest.raises(IntegrityError) as info:
            await db.execute_query(sql)
        problem = integrity_problem(info.value)
        assert field in problem.detail
    if lyo_app.kernel.db.dialect == "postgres":  # the CHECK lives in the migration
        with pytest.raises(IntegrityError) as info:
            await db.execute_query(
                "INSERT INTO notes_note (id, slug, title, priority, created_at) VALUES "
                "('33333333-3333-3333-3333-333333333333', 'c', 't', 7, CURRENT_TIMESTAMP)"
            )
        assert integrity_problem(info.value).status == 422


async def test_page_envelope_and_limits(lyo_client: Any) -> None:
    for i in range(5):
        await lyo_client.post("/api/notes/notes", json={"slug": f"n{i}", "title": str(i)})
    page = await (await lyo_client.get("/api/notes/notes?page=2&size=2")).get_json()
    assert [n["slug"] for n in page["items"]] == ["n2", "n3"]
    assert (page["total"], page["page"], page["size"], page["pages"]) == (5, 2, 2, 3)
    for bad in ("size=0", "size=1000", "page=0", "page=x"):
        response = await lyo_client.get(f"/api/notes/notes?{bad}")
        assert response.status_code == 422, bad
        assert (await response.get_json())["errors"][0]["pointer"].startswith("/query/")


async def test_cursor_feed_walks_every_row_once(lyo_client: Any) -> None:
    for i in range(7):
        await lyo_client.post("/api/notes/notes", json={"slug": f"f{i}", "title": str(i)})
    seen: list[str] = []
    cursor = None
    while True:
        query = f"?size=3&cursor={cursor}" if cursor else "?size=3"
        page = await (await lyo_client.get(f"/api/notes/feed{query}")).get_json()
        seen += [n["slug"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"f{i}" for i in range(7)) and len(seen) == 7
    bad = await lyo_client.get("/api/notes/feed?cursor=not-a-cursor")
    assert bad.status_code == 422


async def test_transaction_spans_plugins_and_rolls_back(lyo_app: Any) -> None:
    from kernel.data.models import TaskRun

    with pytest.raises(RuntimeError):
        async with transaction():
            await Note.create(slug="tx", title="x")
            await TaskRun.create(name="notes:x")
            raise RuntimeError("abort")
    assert await Note.filter(slug="tx").count() == 0
    assert await TaskRun.filter(name="notes:x").count() == 0


async def test_postgres_plans_each_statement_with_its_parameters(lyo_app: Any) -> None:
    """asyncpg caches prepared statements; a generic plan made while a table was small
    would scan it whole however much it grows (kernel.db sets plan_cache_mode)."""
    if lyo_app.kernel.db.dialect != "postgres":
        pytest.skip("PostgreSQL only")
    import asyncio

    from tortoise import connections

    sql = (
        "SELECT current_setting('plan_cache_mode') AS mode, pg_backend_pid() AS pid, pg_sleep(0.1)"
    )
    db = connections.get("postgres")
    rows = await asyncio.gather(*(db.execute_query_dict(sql) for _ in range(3)))
    assert len({row["pid"] for [row] in rows}) == 3  # three pooled connections at once
    assert {row["mode"] for [row] in rows} == {"force_custom_plan"}


def test_tables_must_carry_the_plugin_prefix() -> None:
    from kernel.data.db import prepare_models

    tables = {m._meta.db_table for m in prepare_models("notes", ["tests.notes.models"])}
    assert tables == {"notes_folder", "notes_note"}
    with pytest.raises(PluginError, match="must start with 'other_'"):
        prepare_models("other", ["tests.notes.models"])


async def test_broken_models_fail_only_their_plugin(lyo_settings: Settings) -> None:
    broken = make_plugin("broken", models=lambda: ["tests.no_such_models"])
    app = create_app(lyo_settings, [broken, notes], discover=False)
    async with app.test_app():
        assert app.kernel.plugin("broken").state == "failed"
        assert app.kernel.plugin("notes").state == "active"


async def test_values_the_database_cannot_hold_are_422_not_503(lyo_client: Any) -> None:
    response = await lyo_client.get("/api/notes/by-priority/99999999999")
    assert response.status_code in (200, 422)  # SQLite holds it; PostgreSQL's INT does not
    if response.status_code == 422:
        assert response.content_type == "application/problem+json"


async def test_a_bug_in_a_plugins_hook_fails_only_that_plugin(lyo_settings: Settings) -> None:
    def tasks() -> list[object]:
        raise ImportError("a missing optional dependency")

    def health_checks(kernel: object) -> list[object]:
        raise RuntimeError("oops")

    buggy = make_plugin("buggy", tasks=tasks)
    sick = make_plugin("sick", health_checks=health_checks)
    app = create_app(lyo_settings, [buggy, sick, notes], discover=False)
    async with app.test_app():
        assert app.kernel.plugin("buggy").state == "failed"
        assert "missing optional dependency" in (app.kernel.plugin("buggy").error or "")
        client = app.test_client()
        assert (await client.get("/api/notes/notes")).status_code == 200
        ready = await client.get("/health/ready")
        checks = {c["name"]: c for c in (await ready.get_json())["checks"]}
        assert checks["sick:health_checks"]["status"] == "failing"


async def test_a_transaction_after_a_failed_begin_starts_afresh(lyo_app: Any) -> None:
    """A pooled connection that the server closed, unnoticed yet, fails BEGIN; the next
    transaction in the same task must get a live one. (Tortoise left the task pointing
    at the dead connection: after a PostgreSQL restart the outbox relay, a long-lived
    task, failed every round for good.)"""
    if lyo_app.kernel.db.dialect != "postgres":
        pytest.skip("PostgreSQL only")
    import contextlib
    import shutil
    import subprocess

    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    async with transaction():
        await Note.all().count()
    url = lyo_app.kernel.settings.database_url.replace("postgres://", "postgresql://", 1)
    # blocking on purpose: this event loop does not see the sessions end
    subprocess.run(  # noqa: ASYNC221
        [
            *("psql", url, "-qc"),
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ],
        check=True,
        capture_output=True,
    )
    with contextlib.suppress(Exception):  # BEGIN on a dead connection
        async with transaction():
            await Note.all().count()
    async with transaction():  # the same task
        assert await Note.filter(slug="afresh").count() == 0
