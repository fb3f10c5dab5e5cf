"""Events become activities (actor, verb, object, target, audience, time), once per
source event, aggregated within the window, shown on the feeds of those who follow the
actor or the course, newest first with a cursor that stays put while activity arrives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from conftest import (
    AchievementUnlocked,
    CourseCompleted,
    enrolled,
    feed,
    follow,
    lesson,
    publish,
    published,
    settled,
)
from lyo_feeds.events import HANDLERS
from lyo_feeds.models import Activity, Source

from kernel import Envelope


async def test_learning_events_become_activity_of_followed_users(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    course = uuid4()
    await follow(lyo_client, "ada", "user", "bob")
    await publish(lyo_app, published("dee", course, "Python basics"))
    await publish(lyo_app, enrolled("bob", course))
    await publish(lyo_app, lesson("bob", course), lesson("bob", course), lesson("bob", course))
    body = await settled(
        lyo_client,
        "/me",
        "ada",
        lambda b: len(b["items"]) == 2 and max(i["count"] for i in b["items"]) == 3,
    )
    # the feed is in the order activities were made (created_at), which is the order a
    # worker happened to handle the events in, not the order they were published
    lessons, enrollment = sorted(body["items"], key=lambda item: item["verb"] == "enrolled")
    assert lessons["actor_id"] == "bob" and lessons["verb"] == "completed_lesson"
    assert lessons["target"] == {"type": "course", "id": str(course)}
    assert lessons["count"] == 3 and len(lessons["objects"]) == 3
    assert lessons["summary"] == "completed 3 lessons of Python basics"
    assert enrollment["verb"] == "enrolled" and enrollment["object"]["id"] == str(course)
    assert enrollment["summary"] == "enrolled in Python basics"
    # dee's publication is not in ada's feed (ada follows neither dee nor the course)...
    assert all(item["actor_id"] == "bob" for item in body["items"])
    # ...until ada follows the course
    await follow(lyo_client, "ada", "course", str(course))
    body = await feed(lyo_client, "/me", "ada", want=3)
    assert sorted(i["verb"] for i in body["items"]) == [
        "completed_lesson",
        "enrolled",
        "published_course",
    ]
    course_feed = await feed(lyo_client, f"/courses/{course}", "cy", want=3)
    assert {i["actor_id"] for i in course_feed["items"]} == {"bob", "dee"}


async def test_a_redelivered_event_counts_once(lyo_app: Any) -> None:
    """The same envelope handled twice (at-least-once delivery, a replay) is one
    activity of count 1, and a second lesson within the window joins it."""
    lyo_app.kernel.activate()
    handler = next(h for h in HANDLERS if h.type == "learning.lesson_completed.v1")
    course = uuid4()

    def envelope(event: Any) -> Envelope:
        return Envelope(
            id=uuid4(),
            type=event.type,
            version=1,
            occurred_at=datetime.now(UTC),
            request_id=None,
            payload=event.model_dump(mode="json"),
        )

    first = envelope(lesson("bob", course))
    await handler.func(first)
    await handler.func(first)
    [activity] = await Activity.all()
    assert activity.count == 1 and await Source.all().count() == 1
    await handler.func(envelope(lesson("bob", course)))
    [activity] = await Activity.all()
    assert activity.count == 2 and await Source.all().count() == 2


async def test_outside_the_window_a_new_activity_starts(lyo_app: Any) -> None:
    lyo_app.kernel.activate()
    handler = next(h for h in HANDLERS if h.type == "learning.lesson_completed.v1")
    course = uuid4()
    for _ in range(2):
        event = lesson("bob", course)
        await handler.func(
            Envelope(
                id=uuid4(),
                type=event.type,
                version=1,
                occurred_at=datetime.now(UTC),
                request_id=None,
                payload=event.model_dump(mode="json"),
            )
        )
        # the group began before the window: age it past the window
        await Activity.all().update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert await Activity.all().count() == 2


async def test_the_cursor_is_stable_while_activity_arrives(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    await follow(lyo_client, "ada", "user", "bob")
    for _ in range(5):
        await publish(lyo_app, enrolled("bob", uuid4()))
    await feed(lyo_client, "/me", "ada", want=5)
    first = await feed(lyo_client, "/me", "ada", size=2)
    assert first["next_cursor"]
    for _ in range(3):  # new activity at the head while ada reads on
        await publish(lyo_app, enrolled("bob", uuid4()))
    await feed(lyo_client, "/me", "ada", want=8)
    seen = [i["id"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await feed(lyo_client, "/me", "ada", size=2, cursor=cursor)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 5  # the first five, none twice, none skipped


async def test_completion_and_achievement_are_activity(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    course = uuid4()
    await publish(
        lyo_app,
        CourseCompleted(
            enrollment_id=uuid4(), user_id="bob", course_id=course, completed_at=datetime.now(UTC)
        ),
        AchievementUnlocked(
            user_id="bob", achievement="first_course", name="Graduate", tier=1, final=True
        ),
    )
    body = await feed(lyo_client, "/users/bob", "ada", want=2)
    assert {i["summary"] for i in body["items"]} == {"unlocked Graduate", f"completed {course}"}
