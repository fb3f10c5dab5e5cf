"""The events this plugin publishes, through the kernel's outbox: each exists if and only
if the change it reports was committed. Subscribe with the type string
(``@kernel.on("learning.course_completed.v1", id="<plugin>:<name>")``) or with these
classes to get the payload validated."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from kernel import Event


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


class LessonCompleted(Event):
    """Once per (user, lesson): the first progress update that reaches 100 percent."""

    type = "learning.lesson_completed.v1"
    user_id: str
    lesson_id: UUID
    course_id: UUID
    seconds_spent: int
    completed_at: datetime


class CourseCompleted(Event):
    """Once per enrollment: the update that completed the course's last open lesson."""

    type = "learning.course_completed.v1"
    enrollment_id: UUID
    user_id: str
    course_id: UUID
    completed_at: datetime


EVENTS = (CoursePublished, Enrolled, LessonCompleted, CourseCompleted)
