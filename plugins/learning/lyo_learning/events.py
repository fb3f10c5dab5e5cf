"""The events this plugin publishes, through the kernel's outbox: each exists if and only
if the change it reports was committed. Subscribe with the type string
(``@kernel.on("learning.course_completed.v1", id="<plugin>:<name>")``) or with these
classes to get the payload validated."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from kernel import Envelope, Event, Handler, on

from . import stats


class CoursePublished(Event):
    """A course became published (created published, or moved to published)."""

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


class CourseUpdated(Event):
    """A course or its lessons changed (not its status: see the other events).
    ``changed`` names the course fields that changed, plus ``lessons`` when its lessons
    were added, changed, moved or deleted."""

    type = "learning.course_updated.v1"
    course_id: UUID
    author_id: str
    status: str
    changed: list[str]
    updated_at: datetime


class CourseUnpublished(Event):
    """A published course went back to draft or was archived: it left the catalog."""

    type = "learning.course_unpublished.v1"
    course_id: UUID
    author_id: str
    status: str
    unpublished_at: datetime


class CourseDeleted(Event):
    """A course and everything in it was deleted (its author's account was erased and
    the course was not published)."""

    type = "learning.course_deleted.v1"
    course_id: UUID
    author_id: str
    deleted_at: datetime


class Unenrolled(Event):
    type = "learning.unenrolled.v1"
    enrollment_id: UUID
    user_id: str
    course_id: UUID
    unenrolled_at: datetime


class LessonCompleted(Event):
    """Once per (user, lesson): the first progress update that reaches 100 percent on a
    lesson without a quiz, or the first passing quiz attempt. ``attempts`` and ``score``
    (the percent that counts) are the quiz's; 0 and null without one."""

    type = "learning.lesson_completed.v1"
    user_id: str
    lesson_id: UUID
    course_id: UUID
    seconds_spent: int
    completed_at: datetime
    attempts: int = 0
    score: int | None = None


class QuizAttempted(Event):
    """A graded quiz attempt. ``score`` is this attempt's percent, ``counted_score`` the
    lesson's (best or last attempt, per ``LYO_LEARNING__QUIZ_SCORE``)."""

    type = "learning.quiz_attempted.v1"
    attempt_id: UUID
    user_id: str
    lesson_id: UUID
    course_id: UUID
    attempt: int
    quiz_version: int
    score: int
    passed: bool
    counted_score: int
    attempted_at: datetime


class CourseCompleted(Event):
    """Once per enrollment: the update that completed the course's last open lesson."""

    type = "learning.course_completed.v1"
    enrollment_id: UUID
    user_id: str
    course_id: UUID
    completed_at: datetime


EVENTS = (
    CoursePublished,
    CourseUpdated,
    CourseUnpublished,
    CourseDeleted,
    Enrolled,
    Unenrolled,
    LessonCompleted,
    QuizAttempted,
    CourseCompleted,
)


async def _forget_stats(envelope: Envelope) -> None:
    """A course's statistics changed: the next read recomputes them."""
    await stats.forget(envelope.payload["course_id"])


#: In-process (after commit, in the publishing process; the cache is shared with Redis).
HANDLERS: list[Handler] = [
    on(type_, id=f"learning:stats_{type_.split('.')[1]}", durable=False)(_forget_stats)
    for type_ in stats.INVALIDATED_BY
]
