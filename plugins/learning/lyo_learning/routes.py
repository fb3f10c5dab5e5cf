"""HTTP routes under ``/api/learning``. Thin: validate, check access, call the modules
that do the work (:mod:`.courses`, :mod:`.lessons`, :mod:`.progress`)."""

from __future__ import annotations

from uuid import UUID

from quart import Blueprint, Response
from quart_schema import validate_querystring, validate_request, validate_response

from kernel import (
    Identity,
    Page,
    PageQuery,
    current_identity,
    problem_responses,
    require,
    responds,
)

from . import catalog, courses, lessons, progress, quizzes, resume, stats
from .access import ENROLL, WRITE, can_edit
from .quiz_schemas import QuizAttemptOut, QuizResult, QuizSubmission
from .schemas import (
    CourseCreate,
    CourseDetail,
    CourseProgressDetail,
    CourseQuery,
    CourseSummary,
    CourseUpdate,
    EnrollmentOut,
    LessonCreate,
    LessonList,
    LessonOrder,
    LessonOut,
    LessonSummary,
    LessonUpdate,
    MyCourse,
    ProgressIn,
    ProgressOut,
)

bp = Blueprint("learning", __name__)
NO_CONTENT = ("", 204)


def _user() -> tuple[Identity, str]:
    """The caller and their id (routes calling this require a signed-in identity)."""
    identity = current_identity()
    assert identity.id is not None, "a signed-in identity without an id"
    return identity, identity.id


@bp.get("/courses")
@validate_querystring(CourseQuery)
@responds(Page[CourseSummary])
async def list_courses(query_args: CourseQuery) -> Response:
    """Courses with their lesson outlines, newest first. Filters: ``status``, ``level``,
    ``tag``, ``author`` (an id, or ``me``), ``q`` (in title or description). Without
    ``status`` or ``author``, only published courses."""
    return await catalog.page(query_args, current_identity())


@bp.post("/courses")
@require(WRITE)
@problem_responses(409)
@validate_request(CourseCreate)
@validate_response(CourseDetail, 201)
async def create_course(data: CourseCreate) -> tuple[CourseDetail, int]:
    """Create a course (with lessons, optionally) authored by the caller."""
    _, user_id = _user()
    course = await courses.create(data, author_id=user_id)
    return await courses.load_detail(course.id), 201


@bp.get("/courses/<uuid:course_id>")
@validate_response(CourseDetail)
async def get_course(course_id: UUID) -> CourseDetail:
    """A course with its lessons in order. Quiz answers only for those who may edit it."""
    identity = current_identity()
    course = await courses.visible_course(course_id, identity)
    return courses.detail(course, answers=can_edit(identity, course))


@bp.patch("/courses/<uuid:course_id>")
@require(WRITE)
@problem_responses(409)
@validate_request(CourseUpdate)
@validate_response(CourseDetail)
async def update_course(course_id: UUID, data: CourseUpdate) -> CourseDetail:
    """Change a course you author (any course, with ``learning:manage``)."""
    await courses.update(course_id, data, current_identity())
    return await courses.load_detail(course_id)


@bp.delete("/courses/<uuid:course_id>")
@require(WRITE)
async def archive_course(course_id: UUID) -> tuple[str, int]:
    """Archive a course: it leaves the catalog; enrolled learners keep it."""
    await courses.archive(course_id, current_identity())
    return NO_CONTENT


@bp.post("/courses/<uuid:course_id>/lessons")
@require(WRITE)
@problem_responses(409)
@validate_request(LessonCreate)
@validate_response(LessonOut, 201)
async def add_lesson(course_id: UUID, data: LessonCreate) -> tuple[LessonOut, int]:
    """Add a lesson at ``position`` (0 = first; later lessons move down), or last."""
    lesson = await lessons.add(course_id, data, current_identity())
    return courses.lesson_out(lesson), 201


@bp.patch("/lessons/<uuid:lesson_id>")
@require(WRITE)
@validate_request(LessonUpdate)
@validate_response(LessonOut)
async def update_lesson(lesson_id: UUID, data: LessonUpdate) -> LessonOut:
    """Change a lesson; ``position`` moves it within its course."""
    return courses.lesson_out(await lessons.update(lesson_id, data, current_identity()))


@bp.delete("/lessons/<uuid:lesson_id>")
@require(WRITE)
async def delete_lesson(lesson_id: UUID) -> tuple[str, int]:
    """Delete a lesson and the progress recorded on it."""
    await lessons.delete(lesson_id, current_identity())
    return NO_CONTENT


