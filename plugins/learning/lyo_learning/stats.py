"""Instructor analytics: how one course does, from SQL aggregates, cached.

Five queries, whatever the number of learners, sent together (enrollments by (course,
enrolled_at), progress by (course, updated_at): both indexed; the quiz figures come
from each learner's progress row, which counts their attempts and keeps the score that
counts). The answer is cached in the kernel's cache (Redis when
configured) for ``LYO_LEARNING__STATS_CACHE_SECONDS`` and dropped at once by the
plugin's own events about the course (:data:`INVALIDATED_BY`, handled in
:mod:`.events`); progress that completes nothing publishes no event, so "active
learners" may lag by up to that time.

Definitions: enrollments are the current ones (leaving deletes one); a learner is
active in a window when their progress on any lesson of the course (a quiz attempt
included) changed in it; a lesson is *reached* by a learner with any progress on it,
and its ``drop_off`` is the share of those who reached the lesson before it (for the
first: of enrollments) who did not reach it; a quiz's pass rate is learners who passed
(completed the lesson) over learners who tried, its average score the mean of the
scores that count (best or last, per learner). Days are dates in the database's time zone (UTC).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pypika_tortoise import functions as sql
from tortoise.expressions import Q
from tortoise.functions import Avg, Count, Function, Sum

from kernel import Identity, NotFound

from .access import can_see, check_can_edit
from .models import Course, Enrollment, Lesson, LessonProgress, ProgressStatus
from .settings import plugin

#: The plugin's events after which a course's statistics are recomputed.
INVALIDATED_BY = (
    "learning.enrolled.v1",
    "learning.unenrolled.v1",
    "learning.lesson_completed.v1",
    "learning.quiz_attempted.v1",
    "learning.course_completed.v1",
    "learning.course_updated.v1",
    "learning.course_deleted.v1",
)


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: How many days of enrollments, one count a day, ending today.
    days: Annotated[int, Field(ge=1, le=366)] = 30


class DayCount(BaseModel):
    day: date
    enrollments: int


class QuizStats(BaseModel):
    attempts: int
    learners: int
    passed: int
    pass_rate: float
    average_score: float


class LessonStats(BaseModel):
    lesson_id: UUID
    position: int
    title: str
    reached: int
    completed: int
    drop_off: float
    quiz: QuizStats | None  # null: nobody tried its quiz yet (or it has none)


class CourseStats(BaseModel):
    course_id: UUID
    computed_at: datetime
    enrollments: int
    completed: int
    completion_rate: float
    active_learners_7d: int
    active_learners_30d: int
    enrollments_per_day: list[DayCount]
    lessons: list[LessonStats]


class _Day(Function):
    """``DATE(column)``: a timestamp's day, on SQLite and PostgreSQL alike."""

    database_func = sql.Date


async def course_stats(course_id: UUID, query: StatsQuery, identity: Identity) -> CourseStats:
    """The statistics of a course ``identity`` may edit (its author, or a manager):
    404 for one they may not see, 403 for someone else's."""
    course = await Course.get_or_none(id=course_id)
    if course is None or not can_see(identity, course):
        raise NotFound(f"No course {course_id}.")
    check_can_edit(identity, course)
    cached = await plugin.cache.get_or_set(
        _key(course_id, query.days),
        lambda: _compute(course_id, query.days),
        ttl=plugin.settings.stats_cache_seconds,
    )
    return CourseStats.model_validate(cached)


async def forget(course_id: UUID | str) -> None:
    """Drop every cached statistic of the course."""
    await plugin.cache.delete_prefix(f"stats:{course_id}:")


def _key(course_id: UUID, days: int) -> str:
    return f"stats:{course_id}:{days}"


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


async def _compute(course_id: UUID, days: int) -> dict[str, Any]:
    """The five aggregates, sent at once: on PostgreSQL each takes its own pooled
    connection, so a miss costs about the slowest of them, not their sum."""
    now = datetime.now(UTC)
    first_day = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), UTC)
    month, week = now - timedelta(days=30), now - timedelta(days=7)
    enrollments = Enrollment.filter(course_id=course_id)
    progress = LessonProgress.filter(course_id=course_id)
    totals, daily, active, outline, per_lesson = await asyncio.gather(
        enrollments.annotate(
            n=Count("id"), done=Count("id", _filter=Q(completed_at__isnull=False))
        ).values("n", "done"),
        enrollments.filter(enrolled_at__gte=since)
        .annotate(day=_Day("enrolled_at"))
        .group_by("day")
        .annotate(n=Count("id"))
        .values("day", "n"),
        progress.filter(updated_at__gte=month)
        .annotate(
            d30=Count("user_id", distinct=True),
            d7=Count("user_id", distinct=True, _filter=Q(updated_at__gte=week)),
        )
        .values("d7", "d30"),
        Lesson.filter(course_id=course_id).order_by("position").values("id", "position", "title"),
        progress.group_by("lesson_id")
        .annotate(
            reached=Count("id"),
            completed=Count("id", _filter=Q(status=ProgressStatus.COMPLETED)),
            tried=Count("id", _filter=Q(attempts__gt=0)),
            passers=Count("id", _filter=Q(attempts__gt=0, status=ProgressStatus.COMPLETED)),
            tries=Sum("attempts"),
            average=Avg("score"),
        )
        .values("lesson_id", "reached", "completed", "tried", "passers", "tries", "average"),
    )
    per_day = {_as_date(row["day"]): row["n"] for row in daily}
    enrolled, done = int(totals[0]["n"] or 0), int(totals[0]["done"] or 0)
    return CourseStats(
        course_id=course_id,
        computed_at=now,
        enrollments=enrolled,
        completed=done,
        completion_rate=_rate(done, enrolled),
        active_learners_7d=int(active[0]["d7"] or 0),
        active_learners_30d=int(active[0]["d30"] or 0),
        enrollments_per_day=[
            DayCount(day=day, enrollments=per_day.get(day, 0))
            for day in (first_day + timedelta(days=n) for n in range(days))
        ],
        lessons=_lessons(outline, {row["lesson_id"]: row for row in per_lesson}, enrolled),
    ).model_dump(mode="json")


def _as_date(value: Any) -> date:
    """SQLite's ``DATE()`` gives text, PostgreSQL's a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _lessons(
    outline: list[dict[str, Any]], progress: dict[UUID, dict[str, Any]], enrolled: int
) -> list[LessonStats]:
    lessons, before = [], enrolled
    for lesson in outline:
        row = progress.get(lesson["id"], {})
        reached, tried = int(row.get("reached") or 0), int(row.get("tried") or 0)
        quiz = None
        if tried:
            passed = int(row["passers"] or 0)
            quiz = QuizStats(
                attempts=int(row["tries"] or 0),
                learners=tried,
                passed=passed,
                pass_rate=_rate(passed, tried),
                average_score=round(float(row["average"] or 0), 2),
            )
        lessons.append(
            LessonStats(
                lesson_id=lesson["id"],
                position=lesson["position"],
                title=lesson["title"],
                reached=reached,
                completed=int(row.get("completed") or 0),
                drop_off=_rate(max(before - reached, 0), before),
                quiz=quiz,
            )
        )
        before = reached
    return lessons
