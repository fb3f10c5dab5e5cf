"""Helpers shared by the learning plugin's tests: identities and their tokens, an
``auth`` stand-in, a recorder of published events, a query counter and request bodies.
(A uniquely named module rather than ``conftest`` imports, so several plugins' test
folders can run in one pytest session.)"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

from lyo_learning.events import CourseCompleted

from kernel import Identity
from kernel.testing import recorder, token_plugin


def person(*permissions: str, role: str) -> Identity:
    return Identity(
        id=str(uuid4()), roles=frozenset({role}), permissions=frozenset(permissions), kind="user"
    )


ADMIN = person("*", role="admin")
INSTRUCTOR = person("learning:write", "ai:generate", role="instructor")
OTHER_INSTRUCTOR = person("learning:write", "ai:generate", role="instructor")
LEARNER = person("learning:enroll", role="learner")
OTHER_LEARNER = person("learning:enroll", role="learner")
TOKENS = {
    "admin": ADMIN,
    "instructor": INSTRUCTOR,
    "other-instructor": OTHER_INSTRUCTOR,
    "learner": LEARNER,
    "other-learner": OTHER_LEARNER,
}


def auth(token: str) -> dict[str, str]:
    """Headers signing a request in as ``TOKENS[token]``."""
    return {"Authorization": f"Bearer {token}"}


EVENT_TYPES = (
    "learning.course_published.v1",
    "learning.course_updated.v1",
    "learning.course_unpublished.v1",
    "learning.course_deleted.v1",
    "learning.enrolled.v1",
    "learning.unenrolled.v1",
    "learning.lesson_completed.v1",
    "learning.quiz_attempted.v1",
    "learning.course_completed.v1",
)
#: Every event the plugin published and committed, in order (in-process handlers run
#: after commit, so a rolled-back event never shows up here).
RECORDER = recorder(*EVENT_TYPES)
PUBLISHED = RECORDER.events
#: Events delivered to a durable handler (outbox → relay → task), validated into the
#: plugin's event class.
DURABLE = recorder(CourseCompleted, name="durable", durable=True)
DELIVERED = DURABLE.events


def published(type_: str) -> list[dict[str, Any]]:
    """Payloads of committed events of ``type_`` since the test began."""
    return RECORDER.payloads(type_)


def auth_standin() -> SimpleNamespace:
    """An authenticator (all this plugin needs of ``auth``): fixed tokens."""
    return token_plugin(TOKENS)


@contextlib.contextmanager
def count_queries() -> Iterator[SimpleNamespace]:
    """Count the SQL statements on this plugin's tables Tortoise sends while the block runs
    (it logs each one at DEBUG on ``tortoise.db_client``). The kernel's own background
    work, such as the in-process outbox relay, is left out."""
    counter = SimpleNamespace(count=0, statements=[])

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            verb = text.split(" ", 1)[0].upper()
            if verb in ("SELECT", "INSERT", "UPDATE", "DELETE") and '"learning_' in text:
                counter.count += 1
                counter.statements.append(text)

    logger = logging.getLogger("tortoise.db_client")
    handler, level = Counter(level=logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def lesson(title: str, minutes: int = 5) -> dict[str, Any]:
    return {
        "title": title,
        "estimated_minutes": minutes,
        "content": [{"type": "text", "text": f"About {title}."}],
    }


def course_body(slug: str, lessons: int = 2, **fields: Any) -> dict[str, Any]:
    return {
        "title": fields.pop("title", f"Course {slug}"),
        "slug": slug,
        "lessons": [lesson(f"{slug} lesson {n}") for n in range(lessons)],
        **fields,
    }
