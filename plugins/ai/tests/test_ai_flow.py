"""The whole flow on a started app with the fake generator: request, progress, saving
through the learning plugin, the event, permissions, limits, cancellation, idempotency
and degradation."""

from __future__ import annotations

import asyncio
import importlib.util
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from ai_support import AUTHOR, PUBLISHED, FakeGenerator, auth, wait_for_task
from lyo_ai.models import Generation
from lyo_ai.tasks import generate_course
from lyo_ai.workers import RUNNER

from kernel import TaskContext, testing

BODY = {"topic": "Tide pools", "level": "beginner", "lesson_count": 3, "language": "English"}


async def test_openapi_declares_limits_and_unavailability(lyo_client: Any) -> None:
    spec = await (await lyo_client.get("/openapi.json")).get_json()
    responses = spec["paths"]["/api/ai/courses"]["post"]["responses"]
    for status in ("429", "503"):  # over the limits; while the model is unavailable
        assert "application/problem+json" in responses[status]["content"]


async def start(client: Any, body: dict[str, Any] = BODY, token: str = "author") -> Any:
    return await client.post("/api/ai/courses", json=body, headers=auth(token))


async def test_a_course_is_generated_saved_and_announced(lyo_client: Any) -> None:
    response = await start(lyo_client)
    assert response.status_code == 202
    accepted = await response.get_json()
    task_id = accepted["task_id"]
    assert accepted["status_url"] == f"/api/tasks/{task_id}"
    assert accepted["topic"] == f"task:{task_id}"
    run = await wait_for_task(lyo_client, task_id)
    assert run["status"] == "succeeded", run
    assert run["kind"] == "ai.course"
    course_id = run["result"]["course_id"]
    response = await lyo_client.get(f"/api/learning/courses/{course_id}", headers=auth("author"))
    course = await response.get_json()
    assert response.status_code == 200, course
    assert course["status"] == "draft"
    assert course["author_id"] == AUTHOR.id
    assert course["metadata"]["task_id"] == task_id
    assert course["metadata"]["machine_generated"] is True
    assert course["metadata"]["quality"]["passed"] is False  # the fake writes no sentences
    assert "complete" in course["metadata"]["quality"]["failed"]
    assert run["result"]["machine_generated"] is True
    assert len(course["lessons"]) == 3
    assert len({lesson["title"] for lesson in course["lessons"]}) == 3
    [event] = [e for e in PUBLISHED if e.type == "ai.course_generated.v1"]
    assert event.payload["course_id"] == course_id
    assert event.payload["lesson_count"] == 3


async def test_progress_streams_phase_tokens_and_text(lyo_app: Any, fake: FakeGenerator) -> None:
    fake.delay = 0.02
    seen: list[dict[str, Any]] = []
    tasks = lyo_app.kernel.tasks
    original = tasks.publish

    async def spy(task_id: Any, data: dict[str, Any]) -> None:
        seen.append(data)
        await original(task_id, data)

    tasks.publish = spy
    client = lyo_app.test_client()
    accepted = await (await start(client, {**BODY, "lesson_count": 1})).get_json()
    run = await wait_for_task(client, accepted["task_id"])
    assert run["status"] == "succeeded"
    progress = [d["progress"] for d in seen if d.get("status") == "running" and d.get("progress")]
    phases = [p["phase"] for p in progress]
    assert phases[0] == "loading" and "outline" in phases and "lessons" in phases
    assert phases[-1] == "saving"
    assert any(p.get("text") for p in progress)
    tokens = [p["tokens"] for p in progress if "tokens" in p]
    assert tokens == sorted(tokens) and tokens[-1] > 0


@pytest.mark.parametrize(
    ("token", "status"), [(None, 401), ("learner", 403)], ids=["anonymous", "no-permission"]
)
async def test_generating_needs_the_permission(lyo_client: Any, token: str, status: int) -> None:
    headers = auth(token) if token else {}
    response = await lyo_client.post("/api/ai/courses", json=BODY, headers=headers)
    assert response.status_code == status


@pytest.mark.parametrize("count", [0, 13])
async def test_lesson_count_is_one_to_twelve(lyo_client: Any, count: int) -> None:
    response = await start(lyo_client, {**BODY, "lesson_count": count})
    assert response.status_code == 422
    problem = await response.get_json()
    assert problem["errors"][0]["pointer"] == "/lesson_count"


async def test_one_generation_at_a_time_per_user(lyo_client: Any, fake: FakeGenerator) -> None:
    fake.delay = 0.05
    first = await (await start(lyo_client)).get_json()
    response = await start(lyo_client)
    assert response.status_code == 429
    problem = await response.get_json()
    assert "in progress" in problem["detail"]
    assert response.headers["Retry-After"]
    assert (await start(lyo_client, token="other")).status_code == 202  # others are not held
    await lyo_client.post(f"/api/tasks/{first['task_id']}/cancel", headers=auth("author"))


