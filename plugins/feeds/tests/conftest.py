"""Fixtures for the feeds plugin: signed-in identities from ``token_plugin`` (feeds needs
no auth plugin) and the events of learning, ai, community and gamification declared
here by type string, as their publishers would send them (none of them is imported).

By default everything runs in-process (SQLite in memory, the in-memory broker: event
deliveries run inside the app). With ``LYO_TEST_DATABASE=postgres`` and
``LYO_TEST_REDIS=redis://...`` each test gets a fresh PostgreSQL database with the
migrations applied, and deliveries run in a real ``lyo worker`` (``lyo_worker``)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from lyo_feeds import plugin as feeds

import kernel
from kernel import Event, Identity
from kernel.testing import test_redis_url, token_plugin

PERMISSIONS = frozenset({"feeds:read", "feeds:follow"})
USERS = ("ada", "bob", "cy", "dee")
TOKENS = {f"{u}-token": Identity(id=u, permissions=PERMISSIONS, kind="user") for u in USERS}


def auth(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {user}-token"}


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LYO_DATABASE_URL", "sqlite://:memory:")
    # no embedding tasks (the default env has no torch); tests/test_discovery.py turns
    # them on
    monkeypatch.setenv("LYO_FEEDS__EMBEDDINGS", "false")


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [feeds, token_plugin(TOKENS)]


@pytest.fixture
def lyo_redis_url() -> str | None:
    return test_redis_url()


# -- the publishers' events, by type string ------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


class CoursePublished(Event):
    type = "learning.course_published.v1"
    course_id: UUID
    slug: str
    title: str
    author_id: str
    published_at: datetime


class Enrolled(Event):
    type = "learning.enrolled.v1"
    enrollment_id: UUID
    user_id: str
    course_id: UUID
    enrolled_at: datetime


class LessonCompleted(Event):
    type = "learning.lesson_completed.v1"
    user_id: str
    lesson_id: UUID
    course_id: UUID
    seconds_spent: int
    completed_at: datetime


class CourseCompleted(Event):
    type = "learning.course_completed.v1"
    enrollment_id: UUID
    user_id: str
    course_id: UUID
    completed_at: datetime


class CourseGenerated(Event):
    type = "ai.course_generated.v1"
    course_id: UUID
    task_id: UUID
    owner_id: str
    topic: str
    lesson_count: int
    model: str
    tokens: int


class DiscussionCreated(Event):
    """As the community plugin publishes it, plus an assumed ``status`` (held content)."""

    type = "community.discussion_created.v1"
    discussion_id: UUID
    author_id: str
    title: str
    course_id: UUID | None = None
    status: str | None = None
    created_at: datetime


class ReplyCreated(Event):
    type = "community.reply_created.v1"
    reply_id: UUID
    discussion_id: UUID
    author_id: str
    target_author_id: str
    discussion_author_id: str
    course_id: UUID | None = None
    created_at: datetime


class ContentModerated(Event):
    type = "community.content_moderated.v1"
    target_type: str
    target_id: UUID
    discussion_id: UUID
    author_id: str
    action: str


class AchievementUnlocked(Event):
    type = "gamification.achievement_unlocked.v1"
    user_id: str
    achievement: str
    name: str
    tier: int
    final: bool


class UserDeactivated(Event):
    type = "auth.user_deactivated.v1"
    user_id: str


def enrolled(user: str, course: UUID) -> Enrolled:
    return Enrolled(enrollment_id=uuid4(), user_id=user, course_id=course, enrolled_at=_now())


def lesson(user: str, course: UUID) -> LessonCompleted:
    return LessonCompleted(
        user_id=user, lesson_id=uuid4(), course_id=course, seconds_spent=60, completed_at=_now()
    )


def published(author: str, course: UUID, title: str) -> CoursePublished:
    return CoursePublished(
        course_id=course, slug="c", title=title, author_id=author, published_at=_now()
    )


async def publish(app: Any, *events: Event) -> None:
    app.kernel.activate()
    async with kernel.transaction():
        for event in events:
            await kernel.publish(event)


async def feed(
    client: Any, path: str, user: str, want: int | None = None, **query: Any
) -> dict[str, Any]:
    """GET a feed, waiting (up to 30 s) until it holds ``want`` items (deliveries are
    asynchronous: in the app, or in the worker)."""
    deadline = time.monotonic() + 30
    while True:
        response = await client.get(f"/api/feeds{path}", headers=auth(user), query_string=query)
        assert response.status_code == 200, await response.get_data()
        body: dict[str, Any] = await response.get_json()
        if want is None or len(body["items"]) == want or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.1)


async def settled(client: Any, path: str, user: str, check: Any) -> dict[str, Any]:
    """GET a feed until ``check(body)`` holds (at most 30 s), then return it."""
    deadline = time.monotonic() + 30
    while True:
        body = await feed(client, path, user)
        if check(body) or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.1)


async def follow(client: Any, user: str, kind: str, target: str) -> None:
    response = await client.post(
        "/api/feeds/follows", json={"kind": kind, "id": target}, headers=auth(user)
    )
    assert response.status_code in (200, 201), await response.get_data()
