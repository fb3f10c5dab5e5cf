"""Hostile input against a real server: the checks of the security review (issue 14),
kept so that a later change cannot reopen them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from typing import Any

import httpx
import pytest
from quart import Blueprint, request
from websockets.asyncio.client import connect

from kernel import Identity, Kernel, Settings, TaskContext, TooManyRequests, create_app, task
from kernel.data.models import TaskRun
from kernel.testing import make_plugin, serve, token_plugin
from tests.notes import plugin as notes
from tests.notes.models import Note
from tests.test_tasks import run_state
from tests.test_tasks import worker_env as worker_env_fixture
from tests.test_tasks import workers as workers_fixture

worker_env, workers = worker_env_fixture, workers_fixture  # real workers on Redis

ada = Identity(id="ada", kind="user")
bob = Identity(id="bob", kind="user")
operator = Identity(id="olga", kind="user", permissions=frozenset({"kernel:operate"}))
users = token_plugin({"ada": ada, "bob": bob, "olga": operator})
ADA = {"Authorization": "Bearer ada"}

probe = Blueprint("probe", __name__)


@probe.get("/search")
async def search() -> dict[str, int]:
    """Strings from the query reach the database."""
    return {"count": await Note.filter(slug__contains=request.args.get("q", "")).count()}


@probe.get("/notes/<slug>")
async def by_slug(slug: str) -> dict[str, str]:
    """A string from the path reaches the database; a missing note is the ORM's 404."""
    return {"slug": (await Note.get(slug=slug)).slug}


@probe.post("/form")
async def form() -> dict[str, int]:
    """A form field reaches the database."""
    fields = await request.form
    return {"count": await Note.filter(slug=fields.get("slug", "")).count()}


probe_plugin = make_plugin("probe", blueprints=lambda kernel: [probe])


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [notes, users, probe_plugin]


# -- websockets: another user's task frames -------------------------------------------


