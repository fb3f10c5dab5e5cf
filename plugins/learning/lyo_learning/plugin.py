"""The ``learning`` plugin's hooks: manifest, models, routes and permissions.

Courses, lessons, enrollments and lesson progress with completion roll-up, served under
``/api/learning``; events through the kernel's outbox (:mod:`.events`); a public Python
API for other plugins (:mod:`.api`)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from kernel import Kernel, Manifest, Permission, hookimpl

from . import __version__
from .access import PERMISSIONS
from .routes import bp

NAME = "learning"


@hookimpl
def manifest() -> Manifest:
    return Manifest(
        name=NAME,
        version=__version__,
        description="Courses, lessons, enrollments and progress with completion roll-up.",
        needs=("authenticate",),  # someone authenticates; learning calls no lyo_auth code
        kernel=">=0.1,<0.2",
    )


@hookimpl
def models() -> list[str]:
    return ["lyo_learning.models"]


@hookimpl
def blueprints(kernel: Kernel) -> list[Blueprint]:
    return [bp]


@hookimpl
def permissions() -> dict[str, str | Permission]:
    return dict(PERMISSIONS)


@hookimpl
async def export_user(user_id: str) -> dict[str, Any] | None:
    """The courses the user wrote, their enrollments and their lesson progress."""
    from .models import Course, Enrollment, LessonProgress

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


@hookimpl
async def erase_user(user_id: str) -> None:
    """Delete the user's progress, enrollments and unpublished courses; published
    courses stay for their learners with the author removed (``author_id`` empty)."""
    from .models import Course, CourseStatus, Enrollment, LessonProgress

    await LessonProgress.filter(user_id=user_id).delete()
    await Enrollment.filter(user_id=user_id).delete()
    await Course.filter(author_id=user_id).exclude(status=CourseStatus.PUBLISHED).delete()
    await Course.filter(author_id=user_id).update(author_id="")
