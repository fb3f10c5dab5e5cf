"""Quiz attempts: grading a submission on the server, recording it, and completing the
lesson when its pass mark is reached.

A submission runs under the caller's enrollment row lock (:func:`progress.enrolled_lesson`),
so one learner's parallel submissions are counted one at a time and never pass the
maximum; the unique (user, lesson, number) constraint backs that up. Each attempt points
at the :class:`QuizVersion` it was graded against (the quiz and its answers as they were),
and stores its own answers, results and score, so editing a quiz later changes no
recorded score: the edit makes a new version.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError

from kernel import Conflict, Identity, NotFound, Page, PageQuery, paginate, publish, transaction

from .access import can_see
from .events import QuizAttempted
from .grading import grade, questions
from .models import Enrollment, Lesson, LessonProgress, QuizAttempt, QuizVersion
from .progress import (
    complete_lesson,
    enrolled_lesson,
    lesson_completed,
    lesson_progress,
    roll_up,
)
from .quiz_schemas import QuizAttemptOut, QuizResult, QuizSubmission
from .settings import plugin


def pass_mark(lesson: Lesson) -> int:
    """The lesson's pass mark, or the plugin's default."""
    default: int = plugin.settings.quiz_pass_mark
    return default if lesson.pass_mark is None else lesson.pass_mark


async def snapshot(lesson: Lesson, quiz: list[dict[str, Any]]) -> QuizVersion:
    """The stored copy of the lesson's quiz at its current version, made on first use.
    ``lesson`` was read in one row, so its content belongs to its ``quiz_version``."""
    found = await QuizVersion.get_or_none(lesson_id=lesson.id, version=lesson.quiz_version)
    if found is not None:
        return found
    try:
        async with transaction():  # a savepoint: another learner may store it first
            return await QuizVersion.create(
                lesson=lesson,
                version=lesson.quiz_version,
                questions=quiz,
                pass_mark=pass_mark(lesson),
            )
    except IntegrityError:
        return await QuizVersion.get(lesson_id=lesson.id, version=lesson.quiz_version)


def _counted(progress: LessonProgress, score: int) -> int:
    if plugin.settings.quiz_score == "last" or progress.score is None:
        return score
    return max(progress.score, score)


async def submit(
    lesson_id: UUID, user_id: str, data: QuizSubmission, identity: Identity | None = None
) -> QuizResult:
    """Grade ``data`` against the lesson's quiz and record the attempt (see the module
    docstring). 404: no such lesson or it has no quiz; 409: not enrolled, the quiz
    changed since ``data.quiz_version``, or no attempts left; 422: wrong answers' shape."""
    async with transaction():
        lesson, enrollment = await enrolled_lesson(lesson_id, user_id, identity)
        quiz = questions(lesson.content)
        if not quiz:
            raise NotFound(f"Lesson {lesson_id} has no quiz.")
        if data.quiz_version is not None and data.quiz_version != lesson.quiz_version:
            raise Conflict(
                "The quiz changed since you read it: read the lesson again.",
                quiz_version=lesson.quiz_version,
            )
        progress, _ = await lesson_progress(lesson, user_id)
        limit: int = plugin.settings.quiz_max_attempts
        if limit and progress.attempts >= limit:
            raise Conflict(f"No attempts left: the quiz allows {limit}.", attempts=limit)
        version = await snapshot(lesson, quiz)
        result = grade(version.questions, data.answers, version.pass_mark)
        progress.attempts += 1
        attempt = await QuizAttempt.create(
            user_id=user_id,
            lesson=lesson,
            course_id=lesson.course_id,
            quiz=version,
            number=progress.attempts,
            answers=data.answers,
            results=result.results,
            score=result.score,
            passed=result.passed,
        )
        progress.score = _counted(progress, result.score)
        completed_now = result.passed and progress.completed_at is None
        if completed_now:
            complete_lesson(progress)
        await progress.save()
        await publish(
            QuizAttempted(
                attempt_id=attempt.id,
                user_id=user_id,
                lesson_id=lesson.id,
                course_id=lesson.course_id,
                attempt=attempt.number,
                quiz_version=version.version,
                score=result.score,
                passed=result.passed,
                counted_score=progress.score,
                attempted_at=attempt.created_at,
            )
        )
        if completed_now:
            await lesson_completed(progress)
        await roll_up(user_id, enrollment)
    return QuizResult(
        attempt_id=attempt.id,
        lesson_id=lesson.id,
        course_id=lesson.course_id,
        attempt=attempt.number,
        attempts_left=max(limit - attempt.number, 0) if limit else None,
        quiz_version=version.version,
        correct=result.correct,
        questions=len(result.results),
        score=result.score,
        pass_mark=version.pass_mark,
        passed=result.passed,
        results=result.results,
        counted_score=progress.score,
        lesson_completed=progress.completed_at is not None,
        created_at=attempt.created_at,
    )


async def my_attempts(
    lesson_id: UUID, user_id: str, identity: Identity, query: PageQuery
) -> Page[QuizAttemptOut]:
    """The caller's attempts at the lesson's quiz, newest first. Like progress, they
    outlive an enrollment; a lesson of a course the caller may not see and is not
    enrolled in is a 404 (as is an unknown one)."""
    lesson = await Lesson.get_or_none(id=lesson_id).select_related("course")
    if lesson is None or (
        not can_see(identity, lesson.course)
        and not await Enrollment.exists(user_id=user_id, course_id=lesson.course_id)
    ):
        raise NotFound(f"No lesson {lesson_id}.")
    attempts = QuizAttempt.filter(user_id=user_id, lesson_id=lesson_id).select_related("quiz")
    return await paginate(attempts.order_by("-number"), query, _attempt_out)


def _attempt_out(attempt: QuizAttempt) -> QuizAttemptOut:
    return QuizAttemptOut(
        attempt_id=attempt.id,
        lesson_id=attempt.lesson_id,
        course_id=attempt.course_id,
        attempt=attempt.number,
        quiz_version=attempt.quiz.version,
        answers=attempt.answers,
        results=attempt.results,
        correct=sum(attempt.results),
        questions=len(attempt.results),
        score=attempt.score,
        pass_mark=attempt.quiz.pass_mark,
        passed=attempt.passed,
        created_at=attempt.created_at,
    )
