"""Personal data (the ``export_user`` and ``erase_user`` hooks): the courses a user wrote,
their enrollments and their lesson progress."""

from __future__ import annotations

from typing import Any

from . import catalog
from .models import Course, CourseStatus, Enrollment, LessonProgress


async def export_user(user_id: str) -> dict[str, Any] | None:
    """The courses the user wrote, their enrollments and their lesson progress."""
    courses = (
        await Course.filter(author_id=user_id)
        .order_by("created_at")
        .values("id", "title", "status", "created_at", "published_at")
    )
    enrollments = (
        await Enrollment.filter(user_id=user_id)
        .order_by("enrolled_at")
        .values("course_id", "enrolled_at", "completed_at")
    )
    progress = (
        await LessonProgress.filter(user_id=user_id)
        .order_by("updated_at")
        .values("lesson_id", "course_id", "status", "percent", "seconds_spent", "completed_at")
    )
    if not (courses or enrollments or progress):
        return None
    return {"courses": courses, "enrollments": enrollments, "lesson_progress": progress}


async def erase_user(user_id: str) -> None:
    """Delete the user's progress, enrollments and unpublished courses; published
    courses stay for their learners with the author removed (``author_id`` empty)."""
    await LessonProgress.filter(user_id=user_id).delete()
    await Enrollment.filter(user_id=user_id).delete()
    await Course.filter(author_id=user_id).exclude(status=CourseStatus.PUBLISHED).delete()
    await Course.filter(author_id=user_id).update(author_id="")
    await catalog.changed()  # bulk writes send no model signals
