"""Enrollment, lesson progress and the completion roll-up, including under concurrency
(the concurrency tests go through a real server and real connections)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from learning_support import DELIVERED, LEARNER, auth, course_body, published
from lyo_learning.events import CourseCompleted

from kernel import Settings, create_app
from kernel.testing import serve

API = "/api/learning"


async def published_course(client: Any, lessons: int = 3, slug: str = "c") -> dict[str, Any]:
    body = course_body(slug, lessons=lessons, status="published")
    response = await client.post(f"{API}/courses", json=body, headers=auth("instructor"))
    assert response.status_code == 201
    return await response.get_json()  # type: ignore[no-any-return]


async def put_progress(
    client: Any, lesson_id: str, percent: int, seconds: int = 0, token: str = "learner"
) -> Any:
    return await client.put(
        f"{API}/lessons/{lesson_id}/progress",
        json={"percent": percent, "seconds_spent": seconds},
        headers=auth(token),
    )


async def test_enroll_is_idempotent_and_published_once(lyo_client: Any) -> None:
    course = await published_course(lyo_client)
    url = f"{API}/courses/{course['id']}/enroll"
    first = await lyo_client.post(url, headers=auth("learner"))
    assert first.status_code == 201
    again = await lyo_client.post(url, headers=auth("learner"))
    assert again.status_code == 200
    assert (await again.get_json())["id"] == (await first.get_json())["id"]
    assert [e["user_id"] for e in published("learning.enrolled.v1")] == [LEARNER.id]


async def test_enrolling_needs_permission_and_a_published_course(lyo_client: Any) -> None:
    draft = await (
        await lyo_client.post(
            f"{API}/courses", json=course_body("draft"), headers=auth("instructor")
        )
    ).get_json()
    assert (await lyo_client.post(f"{API}/courses/{draft['id']}/enroll")).status_code == 401
    response = await lyo_client.post(
        f"{API}/courses/{draft['id']}/enroll", headers=auth("instructor")
    )
    assert response.status_code == 403  # instructors hold learning:write, not enroll
    response = await lyo_client.post(f"{API}/courses/{draft['id']}/enroll", headers=auth("learner"))
    assert response.status_code == 404
    course = await published_course(lyo_client)
    await lyo_client.delete(f"{API}/courses/{course['id']}", headers=auth("instructor"))
    response = await lyo_client.post(
        f"{API}/courses/{course['id']}/enroll", headers=auth("learner")
    )
    assert response.status_code == 409


async def test_progress_needs_an_enrollment(lyo_client: Any) -> None:
    course = await published_course(lyo_client)
    response = await put_progress(lyo_client, course["lessons"][0]["id"], 10)
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"percent": 101}, "/percent"),
        ({"percent": -1}, "/percent"),
        ({"percent": 12.5}, "/percent"),
        ({}, "/percent"),
        ({"percent": 5, "seconds_spent": -3}, "/seconds_spent"),
        ({"percent": 5, "extra": 1}, "/extra"),
    ],
)
async def test_invalid_progress_is_422(lyo_client: Any, body: dict[str, Any], pointer: str) -> None:
    course = await published_course(lyo_client)
    response = await lyo_client.put(
        f"{API}/lessons/{course['lessons'][0]['id']}/progress", json=body, headers=auth("learner")
    )
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in (await response.get_json())["errors"]]


async def test_progress_is_idempotent_and_never_goes_backwards(lyo_client: Any) -> None:
    course = await published_course(lyo_client, lessons=2)
    await lyo_client.post(f"{API}/courses/{course['id']}/enroll", headers=auth("learner"))
    lesson_id = course["lessons"][0]["id"]
    first = await (await put_progress(lyo_client, lesson_id, 60, 120)).get_json()
    same = await (await put_progress(lyo_client, lesson_id, 60, 120)).get_json()
    assert same == first
    back = await (await put_progress(lyo_client, lesson_id, 20, 30)).get_json()
    assert (back["percent"], back["seconds_spent"], back["status"]) == (60, 120, "in_progress")
    assert back["updated_at"] == first["updated_at"]  # nothing changed, nothing written
    assert back["course"] == {
        "percent": 30,
        "completed_lessons": 0,
        "total_lessons": 2,
        "completed_at": None,
    }
    done = await (await put_progress(lyo_client, lesson_id, 100, 300)).get_json()
    assert done["status"] == "completed" and done["completed_at"] is not None
    again = await (await put_progress(lyo_client, lesson_id, 100, 300)).get_json()
    assert again["completed_at"] == done["completed_at"]
    assert len(published("learning.lesson_completed.v1")) == 1
    assert published("learning.course_completed.v1") == []


async def test_completing_the_last_lesson_completes_the_course_once(lyo_client: Any) -> None:
    course = await published_course(lyo_client, lessons=2)
    await lyo_client.post(f"{API}/courses/{course['id']}/enroll", headers=auth("learner"))
    first, last = (x["id"] for x in course["lessons"])
    await put_progress(lyo_client, last, 100)
    body = await (await put_progress(lyo_client, first, 100)).get_json()
    assert body["course"]["percent"] == 100 and body["course"]["completed_lessons"] == 2
    assert body["course"]["completed_at"] is not None
    await put_progress(lyo_client, first, 100)
    (event,) = published("learning.course_completed.v1")
    assert event["user_id"] == LEARNER.id and event["course_id"] == course["id"]
    assert sorted(e["lesson_id"] for e in published("learning.lesson_completed.v1")) == sorted(
        [first, last]
    )
    for _ in range(100):  # durable delivery: outbox, relay, a kernel:deliver task
        if DELIVERED:
            break
        await asyncio.sleep(0.05)
    (delivered,) = DELIVERED
    assert isinstance(delivered.event, CourseCompleted)
    assert str(delivered.event.enrollment_id) == event["enrollment_id"]


async def test_my_courses_with_progress(lyo_client: Any) -> None:
    one = await published_course(lyo_client, lessons=2, slug="one")
    two = await published_course(lyo_client, lessons=4, slug="two")
    for course in (one, two):
        await lyo_client.post(f"{API}/courses/{course['id']}/enroll", headers=auth("learner"))
    await put_progress(lyo_client, one["lessons"][0]["id"], 100)
    await put_progress(lyo_client, one["lessons"][1]["id"], 100)
    await put_progress(lyo_client, two["lessons"][0]["id"], 50)
    await lyo_client.post(f"{API}/courses/{two['id']}/enroll", headers=auth("other-learner"))
    response = await lyo_client.get(f"{API}/me/courses", headers=auth("learner"))
    assert response.status_code == 200
    body = await response.get_json()
    assert body["total"] == 2
    by_slug = {item["course"]["slug"]: item["progress"] for item in body["items"]}
    assert by_slug["one"]["percent"] == 100 and by_slug["one"]["completed_at"] is not None
    assert by_slug["two"] == {
        "percent": 12,
        "completed_lessons": 0,
        "total_lessons": 4,
        "completed_at": None,
    }
    other = await (
        await lyo_client.get(f"{API}/me/courses", headers=auth("other-learner"))
    ).get_json()
    assert [x["progress"]["percent"] for x in other["items"]] == [0]
    assert (await lyo_client.get(f"{API}/me/courses")).status_code == 401


async def test_unenroll_keeps_progress_and_a_new_enrollment_completes_again(
    lyo_client: Any,
) -> None:
    course = await published_course(lyo_client, lessons=1)
    enroll = f"{API}/courses/{course['id']}/enroll"
    lesson_id = course["lessons"][0]["id"]
    await lyo_client.post(enroll, headers=auth("learner"))
    await put_progress(lyo_client, lesson_id, 100)
    assert (await lyo_client.delete(enroll, headers=auth("learner"))).status_code == 204
    assert (await lyo_client.delete(enroll, headers=auth("learner"))).status_code == 204
    mine = await (await lyo_client.get(f"{API}/me/courses", headers=auth("learner"))).get_json()
    assert mine["total"] == 0
    assert (await put_progress(lyo_client, lesson_id, 100)).status_code == 409
    await lyo_client.post(enroll, headers=auth("learner"))
    body = await (await put_progress(lyo_client, lesson_id, 100)).get_json()
    assert body["course"]["completed_at"] is not None
    assert len(published("learning.lesson_completed.v1")) == 1  # the lesson was done already
    assert len(published("learning.course_completed.v1")) == 2  # once per enrollment


# -- concurrency ---------------------------------------------------------------------------
# Meant for PostgreSQL, where concurrent transactions really interleave (without the
# enrollment row lock the first two tests fail there). On SQLite, Tortoise runs one
# transaction at a time per process, so these only confirm the exactly-once results.


@pytest.fixture
async def server(lyo_settings: Settings, lyo_plugins: list[object]) -> Any:
    """A real server with a pool as large as the concurrency, and a client for it."""
    settings = lyo_settings.model_copy(update={"database_pool_size": 20})
    app = create_app(settings, lyo_plugins, discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def _setup(client: httpx.AsyncClient, lessons: int, slug: str = "race") -> dict[str, Any]:
    body = course_body(slug, lessons=lessons, status="published")
    course = (await client.post(f"{API}/courses", json=body, headers=auth("instructor"))).json()
    enrolled = await client.post(f"{API}/courses/{course['id']}/enroll", headers=auth("learner"))
    assert enrolled.status_code == 201
    return course  # type: ignore[no-any-return]


async def _put(client: httpx.AsyncClient, lesson_id: str, percent: int) -> int:
    response = await client.put(
        f"{API}/lessons/{lesson_id}/progress",
        json={"percent": percent, "seconds_spent": percent},
        headers=auth("learner"),
    )
    return response.status_code


async def _settled(type_: str, count: int) -> list[dict[str, Any]]:
    """In-process handlers run just after commit: give the last ones a moment."""
    for _ in range(50):
        if len(published(type_)) >= count:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    return published(type_)


async def test_20_concurrent_updates_of_the_last_lesson_complete_the_course_once(
    server: httpx.AsyncClient,
) -> None:
    course = await _setup(server, lessons=3)
    *earlier, last = (x["id"] for x in course["lessons"])
    for lesson_id in earlier:
        assert await _put(server, lesson_id, 100) == 200
    statuses = await asyncio.gather(*(_put(server, last, 100) for _ in range(20)))
    assert statuses == [200] * 20
    assert len(await _settled("learning.course_completed.v1", 1)) == 1
    assert len(await _settled("learning.lesson_completed.v1", 3)) == 3
    mine = (await server.get(f"{API}/me/courses", headers=auth("learner"))).json()
    assert mine["items"][0]["progress"]["percent"] == 100


async def test_the_last_two_lessons_completed_at_once_still_complete_the_course(
    server: httpx.AsyncClient,
) -> None:
    """Each update alone sees the other lesson unfinished unless updates of one
    enrollment are serialized: then exactly one of them completes the course."""
    for round_ in range(5):
        course = await _setup(server, lessons=2, slug=f"race-{round_}")
        first, last = (x["id"] for x in course["lessons"])
        statuses = await asyncio.gather(
            *(_put(server, lesson_id, 100) for lesson_id in [first, last] * 5)
        )
        assert set(statuses) == {200}
        assert len(await _settled("learning.course_completed.v1", round_ + 1)) == round_ + 1


async def test_concurrent_enrollments_make_one(server: httpx.AsyncClient) -> None:
    body = course_body("popular", lessons=1, status="published")
    course = (await server.post(f"{API}/courses", json=body, headers=auth("instructor"))).json()
    responses = await asyncio.gather(
        *(
            server.post(f"{API}/courses/{course['id']}/enroll", headers=auth("learner"))
            for _ in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(await _settled("learning.enrolled.v1", 1)) == 1
