"""A course that leaves the catalog (``learning.course_unpublished.v1``,
``learning.course_deleted.v1``) leaves the feeds, discovery and search; a published
course whose text changed (``learning.course_updated.v1``) takes its new title."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from conftest import enrolled, feed, publish, published, settled
from lyo_feeds.models import Course, Embedding

from kernel import Event


class CourseUnpublished(Event):
    type = "learning.course_unpublished.v1"
    course_id: UUID
    author_id: str
    status: str
    unpublished_at: datetime


class CourseDeleted(Event):
    type = "learning.course_deleted.v1"
    course_id: UUID
    author_id: str
    deleted_at: datetime


class CourseUpdated(Event):
    type = "learning.course_updated.v1"
    course_id: UUID
    author_id: str
    status: str
    changed: list[str]
    updated_at: datetime


def now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("gone", ["unpublished", "deleted"])
async def test_a_course_that_left_the_catalog_leaves_the_feeds(
    lyo_client: Any, lyo_app: Any, lyo_worker: None, gone: str
) -> None:
    course, other = uuid4(), uuid4()
    await publish(lyo_app, published("dee", course, "Rust"), published("dee", other, "Go"))
    await publish(lyo_app, enrolled("bob", course), enrolled("bob", other))
    await feed(lyo_client, f"/courses/{course}", "cy", want=2)
    lyo_app.kernel.activate()
    for target in (course, other):  # as the embedding worker would have stored them
        vector = {"vector": b"\0" * 16, "model": "m", "text": "t", "title": "t"}
        await Embedding.update_or_create(vector, kind="course", object_id=str(target))

    if gone == "unpublished":
        event: Event = CourseUnpublished(
            course_id=course, author_id="dee", status="draft", unpublished_at=now()
        )
    else:
        event = CourseDeleted(course_id=course, author_id="dee", deleted_at=now())
    await publish(lyo_app, event)
    await settled(lyo_client, f"/courses/{course}", "cy", lambda b: b["items"] == [])
    assert len((await feed(lyo_client, f"/courses/{other}", "cy", want=2))["items"]) == 2
    lyo_app.kernel.activate()
    assert await Embedding.filter(kind="course").values_list("object_id", flat=True) == [str(other)]


async def test_an_updated_course_keeps_its_new_title_in_summaries(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    course = uuid4()
    await publish(lyo_app, published("dee", course, "Rust"), enrolled("bob", course))
    await feed(lyo_client, f"/courses/{course}", "cy", want=2)
    update = CourseUpdated(
        course_id=course, author_id="dee", status="published", changed=["slug"], updated_at=now()
    )
    await publish(lyo_app, update)  # nothing embedded changed: nothing to do
    lyo_app.kernel.activate()
    assert (await Course.get(id=str(course))).title == "Rust"