async def test_concurrent_requests_cannot_pass_the_limit_together(
    lyo_client: Any, fake: FakeGenerator
) -> None:
    fake.delay = 0.05
    responses = await asyncio.gather(*(start(lyo_client) for _ in range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202, 429, 429, 429, 429, 429]
    accepted = next(r for r in responses if r.status_code == 202)
    task_id = (await accepted.get_json())["task_id"]
    await lyo_client.post(f"/api/tasks/{task_id}/cancel", headers=auth("author"))


class _NoProcessLocks(dict):  # every request gets a lock of its own
    def get(self, key: Any, default: Any = None) -> Any:
        return None


@pytest.mark.skipif(testing.test_database_kind() != "postgres", reason="the advisory lock")
async def test_across_processes_the_database_lock_holds_the_limit(
    lyo_client: Any, fake: FakeGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lyo_ai import routes

    monkeypatch.setattr(routes, "_turns", _NoProcessLocks())  # as if each were a process
    await test_concurrent_requests_cannot_pass_the_limit_together(lyo_client, fake)


@pytest.mark.skipif(
    importlib.util.find_spec("transformers") is not None,
    reason="with the model runtime installed the app would load the real model",
)
async def test_the_daily_quota(monkeypatch: pytest.MonkeyPatch, lyo_settings: Any) -> None:
    monkeypatch.setenv("LYO_AI__DAILY_QUOTA_PER_USER", "1")
    from ai_support import auth_standin
    from lyo_ai import plugin as ai
    from lyo_learning import plugin as learning

    from kernel import create_app

    app = create_app(lyo_settings, [auth_standin(), learning, ai], discover=False)
    async with app.test_app():
        client = app.test_client()
        accepted = await (await start(client)).get_json()
        await wait_for_task(client, accepted["task_id"])
        response = await start(client)
        assert response.status_code == 429
        assert "quota" in (await response.get_json())["detail"]
        assert int(response.headers["Retry-After"]) <= 86400


async def test_cancel_stops_within_a_second_and_saves_nothing(
    lyo_client: Any, fake: FakeGenerator
) -> None:
    fake.delay = 0.05
    accepted = await (await start(lyo_client)).get_json()
    task_id = accepted["task_id"]
    await wait_for_task(
        lyo_client, task_id, until=lambda run: (run["progress"] or {}).get("tokens", 0) > 0
    )
    asked = time.monotonic()
    response = await lyo_client.post(f"/api/tasks/{task_id}/cancel", headers=auth("author"))
    assert response.status_code == 202
    run = await wait_for_task(lyo_client, task_id)
    assert run["status"] == "cancelled"
    assert time.monotonic() - asked < 1.0
    calls = len(fake.calls)
    await asyncio.sleep(0.3)
    assert len(fake.calls) == calls  # the generator thread stopped too
    assert await Generation.all().count() == 0
    assert not [e for e in PUBLISHED if e.type == "ai.course_generated.v1"]


async def test_a_redelivered_task_saves_no_second_course(lyo_app: Any) -> None:
    client = lyo_app.test_client()
    accepted = await (await start(client)).get_json()
    run = await wait_for_task(client, accepted["task_id"])
    ctx = TaskContext(
        uuid.UUID(accepted["task_id"]), generate_course.name, 2, AUTHOR, None, lyo_app.kernel
    )
    again = await generate_course.func(ctx, **BODY)
    assert again["course_id"] == run["result"]["course_id"]
    assert await Generation.all().count() == 1
    response = await client.get("/api/learning/courses?author=me", headers=auth("author"))
    assert (await response.get_json())["total"] == 1


async def test_a_missing_model_package_degrades_the_plugin(
    monkeypatch: pytest.MonkeyPatch, lyo_settings: Any
) -> None:
    monkeypatch.setenv("LYO_AI__MODEL", "pkg:no-such-model-package")
    RUNNER.install(None)  # the real path: no installed generator
    from ai_support import auth_standin
    from lyo_ai import plugin as ai
    from lyo_learning import plugin as learning

    from kernel import create_app

    app = create_app(lyo_settings, [auth_standin(), learning, ai], discover=False)
    async with app.test_app():
        client = app.test_client()
        response = await start(client)
        assert response.status_code == 503
        assert response.headers["Content-Type"].startswith("application/problem+json")
        detail = (await response.get_json())["detail"]
        assert "not installed" in detail or "is not installed" in detail
        plugins = await (await client.get("/-/plugins")).get_json()
        [entry] = (
            [p for p in plugins if p["name"] == "ai"]
            if isinstance(plugins, list)
            else [p for p in plugins["plugins"] if p["name"] == "ai"]
        )
        assert "not installed" in entry["degraded"]
        ready = await (await client.get("/health/ready")).get_json()
        assert "not installed" in str(ready)
        assert (await client.get("/api/learning/courses")).status_code == 200  # others serve


async def test_a_checksum_mismatch_refuses_to_load_and_degrades(
    monkeypatch: pytest.MonkeyPatch, lyo_settings: Any, tmp_path: Path
) -> None:
    # without torch the plugin is degraded before it ever looks at the artifact
    pytest.importorskip("torch", reason="the checksum is checked where the model loads")
    pytest.importorskip("transformers", reason="the checksum is checked where the model loads")
    pytest.importorskip("gguf", reason="the checksum is checked where the model loads")
    model = tmp_path / "model.gguf"
    model.write_bytes(b"not really a model")
    monkeypatch.setenv("LYO_AI__MODEL", str(model))
    monkeypatch.setenv("LYO_AI__SHA256", "0" * 64)
    monkeypatch.setenv("LYO_AI__LOAD_FAILURE_THRESHOLD", "2")
    RUNNER.install(None)
    from ai_support import auth_standin
    from lyo_ai import plugin as ai
    from lyo_learning import plugin as learning

    from kernel import create_app

    app = create_app(lyo_settings, [auth_standin(), learning, ai], discover=False)
    async with app.test_app():
        client = app.test_client()
        accepted = await (await start(client)).get_json()
        run = await wait_for_task(client, accepted["task_id"])
        assert run["status"] == "failed"
        assert "sha256" in run["problem"]["detail"]
        assert run["attempts"] == 2  # the retry met the same artifact
        response = await start(client)
        assert response.status_code == 503
        assert "sha256" in (await response.get_json())["detail"]
        breaker = app.kernel.breakers["ai"]["model-load"]
        assert breaker.state == "open"  # two failures in a row: wait before trying again
        assert "torch" not in str(run["problem"])  # refused before any model library ran
