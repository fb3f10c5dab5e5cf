"""Instructor statistics: the figures, who may read them, and the cache the plugin's
events clear (on Redis when the suite runs on PostgreSQL with ``LYO_TEST_REDIS``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from learning_support import auth, course_body

from kernel.testing import test_redis_url

API = "/api/learning"
QUIZ = [{"type": "quiz", "question": "2 + 2?", "options": ["3", "4"], "answer": 1}]


@pytest.fixture
def lyo_redis_url() -> str | None:
    return test_redis_url()


async def _put(client: Any, lesson_id: str, percent: int, token: str) -> None:
    response = await client.put(
        f"{API}/lessons/{lesson_id}/progress", json={"percent": percent}, headers=auth(token)
    )
    assert response.status_code == 200


async def _stats(client: Any, course_id: str, token: str = "instructor", query: str = "") -> Any:
    response = await client.get(f"{API}/courses/{course_id}/stats{query}", headers=auth(token))
    assert response.status_code == 200, await response.get_data()
    return await response.get_json()


async def _setup(client: Any) -> tuple[str, list[str]]:
    body = course_body("stats", lessons=3, status="published")
    body["lessons"][1]["content"] = QUIZ
    course = await (
        await client.post(f"{API}/courses", json=body, headers=auth("instructor"))
    ).get_json()
    ids = [x["id"] for x in course["lessons"]]
    for token in ("learner", "other-learner", "admin"):
        await client.post(f"{API}/courses/{course['id']}/enroll", headers=auth(token))
    quiz = f"{API}/lessons/{ids[1]}/quiz"
    await _put(client, ids[0], 100, "learner")
    await client.post(quiz, json={"answers": [0]}, headers=auth("learner"))
    await client.post(quiz, json={"answers": [1]}, headers=auth("learner"))
    await _put(client, ids[2], 100, "learner")
    await _put(client, ids[0], 40, "other-learner")
    return course["id"], ids


async def test_the_figures(lyo_client: Any) -> None:
    course_id, ids = await _setup(lyo_client)
    stats = await _stats(lyo_client, course_id)
    assert (stats["enrollments"], stats["completed"], stats["completion_rate"]) == (3, 1, 0.3333)
    assert (stats["active_learners_7d"], stats["active_learners_30d"]) == (2, 2)
    days = stats["enrollments_per_day"]
    assert len(days) == 30 and days[-1] == {
        "day": datetime.now(UTC).date().isoformat(),
        "enrollments": 3,
    }
    assert sum(d["enrollments"] for d in days) == 3
    lessons = stats["lessons"]
    assert [x["lesson_id"] for x in lessons] == ids
    assert [(x["reached"], x["completed"], x["drop_off"]) for x in lessons] == [
        (2, 1, 0.3333),  # of 3 enrolled, 2 started the first lesson
        (1, 1, 0.5),
        (1, 1, 0.0),
    ]
    assert lessons[0]["quiz"] is None
    assert lessons[1]["quiz"] == {
        "attempts": 2,
        "learners": 1,
        "passed": 1,
        "pass_rate": 1.0,
        "average_score": 100.0,  # the scores that count: the learner's best
    }
    week = await _stats(lyo_client, course_id, query="?days=7")
    assert len(week["enrollments_per_day"]) == 7


async def test_cached_until_an_event_about_the_course(lyo_client: Any) -> None:
    course_id, ids = await _setup(lyo_client)
    first = await _stats(lyo_client, course_id)
    await _put(lyo_client, ids[1], 30, "other-learner")  # no event: the cache answers
    assert await _stats(lyo_client, course_id) == first
    await lyo_client.delete(f"{API}/courses/{course_id}/enroll", headers=auth("admin"))
    fresh = await _stats(lyo_client, course_id)  # learning.unenrolled.v1 cleared it
    assert fresh["enrollments"] == 2 and fresh["lessons"][1]["reached"] == 2
    assert fresh["computed_at"] > first["computed_at"]


async def test_only_for_the_courses_editors(lyo_client: Any) -> None:
    course_id, _ = await _setup(lyo_client)
    url = f"{API}/courses/{course_id}/stats"
    assert (await lyo_client.get(url)).status_code == 401
    assert (await lyo_client.get(url, headers=auth("learner"))).status_code == 403
    assert (await lyo_client.get(url, headers=auth("other-instructor"))).status_code == 403
    assert (await lyo_client.get(url, headers=auth("admin"))).status_code == 200  # manager
    draft = await (
        await lyo_client.post(
            f"{API}/courses", json=course_body("hidden", lessons=1), headers=auth("instructor")
        )
    ).get_json()
    hidden = await lyo_client.get(
        f"{API}/courses/{draft['id']}/stats", headers=auth("other-instructor")
    )
    assert hidden.status_code == 404  # someone else's draft does not exist
    for query in ("days=0", "days=367", "size=3"):
        response = await lyo_client.get(f"{url}?{query}", headers=auth("instructor"))
        assert response.status_code == 422
