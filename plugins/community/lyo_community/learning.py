"""Optional integration with the ``learning`` plugin: a discussion may be about a course
or one of its lessons. When learning is active, the ids are checked through its public
API (``lyo_learning.api.get_course``, imported only then): the course must exist and be
published (or be the caller's own), the lesson must belong to it. Without learning the
ids are kept as given, opaque."""

from __future__ import annotations

from uuid import UUID

from kernel import Identity, NotFound, ValidationFailed

from .settings import plugin


def learning_active() -> bool:
    learning = plugin.kernel.plugins.get("learning")
    return learning is not None and learning.state == "active"


async def check_course(course_id: UUID | None, lesson_id: UUID | None, identity: Identity) -> None:
    if lesson_id is not None and course_id is None:
        raise ValidationFailed.field("course_id", "Required with lesson_id.")
    if course_id is None or not learning_active():
        return
    try:
        from lyo_learning.api import get_course
    except ImportError:  # active but not importable: treat as absent
        return
    try:
        course = await get_course(course_id)
    except NotFound:
        course = None
    visible = course is not None and (
        str(course.status) == "published" or course.author_id == identity.id
    )
    if course is None or not visible:
        raise ValidationFailed.field("course_id", "No such course.")
    if lesson_id is not None and lesson_id not in {lesson.id for lesson in course.lessons}:
        raise ValidationFailed.field("lesson_id", "No such lesson in this course.")
