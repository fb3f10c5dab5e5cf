"""Personal data (the ``export_user`` and ``erase_user`` hooks): the courses a user wrote,
their enrollments and their lesson progress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kernel import publish, transaction

from . import catalog
from .events import CourseDeleted
from .models import Course, CourseStatus, Enrollment, LessonProgress, QuizAttempt


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
    attempts = (
        await QuizAttempt.filter(user_id=user_id)
        .order_by("created_at")
        .values("lesson_id", "course_id", "number", "answers", "score", "passed", "created_at")
    )
    if not (courses or enrollments or progress or attempts):
        return None
    return {
        "courses": courses,
        "enrollments": enrollments,
        "lesson_progress": progress,
        "quiz_attempts": attempts,
    }


async def erase_user(user_id: str) -> None:
    """Delete the user's quiz attempts, progress, enrollments and unpublished courses
    (each announced as ``learning.course_deleted.v1``); published courses stay for their
    learners with the author removed (``author_id`` empty)."""
    async with transaction():
        await QuizAttempt.filter(user_id=user_id).delete()
        await LessonProgress.filter(user_id=user_id).delete()
        await Enrollment.filter(user_id=user_id).delete()
        unpublished = Course.filter(author_id=user_id).exclude(status=CourseStatus.PUBLISHED)
        for course_id in await unpublished.values_list("id", flat=True):
            await publish(
                CourseDeleted(course_id=course_id, author_id=user_id, deleted_at=datetime.now(UTC))
            )
        await unpublished.delete()
        await Course.filter(author_id=user_id).update(author_id="")
        await catalog.changed()  # bulk writes send no model signals