@bp.post("/courses/<uuid:course_id>/lessons/order")
@require(WRITE)
@validate_request(LessonOrder)
@validate_response(LessonList)
async def reorder_lessons(course_id: UUID, data: LessonOrder) -> LessonList:
    """Reorder all of a course's lessons at once (atomic)."""
    ordered = await lessons.reorder(course_id, data, current_identity())
    return LessonList(
        items=[LessonSummary.model_validate(x, from_attributes=True) for x in ordered]
    )


@bp.post("/courses/<uuid:course_id>/enroll")
@require(ENROLL)
@problem_responses(409)
@validate_response(EnrollmentOut, 201)
@validate_response(EnrollmentOut, 200)
async def enroll(course_id: UUID) -> tuple[EnrollmentOut, int]:
    """Enroll in a published course: 201, or 200 when already enrolled."""
    _, user_id = _user()
    enrollment, created = await progress.enroll(course_id, user_id)
    return EnrollmentOut.model_validate(enrollment, from_attributes=True), 201 if created else 200


@bp.delete("/courses/<uuid:course_id>/enroll")
@require(ENROLL)
async def unenroll(course_id: UUID) -> tuple[str, int]:
    """Leave a course (lesson progress is kept)."""
    _, user_id = _user()
    await progress.unenroll(course_id, user_id)
    return NO_CONTENT


@bp.put("/lessons/<uuid:lesson_id>/progress")
@require(ENROLL)
@problem_responses(409)
@validate_request(ProgressIn)
@validate_response(ProgressOut)
async def record_progress(lesson_id: UUID, data: ProgressIn) -> ProgressOut:
    """Record how far you got (``percent``, total ``seconds_spent``). Idempotent and
    never backwards; 100 completes the lesson, and the last lesson the course."""
    _, user_id = _user()
    return await progress.record(lesson_id, user_id, data)


@bp.post("/lessons/<uuid:lesson_id>/quiz")
@require(ENROLL)
@problem_responses(409)
@validate_request(QuizSubmission)
@validate_response(QuizResult, 201)
async def submit_quiz(lesson_id: UUID, data: QuizSubmission) -> tuple[QuizResult, int]:
    """Answer the lesson's quiz (one answer per question, in order): graded here, the
    attempt recorded; passing completes the lesson. 409 when no attempts are left."""
    identity, user_id = _user()
    return await quizzes.submit(lesson_id, user_id, data, identity), 201


@bp.get("/lessons/<uuid:lesson_id>/quiz/attempts")
@require(ENROLL)
@validate_querystring(PageQuery)
@validate_response(Page[QuizAttemptOut])
async def quiz_attempts(lesson_id: UUID, query_args: PageQuery) -> Page[QuizAttemptOut]:
    """Your attempts at the lesson's quiz, newest first: the answers you gave, which
    were right, the score and the pass mark of the quiz as you answered it."""
    identity, user_id = _user()
    return await quizzes.my_attempts(lesson_id, user_id, identity, query_args)


@bp.get("/courses/<uuid:course_id>/progress")
@require(ENROLL)
@validate_response(CourseProgressDetail)
async def course_progress(course_id: UUID) -> CourseProgressDetail:
    """Your progress in a course, lesson by lesson, and the lesson to resume from."""
    identity, user_id = _user()
    return await resume.course_progress(course_id, user_id, identity)


@bp.get("/courses/<uuid:course_id>/stats")
@require(WRITE)
@validate_querystring(stats.StatsQuery)
@validate_response(stats.CourseStats)
async def course_stats(course_id: UUID, query_args: stats.StatsQuery) -> stats.CourseStats:
    """How your course does: enrollments (per day over ``days``), active learners in the
    last 7 and 30 days, completion rate, each lesson's reach and drop-off, quiz pass
    rates. Cached; the course's events refresh it."""
    return await stats.course_stats(course_id, query_args, current_identity())


@bp.get("/me/courses")
@require(ENROLL)
@validate_querystring(PageQuery)
@validate_response(Page[MyCourse])
async def my_courses(query_args: PageQuery) -> Page[MyCourse]:
    """The courses you are enrolled in, newest enrollment first, with your progress and
    the lesson to resume from."""
    _, user_id = _user()
    return await progress.my_courses(user_id, query_args)