async def test_hammering_subscribe_on_a_foreign_task_topic_receives_none_of_its_frames(
    lyo_server: str,
) -> None:
    """Ada's task reports progress many times a second while Bob subscribes to (and
    unsubscribes from) its topic as fast as the server answers: every subscribe is
    refused, and not one of the task's frames reaches him."""
    async with httpx.AsyncClient(base_url=lyo_server) as http:
        started = (
            await http.post("/api/notes/jobs", json={"slug": "busy", "seconds": 4}, headers=ADA)
        ).json()
    topic = started["topic"]
    answers: dict[str, int] = {}
    leaked: list[dict[str, Any]] = []
    async with connect(lyo_server.replace("http", "ws") + "/ws", proxy=None) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "bob"}))
        assert json.loads(await ws.recv())["type"] == "ready"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 4
        while loop.time() < deadline:
            burst = 40
            for i in range(burst):  # pipelined: the server is always mid-subscribe
                kind = "unsubscribe" if i % 4 == 3 else "subscribe"
                await ws.send(json.dumps({"type": kind, "topic": topic}))
            await ws.send(json.dumps({"type": "ping"}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame["type"] == "pong":
                    break
                key = frame["type"] + ":" + frame.get("code", "")
                answers[key] = answers.get(key, 0) + 1
                if frame["type"] in ("message", "subscribed"):
                    leaked.append(frame)
    assert leaked == []
    assert answers.get("error:forbidden", 0) > 100


# -- hostile JSON: depth -----------------------------------------------------------------


@pytest.mark.parametrize("depth", [65, 5000, 100_000])
async def test_deeply_nested_json_is_a_400_problem_not_a_500(lyo_client: Any, depth: int) -> None:
    for body in ("[" * depth + "]" * depth, '{"slug": ' + "[" * depth + "]" * depth + "}"):
        response = await lyo_client.post(
            "/api/notes/jobs", data=body, headers={"Content-Type": "application/json", **ADA}
        )
        assert response.status_code == 400, body[:20]
        assert response.content_type == "application/problem+json"
        assert "nests deeper than 64" in (await response.get_json())["detail"]


async def test_json_at_the_depth_limit_and_brackets_in_strings_are_fine(lyo_client: Any) -> None:
    deep: Any = "x"
    for _ in range(63):
        deep = [deep]
    response = await lyo_client.post(
        "/api/notes/notes", json={"slug": "[{[" * 30, "title": json.dumps(deep)[:200]}
    )
    assert response.status_code == 201
    inside = {
        "slug": "ok",
        "title": "t",
        "extra": deep,
    }  # 64 levels: the body's object and 63 lists
    response = await lyo_client.post("/api/notes/notes", json=inside)
    assert response.status_code == 201, await response.get_json()


async def test_the_depth_limit_is_a_setting(lyo_settings: Settings) -> None:
    app = create_app(lyo_settings.model_copy(update={"max_json_depth": 3}), [notes], discover=False)
    async with app.test_app():
        client = app.test_client()
        body = {"slug": "d", "title": "t", "extra": [[1]]}  # 3 levels
        assert (await client.post("/api/notes/notes", json=body)).status_code == 201
        body = {"slug": "e", "title": "t", "extra": [[[1]]]}
        assert (await client.post("/api/notes/notes", json=body)).status_code == 400


# -- text PostgreSQL cannot store --------------------------------------------------------


async def test_nul_and_lone_surrogates_are_refused_where_strings_come_in(
    lyo_client: Any,
) -> None:
    cases = [
        ("get", "/api/probe/search?q=a%00", None, "/query/q"),
        ("get", "/api/probe/search?a%00=1", None, "/query/a\ufffd"),
        ("get", "/api/probe/notes/a%00b", None, "/path/slug"),
        ("get", "/api/notes/notes?page=1%00", None, "/query/page"),
        ("post", "/api/notes/notes", '{"slug": "a\\u0000"}', "/slug"),
        ("post", "/api/notes/notes", '{"slug": "a\\ud800"}', "/slug"),
        ("post", "/api/notes/notes", '{"slug": "s", "x": {"k\\u0000": 1}}', "/x/k\ufffd"),
        ("post", "/api/notes/notes", '{"slug": "s", "x": ["ok", "\\udc00"]}', "/x/1"),
    ]
    for method, path, body, pointer in cases:
        headers = {"Content-Type": "application/json"} if body else {}
        response = await getattr(lyo_client, method)(path, data=body, headers=headers)
        assert response.status_code == 422, (path, body)
        assert response.content_type == "application/problem+json"
        problem = await response.get_json()
        assert problem["errors"][0]["pointer"] == pointer
        assert "encoding" not in problem["detail"] and "UTF8" not in problem["detail"]
    response = await lyo_client.post("/api/probe/form", form={"slug": "a\x00"})
    assert response.status_code == 422
    assert (await response.get_json())["errors"][0]["pointer"] == "/form/slug"
    # ordinary text, escapes included, still goes through
    response = await lyo_client.post(
        "/api/notes/notes", json={"slug": "caf\u00e9 \U0001f600", "title": "t"}
    )
    assert response.status_code == 201
    assert (await lyo_client.get("/api/probe/search?q=caf%C3%A9")).status_code == 200


async def test_a_missing_object_says_what_was_asked_for_not_the_model(lyo_client: Any) -> None:
    response = await lyo_client.get("/api/probe/notes/nothing-here")
    assert response.status_code == 404
    detail = (await response.get_json())["detail"]
    assert "Note" not in detail and "Object" not in detail
    assert "/api/probe/notes/nothing-here" in detail


# -- operator routes ---------------------------------------------------------------------


@pytest.mark.parametrize("env", ["staging", "production"])
async def test_metrics_and_plugins_need_kernel_operate_or_the_metrics_token(
    production: Any, env: str
) -> None:
    settings = production(env=env, metrics_token="s" * 40)
    app = create_app(settings, [users], discover=False)
    assert "kernel:operate" in app.kernel.permissions  # roles can be granted it
    async with app.test_app():
        client = app.test_client()
        for path in ("/metrics", "/-/plugins"):
            assert (await client.get(path)).status_code == 401
            assert (await client.get(path, headers=ADA)).status_code == 403
            olga = await client.get(path, headers={"Authorization": "Bearer olga"})
            assert olga.status_code == 200
            scraper = await client.get(path, headers={"Authorization": "Bearer " + "s" * 40})
            assert scraper.status_code == 200
            wrong = await client.get(path, headers={"Authorization": "Bearer " + "s" * 39})
            assert wrong.status_code == 401  # not the token: an ordinary (unknown) token


async def test_metrics_and_plugins_stay_open_in_development(lyo_client: Any) -> None:
    assert (await lyo_client.get("/metrics")).status_code == 200
    assert (await lyo_client.get("/-/plugins")).status_code == 200


# -- response headers --------------------------------------------------------------------


async def test_answers_forbid_loading_and_framing_and_do_not_name_the_server(
    lyo_settings: Settings,
) -> None:
    app = create_app(lyo_settings, [notes, users], discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        for path in ("/health", "/api/notes/notes", "/nope", "/openapi.json"):
            response = await http.get(path)
            assert response.headers["content-security-policy"] == (
                "default-src 'none'; frame-ancestors 'none'"
            ), path
            assert response.headers.get_list("server") == ["lyo"], path
        docs = await http.get("/docs")
    policy = docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    # the page's own inline script is allowed by its hash, its CDN files by origin
    inline = re.search(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    assert inline is not None
    digest = base64.b64encode(hashlib.sha256(inline[1].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    for src in re.findall(r'(?:src|href)="(https://[^/"]+)', docs.text):
        assert src in policy


# -- the shared queue: runs per owner ----------------------------------------------------


async def test_a_burst_past_the_limit_is_a_429_problem(lyo_settings: Settings) -> None:
    settings = lyo_settings.model_copy(update={"task_limits": {"notes:write_note": 1}})
    app = create_app(settings, [notes, users], discover=False)
    async with app.test_app():
        client = app.test_client()
        job = {"slug": "first", "seconds": 2}
        assert (await client.post("/api/notes/jobs", json=job, headers=ADA)).status_code == 202
        job = {"slug": "second", "seconds": 0}
        response = await client.post("/api/notes/jobs", json=job, headers=ADA)
        assert response.status_code == 429
        assert response.content_type == "application/problem+json"
        assert "notes:write_note" in (await response.get_json())["detail"]
        assert response.headers["Retry-After"]
        bob = {"Authorization": "Bearer bob"}  # another owner is not held
        assert (await client.post("/api/notes/jobs", json=job, headers=bob)).status_code == 202


HELD = {"running": True}


@task("limited:job", retries=0, max_per_owner=1)
async def limited_job(ctx: TaskContext) -> None:
    while HELD["running"]:  # noqa: ASYNC110 - an Event would belong to one test's loop
        await asyncio.sleep(0.02)


limited = make_plugin("limited", tasks=lambda: [limited_job])


@pytest.mark.parametrize(("configured", "allowed"), [(None, 1), (3, 3)])
async def test_the_limit_is_declared_with_the_task_and_settings_override_it(
    lyo_settings: Settings, configured: int | None, allowed: int
) -> None:
    limits = {"limited:job": configured} if configured else {}
    settings = lyo_settings.model_copy(update={"task_limits": limits})
    app = create_app(settings, [limited], discover=False)
    HELD["running"] = True
    async with app.test_app():
        app.kernel.activate()
        for _ in range(allowed):
            await app.kernel.tasks.enqueue(limited_job, owner=ada)
        with pytest.raises(TooManyRequests):
            await app.kernel.tasks.enqueue(limited_job, owner=ada)
        await app.kernel.tasks.enqueue(limited_job, owner=bob)
        await app.kernel.tasks.enqueue(limited_job)  # runs without an owner are not limited
        HELD["running"] = False


async def test_one_owners_burst_no_longer_holds_up_another_owners_task(
    worker_env: dict[str, str], workers: Any
) -> None:
    """Real workers on Redis: Bob fires 30 two-second tasks, Ada one. Only Bob's limit
    (2) is queued, so Ada's starts while Bob's are still running, not after 30 of them."""
    settings = Settings(
        env="test",
        database_url=worker_env["LYO_DATABASE_URL"],
        redis_url=worker_env["LYO_REDIS_URL"],
        redis_prefix=worker_env["LYO_REDIS_PREFIX"],
        task_lease=2,
        task_limits={"notes:write_note": 2},
    )
    kernel = Kernel.load(settings, [notes], discover=False)
    await kernel.start()
    kernel.activate()
    try:
        workers()
        accepted, refused = [], 0
        for i in range(30):
            try:
                accepted.append(
                    await kernel.tasks.enqueue(
                        "notes:write_note", owner=bob, slug=f"bob-{i}", seconds=2
                    )
                )
            except TooManyRequests:
                refused += 1
        assert (len(accepted), refused) == (2, 28)
        mine = await kernel.tasks.enqueue("notes:write_note", owner=ada, slug="ada")
        done = await run_state(mine.id, "succeeded", "failed", seconds=60)
        assert done.status == "succeeded", done.problem
        bobs = await TaskRun.filter(owner_id="bob")
        assert len(bobs) == 2
        assert all(run.finished_at is None or run.finished_at > done.started_at for run in bobs)
        # once one of Bob's finishes, he may queue another
        await run_state(accepted[0].id, "succeeded", seconds=60)
        await kernel.tasks.enqueue("notes:write_note", owner=bob, slug="bob-again")
    finally:
        await kernel.stop()
