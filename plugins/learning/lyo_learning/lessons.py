"""Lessons: add, change, move, delete and reorder, keeping positions dense (0..n-1).

Every change locks the course row first (:func:`courses.editable_course`), so changes to
one course's lessons run one at a time. Renumbering is atomic despite the unique
(course, position) constraint: one statement parks every row above
:data:`POSITION_OFFSET` (no parked value can meet a position in use), a second sets the
final positions (no final value can meet a parked one), both in the same transaction.
"""

from __future__ import annotations

from uuid import UUID

from tortoise.expressions import Case, F, When

from kernel import Conflict, Identity, NotFound, ValidationFailed, transaction

from .courses import announce, editable_course, lesson_content
from .grading import questions
from .models import MAX_LESSONS, POSITION_OFFSET, Course, Lesson
from .schemas import LessonCreate, LessonOrder, LessonUpdate


async def place(course_id: UUID, ordered: list[UUID]) -> None:
    """Give the lessons ``ordered`` (all of the course's) positions 0..n-1."""
    if not ordered:
        return
    await Lesson.filter(course_id=course_id).update(position=F("position") + POSITION_OFFSET)
    # the ELSE branch never applies (``ordered`` is every lesson); it gives PostgreSQL the
    # CASE's type, which parameters alone leave as text
    whens = (When(id=lesson_id, then=n) for n, lesson_id in enumerate(ordered))  # type: ignore[arg-type]
    await Lesson.filter(course_id=course_id).update(position=Case(*whens, default=F("position")))


async def _order(course_id: UUID) -> list[UUID]:
    ids = await Lesson.filter(course_id=course_id).order_by("position").values_list("id", flat=True)
    return list(ids)  # type: ignore[arg-type]


async def _touch(course: Course) -> None:
    """The course's lessons changed: say so (``learning.course_updated.v1``)."""
    await course.save(update_fields=["updated_at"])
    await announce(course, course.status, ["lessons"])


async def add(course_id: UUID, data: LessonCreate, identity: Identity) -> Lesson:
    """Add a lesson at ``data.position`` (later ones move down), or last."""
    async with transaction():
        course = await editable_course(course_id, identity)
        ordered = await _order(course.id)
        if len(ordered) >= MAX_LESSONS:
            raise Conflict(f"A course has at most {MAX_LESSONS} lessons.")
        lesson = await Lesson.create(
            course=course,
            position=len(ordered),
            title=data.title,
            content=lesson_content(data.content),
            estimated_minutes=data.estimated_minutes,
            pass_mark=data.pass_mark,
        )
        if data.position is not None and data.position < len(ordered):
            ordered.insert(data.position, lesson.id)
            await place(course.id, ordered)
            await lesson.refresh_from_db(fields=["position"])
        await _touch(course)
    return lesson


async def _locked_lesson(lesson_id: UUID, identity: Identity) -> tuple[Course, Lesson]:
    found = await Lesson.filter(id=lesson_id).only("id", "course_id").first()
    if found is None:
        raise NotFound(f"No lesson {lesson_id}.")
    course = await editable_course(found.course_id, identity)
    lesson = await Lesson.get_or_none(id=lesson_id)  # gone while we waited for the lock?
    if lesson is None:
        raise NotFound(f"No lesson {lesson_id}.")
    return course, lesson


async def update(lesson_id: UUID, data: LessonUpdate, identity: Identity) -> Lesson:
    """Change the fields given; ``position`` moves the lesson (clamped to the last). A
    change to the quiz (its blocks or pass mark) makes a new quiz version."""
    async with transaction():
        course, lesson = await _locked_lesson(lesson_id, identity)
        changes = data.model_dump(exclude_unset=True)
        position = changes.pop("position", None)
        if data.content is not None:
            changes["content"] = lesson_content(data.content)
        quiz_before = (questions(lesson.content), lesson.pass_mark)
        quiz_after = (
            questions(changes.get("content", lesson.content)),
            changes.get("pass_mark", lesson.pass_mark),
        )
        if quiz_after != quiz_before:
            changes["quiz_version"] = lesson.quiz_version + 1
        if changes:
            lesson.update_from_dict(changes)
            await lesson.save()
        if position is not None and position != lesson.position:
            ordered = [i for i in await _order(course.id) if i != lesson.id]
            ordered.insert(position, lesson.id)
            await place(course.id, ordered)
            await lesson.refresh_from_db(fields=["position"])
        await _touch(course)
    return lesson


async def delete(lesson_id: UUID, identity: Identity) -> None:
    """Delete a lesson (and the progress recorded on it); later ones move up."""
    async with transaction():
        course, lesson = await _locked_lesson(lesson_id, identity)
        await lesson.delete()
        await place(course.id, await _order(course.id))
        await _touch(course)


async def reorder(course_id: UUID, data: LessonOrder, identity: Identity) -> list[Lesson]:
    """Put the course's lessons in the order given: every lesson, each exactly once."""
    async with transaction():
        course = await editable_course(course_id, identity)
        current = await _order(course.id)
        wanted = data.lesson_ids
        if len(set(wanted)) != len(wanted) or set(wanted) != set(current):
            problem = {"pointer": "/lesson_ids", "detail": _mismatch(wanted, current)}
            raise ValidationFailed([problem])
        if wanted != current:
            await place(course.id, wanted)
            await _touch(course)
        return await Lesson.filter(course_id=course.id).order_by("position")


def _mismatch(wanted: list[UUID], current: list[UUID]) -> str:
    problems = []
    if missing := [str(i) for i in current if i not in set(wanted)]:
        problems.append(f"missing {', '.join(missing)}")
    if unknown := [str(i) for i in dict.fromkeys(wanted) if i not in set(current)]:
        problems.append(f"not lessons of this course: {', '.join(unknown)}")
    if len(set(wanted)) != len(wanted):
        problems.append("some lessons are listed twice")
    return "Must list every lesson of the course exactly once: " + "; ".join(problems) + "."
