"""Where a learner stands: each lesson's progress in one course, and the lesson to
resume from (the first one, in course order, not completed yet), for one course or a
page of them in two queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from kernel import Identity, NotFound

from .access import can_see
from .grading import has_quiz
from .models import Course, Enrollment, Lesson, LessonProgress, ProgressStatus
from .schemas import CourseProgress, CourseProgressDetail, LessonProgressItem, Resume

_PROGRESS_FIELDS = (
    *("lesson_id", "status", "percent", "seconds_spent", "last_position", "attempts"),
    *("score", "completed_at", "updated_at"),
)


def _resume(outline: Iterable[dict[str, Any]], done: dict[UUID, dict[str, Any]]) -> Resume | None:
    for lesson in outline:
        row = done.get(lesson["id"])
        if row is None or row["status"] != ProgressStatus.COMPLETED:
            return Resume(
                lesson_id=lesson["id"],
                position=lesson["position"],
                title=lesson["title"],
                last_position=row["last_position"] if row else None,
            )
    return None


async def resume_points(user_id: str, course_ids: list[UUID]) -> dict[UUID, Resume | None]:
    """The lesson to resume from in each course (``None``: all done, or no lessons)."""
    outlines: dict[UUID, list[dict[str, Any]]] = {i: [] for i in course_ids}
    rows = Lesson.filter(course_id__in=course_ids).order_by("course_id", "position")
    for lesson in await rows.values("id", "course_id", "position", "title"):
        outlines[lesson["course_id"]].append(lesson)
    done = {
        row["lesson_id"]: row
        for row in await LessonProgress.filter(user_id=user_id, course_id__in=course_ids).values(
            "lesson_id", "status", "last_position"
        )
    }
    return {course_id: _resume(outlines[course_id], done) for course_id in course_ids}


async def course_progress(
    course_id: UUID, user_id: str, identity: Identity
) -> CourseProgressDetail:
    """The caller's progress in a course, lesson by lesson. Progress outlives an
    enrollment, so a former learner still reads theirs; a course the caller may not
    see and is not enrolled in is a 404."""
    course = await Course.get_or_none(id=course_id)
    enrollment = await Enrollment.get_or_none(user_id=user_id, course_id=course_id)
    if course is None or (enrollment is None and not can_see(identity, course)):
        raise NotFound(f"No course {course_id}.")
    lessons = await Lesson.filter(course_id=course_id).order_by("position")
    rows = await LessonProgress.filter(user_id=user_id, course_id=course_id).values(
        *_PROGRESS_FIELDS
    )
    done = {row["lesson_id"]: row for row in rows}
    items = [_item(lesson, done.get(lesson.id)) for lesson in lessons]
    progress = CourseProgress(  # as :func:`progress.summarize` derives it
        percent=sum(item.percent for item in items) // len(items) if items else 0,
        completed_lessons=sum(item.status == ProgressStatus.COMPLETED for item in items),
        total_lessons=len(items),
        completed_at=enrollment.completed_at if enrollment else None,
    )
    outline = [{"id": x.id, "position": x.position, "title": x.title} for x in lessons]
    return CourseProgressDetail(
        course_id=course_id,
        enrolled=enrollment is not None,
        progress=progress,
        resume=_resume(outline, done),
        lessons=items,
    )


def _item(lesson: Lesson, row: dict[str, Any] | None) -> LessonProgressItem:
    base = {
        "lesson_id": lesson.id,
        "position": lesson.position,
        "title": lesson.title,
        "has_quiz": has_quiz(lesson.content),
    }
    if row is None:
        return LessonProgressItem(
            **base,
            status="not_started",
            percent=0,
            seconds_spent=0,
            last_position=None,
            attempts=0,
            score=None,
            completed_at=None,
            updated_at=None,
        )
    values = {k: v for k, v in row.items() if k != "lesson_id"}
    return LessonProgressItem(**base, **{**values, "status": str(row["status"])})
