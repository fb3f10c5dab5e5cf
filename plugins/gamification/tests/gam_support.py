"""Shared by the gamification tests: identities, events to publish, waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from lyo_learning.events import CourseCompleted, LessonCompleted

from kernel import Envelope, Event, Identity, on
from kernel.testing import make_plugin

ADA = str(uuid.UUID(int=1))
BOB = str(uuid.UUID(int=2))
ADMIN = str(uuid.UUID(int=99))
TOKENS = {
    "ada": Identity(id=ADA, kind="user"),
    "bob": Identity(id=BOB, kind="user"),
    "admin": Identity(id=ADMIN, kind="user", permissions=frozenset({"gamification:grant"})),
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class ReplyCreated(Event):
    """As the community plugin publishes it (only the fields the rules read)."""

    type = "community.reply_created.v1"
    reply_id: uuid.UUID
    discussion_id: uuid.UUID
    author_id: str
    course_id: uuid.UUID | None = None


class ReactionAdded(Event):
    type = "community.reaction_added.v1"
    target_type: str
    target_id: uuid.UUID
    discussion_id: uuid.UUID
    user_id: str
    target_author_id: str
    kind: str


class ContentModerated(Event):
    type = "community.content_moderated.v1"
    target_type: str
    target_id: uuid.UUID
    discussion_id: uuid.UUID
    author_id: str
    action: str  # hidden, unhidden, deleted, rejected, pinned...
    moderator_id: str | None = None


def lesson_done(
    user_id: str, course_id: uuid.UUID | None = None, at: datetime | None = None
) -> LessonCompleted:
    return LessonCompleted(
        user_id=user_id,
        lesson_id=uuid.uuid4(),
        course_id=course_id or uuid.uuid4(),
        seconds_spent=60,
        completed_at=at or datetime.now(UTC),
    )


def course_done(user_id: str, course_id: uuid.UUID, at: datetime | None = None) -> CourseCompleted:
    return CourseCompleted(
        enrollment_id=uuid.uuid4(),
        user_id=user_id,
        course_id=course_id,
        completed_at=at or datetime.now(UTC),
    )


def envelope(event: Event, at: datetime | None = None) -> Envelope:
    """An envelope as the relay hands it to a handler, for calling the engine directly."""
    return Envelope(
        id=uuid.uuid4(),
        type=event.type,
        version=1,
        occurred_at=at or datetime.now(UTC),
        payload=event.model_dump(mode="json"),
    )


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 60.0) -> Any:
    """Poll ``check`` until it answers something truthy (deliveries are asynchronous)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {within} s: {check.__name__}")
        await asyncio.sleep(0.1)


async def _record(envelope: Envelope) -> None:
    recorder.PUBLISHED.append(envelope)


recorder = SimpleNamespace(PUBLISHED=[])
recorder.plugin = make_plugin(
    "recorder",
    event_handlers=lambda: [
        on(t, id=f"recorder:{t.split('.')[1]}", durable=False)(_record)
        for t in (
            "gamification.points_awarded.v1",
            "gamification.achievement_unlocked.v1",
            "gamification.streak_extended.v1",
        )
    ],
)
