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
from .events import CourseCompleted, Enrolled, LessonCompleted, Unenrolled
from .grading import has_quiz
from .models import Course, CourseStatus, Enrollment, Lesson, LessonProgress, ProgressStatus
from .resume import resume_points
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
    async with transaction():
        course = await Course.get_or_none(id=course_id)
        enrollment = await Enrollment.get_or_none(user_id=user_id, course_id=course_id)
        if course is None or (
            enrollment is None and not can_see(identity or current_identity(), course)
        ):
            raise NotFound(f"No course {course_id}.")
        # the delete's count decides, so two concurrent leaves announce it once
        if enrollment and await Enrollment.filter(id=enrollment.id).delete():
            await publish(
                Unenrolled(
                    enrollment_id=enrollment.id,
                    user_id=user_id,
                    course_id=course_id,
                    unenrolled_at=datetime.now(UTC),
                )
            )


async def enrolled_lesson(
    lesson_id: UUID, user_id: str, identity: Identity | None
) -> tuple[Lesson, Enrollment]:
    """The lesson and the caller's enrollment in its course, row-locked until the
    transaction ends (call inside one): one user's updates in one course run one at a
    time. 404 for a missing lesson or a hidden draft's, 409 when not enrolled."""
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
    return lesson, enrollment


async def roll_up(user_id: str, enrollment: Enrollment) -> CourseProgress:
    """The course's progress; completes the (locked) enrollment once every lesson is."""
    course = (await summarize(user_id, [enrollment]))[enrollment.course_id]
    if course.total_lessons and course.completed_lessons == course.total_lessons:
        await _complete(enrollment, course)
    return course


def progress_out(progress: LessonProgress, course: CourseProgress) -> ProgressOut:
    return ProgressOut(
        lesson_id=progress.lesson_id,
        course_id=progress.course_id,
        status=progress.status,
        percent=progress.percent,
        seconds_spent=progress.seconds_spent,
        last_position=progress.last_position,
        attempts=progress.attempts,
        score=progress.score,
        completed_at=progress.completed_at,
        updated_at=progress.updated_at,
        course=course,
    )


async def lesson_progress(lesson: Lesson, user_id: str) -> tuple[LessonProgress, bool]:
    """The user's progress row on ``lesson`` (unsaved when new) and whether it is new."""
    progress = await LessonProgress.get_or_none(user_id=user_id, lesson_id=lesson.id)
    if progress is not None:
        return progress, False
    return LessonProgress(user_id=user_id, lesson=lesson, course_id=lesson.course_id), True


async def record(
    lesson_id: UUID, user_id: str, data: ProgressIn, identity: Identity | None = None
) -> ProgressOut:
    """Record progress on a lesson: idempotent, never backwards. Reaching 100 percent
    completes a lesson without a quiz (event once; a quiz's lesson completes when the
    quiz is passed); completing the last open lesson completes the enrollment (once)."""
    async with transaction():
        lesson, enrollment = await enrolled_lesson(lesson_id, user_id, identity)
        progress, new = await lesson_progress(lesson, user_id)
        changed, completed_now = _advance(progress, data, quiz=has_quiz(lesson.content))
        if changed or new:
            await progress.save()
        if completed_now:
            await lesson_completed(progress)
        course = await roll_up(user_id, enrollment)
    return progress_out(progress, course)


def _advance(progress: LessonProgress, data: ProgressIn, *, quiz: bool) -> tuple[bool, bool]:
    """Move ``progress`` forward to ``data``, never back (``last_position`` is the
    latest). Returns whether anything changed and whether this completed the lesson."""
    percent = max(progress.percent or 0, data.percent)
    seconds = max(progress.seconds_spent or 0, data.seconds_spent)
    position = progress.last_position if data.last_position is None else data.last_position
    before = (progress.percent, progress.seconds_spent, progress.last_position)
    changed = (percent, seconds, position) != before
    progress.percent, progress.seconds_spent = percent, seconds
    progress.last_position = position
    completed_now = percent == 100 and progress.completed_at is None and not quiz
    if completed_now:
        complete_lesson(progress)
    return changed, completed_now


def complete_lesson(progress: LessonProgress) -> None:
    progress.percent = 100
    progress.status = ProgressStatus.COMPLETED
    progress.completed_at = datetime.now(UTC)


async def lesson_completed(progress: LessonProgress) -> None:
    assert progress.completed_at is not None
    await publish(
        LessonCompleted(
            user_id=progress.user_id,
            lesson_id=progress.lesson_id,
            course_id=progress.course_id,
            seconds_spent=progress.seconds_spent,
            completed_at=progress.completed_at,
            attempts=progress.attempts,
            score=progress.score,
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
    resume = await resume_points(user_id, [e.course_id for e in page.items])
    items = [
        MyCourse(
            course=CourseRef.model_validate(e.course, from_attributes=True),
            enrollment_id=e.id,
            enrolled_at=e.enrolled_at,
            progress=progress[e.course_id],
            resume=resume[e.course_id],
        )
        for e in page.items
    ]
    return Page[MyCourse](
        items=items, total=page.total, page=page.page, size=page.size, pages=page.pages
    )
