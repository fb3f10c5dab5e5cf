"""The public Python API of the ``learning`` plugin, for plugins that declare
``requires={"learning": ">=0.1"}`` (the ``ai`` plugin saves generated courses here).

Everything else in ``lyo_learning`` is implementation and may change without notice.
These functions check no permission: the calling plugin checks its own (``ai:generate``)
at its boundary and passes who the author is.

Example::

    from lyo_learning.api import CourseCreate, create_course

    async with kernel.transaction():          # the caller's transaction, if it has one
        run = await save_generation_record(...)
        course = await create_course(
            {"title": "Intro to SQL", "lessons": [{"title": "SELECT", "content": [
                {"type": "text", "text": "..."}]}]},
            author_id=identity.id,
            metadata={"generator": "gemma-3-270m", "run": str(run.id)},
        )
    course.id, course.slug, [lesson.id for lesson in course.lessons]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from kernel import NotFound, ValidationFailed, current_identity, transaction

from . import courses
from .events import (
    CourseCompleted,
    CourseDeleted,
    CoursePublished,
    CourseUnpublished,
    CourseUpdated,
    Enrolled,
    LessonCompleted,
    QuizAttempted,
    Unenrolled,
)
from .models import Course, Enrollment
from .schemas import CourseCreate, CourseDetail, LessonIn

__all__ = [
    "CourseCompleted",
    "CourseCreate",
    "CourseDeleted",
    "CourseDetail",
    "CoursePublished",
    "CourseUnpublished",
    "CourseUpdated",
    "Enrolled",
    "LessonCompleted",
    "LessonIn",
    "QuizAttempted",
    "Unenrolled",
    "create_course",
    "enrolled_user_ids",
    "get_course",
]


async def create_course(
    course: CourseCreate | Mapping[str, Any],
    *,
    author_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> CourseDetail:
    """Create a course with its lessons (in order) and tags; return it as stored.

    ``course`` is a :class:`CourseCreate` or a mapping of its fields (validated: a bad
    field raises :class:`kernel.ValidationFailed`, a 422 naming it, pointers prefixed
    with nothing, e.g. ``/lessons/0/title``). ``author_id`` defaults to the current
    identity's id (in a task: its owner). ``metadata`` is merged over the course's own.

    Runs inside the caller's :func:`kernel.transaction` when there is one (as a
    savepoint: if this fails the caller may carry on; if the caller rolls back, the
    course and its ``learning.course_published.v1`` event vanish with it). A duplicate
    explicit slug raises :class:`kernel.Conflict` (409); without a slug one is made from
    the title. ``status="published"`` publishes the course at once.
    """
    data = _validated(course)
    if metadata:
        data = data.model_copy(update={"metadata": {**data.metadata, **metadata}})
    author = author_id or current_identity().id
    if not author:
        raise ValueError("create_course needs an author_id (no identity is signed in)")
    async with transaction():
        created = await courses.create(data, author_id=author)
        return await courses.load_detail(created.id)


async def get_course(course_id: UUID) -> CourseDetail:
    """A course with its lessons, whatever its status, quiz answers included (404
    :class:`kernel.NotFound`)."""
    return await courses.load_detail(course_id)


async def enrolled_user_ids(course_id: UUID) -> list[str]:
    """Who is enrolled in the course (user ids, in order): the audience of a message to
    its learners. :class:`kernel.NotFound` for an unknown course."""
    if not await Course.exists(id=course_id):
        raise NotFound("No such course.")
    rows = await (
        Enrollment.filter(course_id=course_id).order_by("user_id").values_list("user_id", flat=True)
    )
    return [str(user_id) for user_id in rows]


def _validated(course: CourseCreate | Mapping[str, Any]) -> CourseCreate:
    if isinstance(course, CourseCreate):
        return course
    try:
        return CourseCreate.model_validate(dict(course))
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from exc
