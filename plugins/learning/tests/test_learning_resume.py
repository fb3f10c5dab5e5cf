"""Reading progress back (per lesson, the resume pointer in ``/me/courses``) and the
events that keep other plugins current: course updated, unpublished, deleted, unenrolled."""

from __future__ import annotations

from typing import Any

from learning_support import INSTRUCTOR, LEARNER, auth, course_body, published
from lyo_learning import plugin as learning

API = "/api/learning"


async def _course(client: Any, lessons: int = 3, slug: str = "c", **fields: Any) -> Any:
    body = course_body(slug, lessons=lessons, status="published", **fields)
    response = await client.post(f"{API}/courses", json=body, headers=auth("instructor"))
    assert response.status_code == 201
    return await response.get_json()


async def _put(client: Any, lesson_id: str, **body: Any) -> Any:
    response = await client.put(
        f"{API}/lessons/{lesson_id}/progress", json=body, headers=auth("learner")
    )
    assert response.status_code == 200, await response.get_data()
    return await response.get_json()


async def test_progress_per_lesson_and_where_to_resume(lyo_client: Any) -> None:
    course = await _course(lyo_client)
    ids = [x["id"] for x in course["lessons"]]
    url = f"{API}/courses/{course['id']}/progress"
    await lyo_client.post(f"{API}/courses/{course['id']}/enroll", headers=auth("learner"))
    fresh = await (await lyo_client.get(url, headers=auth("learner"))).get_json()
    assert fresh["enrolled"] and fresh["resume"]["lesson_id"] == ids[0]
    assert [x["status"] for x in fresh["lessons"]] == ["not_started"] * 3
    await _put(lyo_client, ids[0], percent=100, seconds_spent=60)
    saved = await _put(lyo_client, ids[1], percent=40, last_position=12)
    assert saved["last_position"] == 12
    back = await _put(lyo_client, ids[1], percent=10, last_position=7)  # rewound the video
    assert (back["percent"], back["last_position"]) == (40, 7)
    mine = await (await lyo_client.get(url, headers=auth("learner"))).get_json()
    assert [(x["status"], x["percent"]) for x in mine["lessons"]] == [
        ("completed", 100),
        ("in_progress", 40),
        ("not_started", 0),
    ]
    assert mine["lessons"][0]["seconds_spent"] == 60 and mine["lessons"][1]["last_position"] == 7
    assert mine["resume"] == {
        "lesson_id": ids[1],
        "position": 1,
        "title": course["lessons"][1]["title"],
        "last_position": 7,
    }
    assert mine["progress"]["completed_lessons"] == 1 and mine["progress"]["percent"] == 46
    listed = await (await lyo_client.get(f"{API}/me/courses", headers=auth("learner"))).get_json()
    assert listed["items"][0]["resume"] == mine["resume"]
    other = await (await lyo_client.get(url, headers=auth("other-learner"))).get_json()
    assert not other["enrolled"] and other["progress"]["percent"] == 0  # never anyone else's
    for lesson_id in ids[1:]:
        await _put(lyo_client, lesson_id, percent=100)
    done = await (await lyo_client.get(url, headers=auth("learner"))).get_json()
    assert done["resume"] is None and done["progress"]["completed_at"] is not None
    listed = await (await lyo_client.get(f"{API}/me/courses", headers=auth("learner"))).get_json()
    assert listed["items"][0]["resume"] is None


async def test_progress_of_a_hidden_draft_is_404(lyo_client: Any) -> None:
    body = course_body("draft", lessons=1)
    draft = await (
        await lyo_client.post(f"{API}/courses", json=body, headers=auth("instructor"))
    ).get_json()
    url = f"{API}/courses/{draft['id']}/progress"
    assert (await lyo_client.get(url, headers=auth("learner"))).status_code == 404
    assert (await lyo_client.get(url)).status_code == 401


async def test_course_events(lyo_client: Any) -> None:
    course = await _course(lyo_client, lessons=2)
    url = f"{API}/courses/{course['id']}"
    same = await lyo_client.patch(url, json={"title": course["title"]}, headers=auth("instructor"))
    assert same.status_code == 200 and published("learning.course_updated.v1") == []
    await lyo_client.patch(url, json={"title": "New", "tags": ["sql"]}, headers=auth("instructor"))
    await lyo_client.post(f"{url}/lessons", json={"title": "Extra"}, headers=auth("instructor"))
    assert [e["changed"] for e in published("learning.course_updated.v1")] == [
        ["title", "tags"],
        ["lessons"],
    ]
    await lyo_client.patch(url, json={"status": "draft"}, headers=auth("instructor"))
    await lyo_client.patch(url, json={"status": "published"}, headers=auth("instructor"))
    await lyo_client.delete(url, headers=auth("instructor"))
    assert [e["status"] for e in published("learning.course_unpublished.v1")] == [
        "draft",
        "archived",
    ]
    assert len(published("learning.course_published.v1")) == 2


async def test_unenrolling_is_announced_once(lyo_client: Any) -> None:
    course = await _course(lyo_client, lessons=1)
    enroll = f"{API}/courses/{course['id']}/enroll"
    await lyo_client.post(enroll, headers=auth("learner"))
    assert (await lyo_client.delete(enroll, headers=auth("learner"))).status_code == 204
    assert (await lyo_client.delete(enroll, headers=auth("learner"))).status_code == 204
    (event,) = published("learning.unenrolled.v1")
    assert event["user_id"] == LEARNER.id and event["course_id"] == course["id"]


async def test_erasing_an_author_deletes_their_unpublished_courses(lyo_client: Any) -> None:
    kept = await _course(lyo_client, slug="kept")
    draft = await (
        await lyo_client.post(
            f"{API}/courses", json=course_body("gone", lessons=1), headers=auth("instructor")
        )
    ).get_json()
    await learning.erase_user(INSTRUCTOR.id)
    (event,) = published("learning.course_deleted.v1")
    assert event["course_id"] == draft["id"]
    assert (await lyo_client.get(f"{API}/courses/{kept['id']}")).status_code == 200
    assert (await lyo_client.get(f"{API}/courses/{draft['id']}")).status_code == 404
