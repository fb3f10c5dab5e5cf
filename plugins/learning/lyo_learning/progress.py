"""Enrollments, lesson progress and the completion roll-up.

Recording progress locks the caller's enrollment row first, so one user's updates in one
course run one at a time (on PostgreSQL ``SELECT ... FOR UPDATE``; SQLite runs one
transaction at a time anyway). Under that lock the roll-up counts completed lessons and
completes the enrollment once: concurrent updates of the last lesson complete it once,
and two different last lessons completed at the same moment cannot both miss it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from kernel import (
    Conflict,
    Identity,
    NotFound,
    Page,
    PageQuery,
    current_identity,
    paginate,
    publish,
    transaction,
)

from .access import can_see
from .events import CourseCompleted, Enrolled, LessonCompleted
from .models import Course, CourseStatus, Enrollment, Lesson, LessonProgress, ProgressStatus
from .schemas import CourseProgress, CourseRef, MyCourse, ProgressIn, ProgressOut


async def enroll(course_id: UUID, user_id: str) -> tuple[Enrollment, bool]:
    """Enroll ``user_id`` in a published course; returns the enrollment and whether it is
    new. Enrolling twice is harmless (the existing enrollment comes back)."""
    async with transaction():
        course = await Course.get_or_none(id=course_id)
        if course is None or course.status == CourseStatus.DRAFT:
            raise NotFound(f"No course {course_id}.")
        if course.status != CourseStatus.PUBLISHED:
            raise Conflict("This course is archived and takes no new enrollments.")
        existing = await Enrollment.get_or_none(user_id=user_id, course_id=course_id)
        if existing is not None:
            return existing, False
        try:
            async with transaction():  # a savepoint: a concurrent enroll may win the race
                enrollment = await Enrollment.create(user_id=user_id, course=course)
        except IntegrityError:
            return await Enrollment.get(user_id=user_id, course_id=course_id), False
        await publish(
            Enrolled(
                enrollment_id=enrollment.id,
                user_id=user_id,
                course_id=course_id,
                enrolled_at=enrollment.enrolled_at,
            )
        )
    return enrollment, True


async def unenroll(course_id: UUID, user_id: str, identity: Identity | None = None) -> None:
    """Leave a course. Lesson progress is kept: enrolling again continues from it, and a
    new enrollment completes (once) at the next progress update once every lesson is done.
    A course ``identity`` may not see (someone else's draft) is answered as missing,
    unless the user is enrolled in it."""
    course = await Course.get_or_none(id=course_id)
    left = await Enrollment.filter(user_id=user_id, course_id=course_id).delete() if course else 0
    if course is None or (not left and not can_see(identity or current_identity(), course)):
        raise NotFound(f"No course {course_id}.")


async def record(
    lesson_id: UUID, user_id: str, data: ProgressIn, identity: Identity | None = None
) -> ProgressOut:
    """Record progress on a lesson: idempotent, never backwards. Reaching 100 percent
    completes the lesson (event once); completing the last open lesson completes the
    enrollment (event once)."""
    async with transaction():
        lesson = await Lesson.get_or_none(id=lesson_id)
        if lesson is None:
            raise NotFound(f"No lesson {lesson_id}.")
        enrollment = await Enrollment.select_for_update().get_or_none(
            user_id=user_id, course_id=lesson.course_id
        )
        if enrollment is None:
            course = await Course.get(id=lesson.course_id)
            if not can_see(identity or current_identity(), course):  # a hidden draft's
                raise NotFound(f"No lesson {lesson_id}.")
            raise Conflict("Enroll in the course before recording progress on its lessons.")
        progress = await LessonProgress.get_or_none(user_id=user_id, lesson_id=lesson_id)
        new = progress is None
        if progress is None:
            progress = LessonProgress(user_id=user_id, lesson=lesson, course_id=lesson.course_id)
        changed, completed_now = _advance(progress, data)
        if changed or new:
            await progress.save()
        if completed_now:
            await _lesson_completed(progress)
        course = (await summarize(user_id, [enrollment]))[lesson.course_id]
        if course.total_lessons and course.completed_lessons == course.total_lessons:
            await _complete(enrollment, course)
    return ProgressOut(
        lesson_id=lesson.id,
        course_id=lesson.course_id,
        status=progress.status,
        percent=progress.percent,
        seconds_spent=progress.seconds_spent,
        completed_at=progress.completed_at,
        updated_at=progress.updated_at,
        course=course,
    )


def _advance(progress: LessonProgress, data: ProgressIn) -> tuple[bool, bool]:
    """Move ``progress`` forward to ``data``, never back. Returns whether anything changed
    and whether this update completed the lesson."""
    percent = max(progress.percent or 0, data.percent)
    seconds = max(progress.seconds_spent or 0, data.seconds_spent)
    changed = (percent, seconds) != (progress.percent, progress.seconds_spent)
    progress.percent, progress.seconds_spent = percent, seconds
    completed_now = percent == 100 and progress.completed_at is None
    if completed_now:
        progress.status = ProgressStatus.COMPLETED
        progress.completed_at = datetime.now(UTC)
    return changed, completed_now


async def _lesson_completed(progress: LessonProgress) -> None:
    assert progress.completed_at is not None
    await publish(
        LessonCompleted(
            user_id=progress.user_id,
            lesson_id=progress.lesson_id,
            course_id=progress.course_id,
            seconds_spent=progress.seconds_spent,
            completed_at=progress.completed_at,
        )
    )


async def _complete(enrollment: Enrollment, course: CourseProgress) -> None:
    """Complete the (locked) enrollment unless done already; the event goes out once."""
    if enrollment.completed_at is not None:
        return
    enrollment.completed_at = datetime.now(UTC)
    await enrollment.save(update_fields=["completed_at"])
    course.completed_at = enrollment.completed_at
    await publish(
        CourseCompleted(
            enrollment_id=enrollment.id,
            user_id=enrollment.user_id,
            course_id=enrollment.course_id,
            completed_at=enrollment.completed_at,
        )
    )


async def summarize(user_id: str, enrollments: Iterable[Enrollment]) -> dict[UUID, CourseProgress]:
    """Each enrollment's course progress, in two queries whatever their number."""
    by_course = {e.course_id: e for e in enrollments}
    ids = list(by_course)
    lessons = {
        row["course_id"]: row["n"]
        for row in await Lesson.filter(course_id__in=ids)
        .group_by("course_id")
        .annotate(n=Count("id"))
        .values("course_id", "n")
    }
    done = {
        row["course_id"]: row
        for row in await LessonProgress.filter(user_id=user_id, course_id__in=ids)
        .group_by("course_id")
        .annotate(
            total=Sum("percent"),
            completed=Count("id", _filter=Q(status=ProgressStatus.COMPLETED)),
        )
        .values("course_id", "total", "completed")
    }
    result = {}
    for course_id, enrollment in by_course.items():
        total_lessons = lessons.get(course_id, 0)
        row = done.get(course_id, {})
        # a deleted lesson's progress is deleted with it, so sums never exceed the total
        percent = int(row.get("total") or 0) // total_lessons if total_lessons else 0
        result[course_id] = CourseProgress(
            percent=min(percent, 100),
            completed_lessons=int(row.get("completed") or 0),
            total_lessons=total_lessons,
            completed_at=enrollment.completed_at,
        )
    return result


async def my_courses(user_id: str, query: PageQuery) -> Page[MyCourse]:
    """The caller's enrollments, newest first, each with its course and progress."""
    enrollments = Enrollment.filter(user_id=user_id).select_related("course")
    page = await paginate(enrollments.order_by("-enrolled_at", "-id"), query, lambda e: e)
    progress = await summarize(user_id, page.items)
    items = [
        MyCourse(
            course=CourseRef.model_validate(e.course, from_attributes=True),
            enrollment_id=e.id,
            enrolled_at=e.enrolled_at,
            progress=progress[e.course_id],
        )
        for e in page.items
    ]
    return Page[MyCourse](
        items=items, total=page.total, page=page.page, size=page.size, pages=page.pages
    )
