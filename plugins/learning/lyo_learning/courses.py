"""Courses: the listing query, loading with access checks, creation, updates, archiving,
and their serialization. Routes and :mod:`lyo_learning.api` both call these."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.query_utils import Prefetch
from tortoise.queryset import QuerySet

from kernel import Conflict, Identity, NotFound, ValidationFailed, publish, transaction

from .access import can_see, check_can_edit
from .events import CoursePublished, CourseUnpublished, CourseUpdated
from .grading import without_answers
from .models import Course, CourseStatus, CourseTag, Lesson
from .schemas import (
    CourseCreate,
    CourseDetail,
    CourseUpdate,
    LessonIn,
    LessonOut,
)


def _tags() -> Prefetch:
    return Prefetch("tags", CourseTag.all().order_by("id"))


def with_lessons(queryset: QuerySet[Course]) -> QuerySet[Course]:
    lessons = Lesson.all().order_by("position")
    return queryset.prefetch_related(_tags(), Prefetch("lessons", lessons))


async def visible_course(course_id: UUID, identity: Identity) -> Course:
    """The course with its lessons; 404 if missing or a draft ``identity`` may not see."""
    course = await with_lessons(Course.filter(id=course_id)).first()
    if course is None or not can_see(identity, course):
        raise NotFound(f"No course {course_id}.")
    return course


async def editable_course(course_id: UUID, identity: Identity) -> Course:
    """The course, row-locked until the transaction ends (call inside one); 404 if
    missing, 403 if ``identity`` may not edit it. The lock serializes every change to the
    course and its lessons. It is ``FOR NO KEY UPDATE``: rows that merely reference the
    course (a learner's progress being recorded) are not held up by it, and so cannot
    deadlock with an editor deleting a lesson."""
    course = await Course.select_for_update(no_key=True).get_or_none(id=course_id)
    if course is None:
        raise NotFound(f"No course {course_id}.")
    check_can_edit(identity, course)
    return course


# -- writes --------------------------------------------------------------------------------


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:100].strip("-")
    return slug or "course"


async def _check_slug_free(slug: str, author_id: str) -> None:
    """409 when the author already has a course with this slug. Slugs are unique per
    author only: checking other authors' courses would reveal their hidden drafts."""
    if await Course.filter(author_id=author_id, slug=slug).exists():
        raise Conflict(f"You already have a course with slug {slug!r}.", field="slug")


async def _free_slug(title: str, author_id: str) -> str:
    slug = slugify(title)
    if await Course.filter(author_id=author_id, slug=slug).exists():
        slug = f"{slug}-{secrets.token_hex(3)}"
    return slug


def _needs_lessons() -> ValidationFailed:
    return ValidationFailed.field("status", "A course needs at least one lesson to be published.")


async def create(data: CourseCreate, author_id: str) -> Course:
    """Create a course with its tags and lessons (in the current transaction, if any)."""
    async with transaction():
        if data.slug is not None:
            await _check_slug_free(data.slug, author_id)
        if data.status == CourseStatus.PUBLISHED and not data.lessons:
            raise _needs_lessons()
        now = datetime.now(UTC)
        course = await Course.create(
            title=data.title,
            slug=data.slug or await _free_slug(data.title, author_id),
            description=data.description,
            level=data.level,
            status=data.status,
            author_id=author_id,
            metadata=data.metadata,
            published_at=now if data.status == CourseStatus.PUBLISHED else None,
        )
        await _set_tags(course, data.tags, replace=False)
        await Lesson.bulk_create(
            [_lesson(course, position, lesson) for position, lesson in enumerate(data.lessons)]
        )
        if course.status == CourseStatus.PUBLISHED:
            await _published(course)
    return course


def _lesson(course: Course, position: int, data: LessonIn) -> Lesson:
    return Lesson(
        course=course,
        position=position,
        title=data.title,
        content=lesson_content(data.content),
        estimated_minutes=data.estimated_minutes,
        pass_mark=data.pass_mark,
    )


def lesson_content(blocks: list[Any]) -> list[dict[str, Any]]:
    """Content blocks as stored: JSON, without the optional fields left out."""
    return [block.model_dump(mode="json", exclude_none=True) for block in blocks]


async def _set_tags(course: Course, tags: list[str], *, replace: bool) -> None:
    if replace:
        await CourseTag.filter(course_id=course.id).delete()
    await CourseTag.bulk_create([CourseTag(course=course, name=name) for name in tags])


async def _published(course: Course) -> None:
    assert course.published_at is not None
    await publish(
        CoursePublished(
            course_id=course.id,
            slug=course.slug,
            title=course.title,
            author_id=course.author_id,
            published_at=course.published_at,
        )
    )


async def update(course_id: UUID, data: CourseUpdate, identity: Identity) -> None:
    """Apply the fields given in ``data`` and announce what changed: publishing,
    unpublishing (back to draft, or archived), other fields."""
    async with transaction():
        course = await editable_course(course_id, identity)
        changes = data.model_dump(exclude_unset=True)
        tags = changes.pop("tags", None)
        if changes.get("slug", course.slug) != course.slug:
            await _check_slug_free(changes["slug"], course.author_id)
        was = course.status
        publishing = changes.get("status", was) == CourseStatus.PUBLISHED != was
        if publishing:
            if not await Lesson.filter(course_id=course.id).exists():
                raise _needs_lessons()
            changes["published_at"] = datetime.now(UTC)
        changed = [k for k, v in changes.items() if getattr(course, k) != v and k != "status"]
        course.update_from_dict(changes)
        await course.save()
        if tags is not None and tags != [t.name for t in await course.tags.all().order_by("id")]:
            await _set_tags(course, tags, replace=True)
            changed.append("tags")
        if publishing:
            await _published(course)
        await announce(course, was, [c for c in changed if c != "published_at"])


async def archive(course_id: UUID, identity: Identity) -> None:
    async with transaction():
        course = await editable_course(course_id, identity)
        if course.status != CourseStatus.ARCHIVED:
            was, course.status = course.status, CourseStatus.ARCHIVED
            await course.save(update_fields=["status", "updated_at"])
            await announce(course, was, [])


async def announce(course: Course, was: CourseStatus, changed: list[str]) -> None:
    """Publish ``course_unpublished`` when ``course`` left published (from ``was``), and
    ``course_updated`` when anything in ``changed`` (fields, ``lessons``) did."""
    if was == CourseStatus.PUBLISHED != course.status:
        await publish(
            CourseUnpublished(
                course_id=course.id,
                author_id=course.author_id,
                status=course.status,
                unpublished_at=course.updated_at,
            )
        )
    if changed:
        await publish(
            CourseUpdated(
                course_id=course.id,
                author_id=course.author_id,
                status=course.status,
                changed=changed,
                updated_at=course.updated_at,
            )
        )


# -- serialization -------------------------------------------------------------------------


#: A course's own columns, as every course answer carries them.
COLUMNS = (
    "id",
    "title",
    "slug",
    "description",
    "level",
    "status",
    "author_id",
    "metadata",
    "created_at",
    "updated_at",
    "published_at",
)


def _base(course: Course, tags: list[str], lessons: list[Any], minutes: int) -> dict[str, Any]:
    return {
        **{name: getattr(course, name) for name in COLUMNS},
        "tags": tags,
        "lesson_count": len(lessons),
        "estimated_minutes": minutes,
        "lessons": lessons,
    }


def detail(course: Course, *, answers: bool = True) -> CourseDetail:
    """A course with tags and full lessons prefetched (:func:`with_lessons`); without
    ``answers``, as learners see it (quiz blocks without their answers)."""
    lessons = [lesson_out(lesson, answers=answers) for lesson in course.lessons]
    minutes = sum(lesson.estimated_minutes for lesson in lessons)
    return CourseDetail.model_validate(
        _base(course, [t.name for t in course.tags], lessons, minutes)
    )


def lesson_out(lesson: Lesson, *, answers: bool = True) -> LessonOut:
    out = LessonOut.model_validate(lesson, from_attributes=True)
    if not answers:
        out.content = without_answers(out.content)
    return out


async def load_detail(course_id: UUID) -> CourseDetail:
    """The course as stored now, with its lessons (no access check)."""
    course = await with_lessons(Course.filter(id=course_id)).first()
    if course is None:
        raise NotFound(f"No course {course_id}.")
    return detail(course)
