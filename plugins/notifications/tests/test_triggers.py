"""Events as their publishers send them become notifications for the right people: a
reply for the post's author, the discussion's author and its subscribers (the
publisher's ``recipient_ids``), never its author; a mention; a reaction; a course
update for the course's learners (read through the learning plugin's api). A
redelivered event still makes one notification per user and channel."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from conftest import sign_in
from lyo_auth import plugin as auth
from lyo_learning import plugin as learning
from lyo_learning.api import create_course
from lyo_notifications import plugin as notifications
from lyo_notifications.models import Address, Delivery, Notification

import kernel
from kernel import Envelope, Event
from kernel.data.models import HandledEvent

FCM = "cZ1xY2:APA91bH" + "x" * 140


class ReplyCreated(Event):  # the community plugin's shape, subscribed by type string
    type = "community.reply_created.v1"
    reply_id: UUID
    discussion_id: UUID
    author_id: str
    target_author_id: str
    discussion_author_id: str
    recipient_ids: list[str] = []
    created_at: datetime


class MentionCreated(Event):
    type = "community.mention_created.v1"
    reply_id: UUID
    discussion_id: UUID
    author_id: str
    recipient_ids: list[str]


class ReactionAdded(Event):
    type = "community.reaction_added.v1"
    target_type: str
    target_id: UUID
    discussion_id: UUID
    user_id: str
    target_author_id: str
    kind: str


class CourseUpdated(Event):
    type = "learning.course_updated.v1"
    course_id: UUID
    title: str
    author_id: str
    status: str = "published"


@pytest.fixture
def lyo_plugins(mailbox: Any) -> list[object]:
    return [auth, learning, notifications]


async def _publish(app: Any, event: Event) -> UUID:
    app.kernel.activate()
    async with kernel.transaction():
        return (await kernel.publish(event)).id


async def _items(user_id: str, want: int) -> list[Notification]:
    deadline = time.monotonic() + 30
    while ((found := await Notification.filter(user_id=user_id)) and len(found) < want) or (
        not found and want
    ):
        assert time.monotonic() < deadline, f"{len(found)} of {want}"
        await asyncio.sleep(0.1)
    return list(await Notification.filter(user_id=user_id).order_by("created_at"))


async def test_reply_mention_and_reaction_reach_whom_they_concern(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    ada, _ = await sign_in(lyo_client, "ada@example.com", "Ada")  # the discussion's author
    bob, _ = await sign_in(lyo_client, "bob@example.com", "Bob")  # whose reply is answered
    cat, _ = await sign_in(lyo_client, "cat@example.com", "Cat")  # subscribed
    dan, _ = await sign_in(lyo_client, "dan@example.com", "Dan")  # replies
    discussion = uuid4()
    await _publish(
        lyo_app,
        ReplyCreated(
            reply_id=uuid4(),
            discussion_id=discussion,
            author_id=dan,
            target_author_id=bob,
            discussion_author_id=ada,
            recipient_ids=[cat, dan],
            created_at=datetime.now(UTC),
        ),
    )
    for user_id in (ada, bob, cat):
        [item] = await _items(user_id, 1)
        assert item.title == "New reply" and item.category == "replies"
        assert item.body == "Dan replied in a discussion you take part in."
        assert item.data["discussion_id"] == str(discussion)
    assert not await Notification.filter(user_id=dan).exists()  # never its author

    await _publish(
        lyo_app,
        MentionCreated(
            reply_id=uuid4(), discussion_id=discussion, author_id=dan, recipient_ids=[bob]
        ),
    )
    mention = (await _items(bob, 2))[-1]
    assert (mention.title, mention.body) == (
        "You were mentioned",
        "Dan mentioned you in a discussion.",
    )

    await _publish(
        lyo_app,
        ReactionAdded(
            target_type="reply", target_id=uuid4(), discussion_id=discussion,
            user_id=ada, target_author_id=cat, kind="insightful",
        ),
    )  # fmt: skip
    reaction = (await _items(cat, 2))[-1]
    assert reaction.body == "Ada reacted insightful to your post."
    assert reaction.data["kind"] == "insightful"


async def test_a_course_update_reaches_its_learners(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    ada, ada_headers = await sign_in(lyo_client, "ada@example.com", "Ada")
    bob, _ = await sign_in(lyo_client, "bob@example.com", "Bob")
    cat, _ = await sign_in(lyo_client, "cat@example.com", "Cat")  # not enrolled
    lyo_app.kernel.activate()
    course = await create_course(
        {"title": "Knots", "status": "published", "lessons": [{"title": "Bowline"}]},
        author_id=bob,
    )
    enrolled = await lyo_client.post(
        f"/api/learning/courses/{course.id}/enroll", headers=ada_headers
    )
    assert enrolled.status_code == 201
    await _publish(lyo_app, CourseUpdated(course_id=course.id, title="Knots", author_id=bob))
    [item] = await _items(ada, 1)
    assert (item.category, item.body) == ("course_updates", "Knots has been updated.")
    assert not await Notification.filter(user_id__in=[bob, cat]).exists()
    # an author's burst of edits is one notice per window (an hour by default), and
    # edits to a course set back to draft notify nobody
    later = []
    for status in ("published", "published", "draft"):
        app_event = CourseUpdated(course_id=course.id, title="Knots", author_id=bob, status=status)
        later.append(await _publish(lyo_app, app_event))
    deadline = time.monotonic() + 30
    while await HandledEvent.filter(
        handler_id="notifications:learning_course_updated", event_id__in=later
    ).count() < len(later):
        assert time.monotonic() < deadline, "the updates were not handled"
        await asyncio.sleep(0.1)
    if int(time.time()) // 3600 == int(item.created_at.timestamp()) // 3600:  # same window
        assert await Notification.filter(user_id=ada).count() == 1


async def test_a_redelivered_event_notifies_once_per_user_and_channel(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    ada, headers = await sign_in(lyo_client, "ada@example.com", "Ada")
    bob, _ = await sign_in(lyo_client, "bob@example.com", "Bob")
    device = {"platform": "android", "token": FCM}
    await lyo_client.post("/api/notifications/devices", json=device, headers=headers)
    deadline = time.monotonic() + 30
    while not await Address.exists(user_id=ada):  # kept from the registration event
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    handler = lyo_app.kernel.events.handlers["notifications:community_reply_created"]
    envelope = Envelope(
        id=uuid4(),
        type="community.reply_created.v1",
        version=1,
        occurred_at=datetime.now(UTC),
        payload={
            "reply_id": str(uuid4()),
            "discussion_id": str(uuid4()),
            "author_id": bob,
            "target_author_id": ada,
            "discussion_author_id": ada,
        },
    )
    lyo_app.kernel.activate()
    for _ in range(3):  # what `lyo events replay` or a lost handled mark would do
        async with kernel.transaction():
            await handler.func(envelope)
    assert await Notification.filter(user_id=ada).count() == 1
    key = f"event:{envelope.id}"
    channels = await Delivery.filter(user_id=ada, key=key).values_list("channel", flat=True)
    assert sorted(channels) == ["email", "push"]
