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
from .events import CoursePublished
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
        content=[block.model_dump(mode="json") for block in data.content],
        estimated_minutes=data.estimated_minutes,
    )


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
    """Apply the fields given in ``data``; moving to published publishes the event."""
    async with transaction():
        course = await editable_course(course_id, identity)
        changes = data.model_dump(exclude_unset=True)
        tags = changes.pop("tags", None)
        if changes.get("slug", course.slug) != course.slug:
            await _check_slug_free(changes["slug"], course.author_id)
        publishing = (
            changes.get("status") == CourseStatus.PUBLISHED
            and course.status != CourseStatus.PUBLISHED
        )
        if publishing:
            if not await Lesson.filter(course_id=course.id).exists():
                raise _needs_lessons()
            changes["published_at"] = datetime.now(UTC)
        course.update_from_dict(changes)
        await course.save()
        if tags is not None:
            await _set_tags(course, tags, replace=True)
        if publishing:
            await _published(course)


async def archive(course_id: UUID, identity: Identity) -> None:
    async with transaction():
        course = await editable_course(course_id, identity)
        if course.status != CourseStatus.ARCHIVED:
            course.status = CourseStatus.ARCHIVED
            await course.save(update_fields=["status", "updated_at"])


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


def detail(course: Course) -> CourseDetail:
    """A course with tags and full lessons prefetched (:func:`with_lessons`)."""
    lessons = [lesson_out(lesson) for lesson in course.lessons]
    minutes = sum(lesson.estimated_minutes for lesson in lessons)
    return CourseDetail.model_validate(
        _base(course, [t.name for t in course.tags], lessons, minutes)
    )


def lesson_out(lesson: Lesson) -> LessonOut:
    return LessonOut.model_validate(lesson, from_attributes=True)


async def load_detail(course_id: UUID) -> CourseDetail:
    """The course as stored now, with its lessons (no access check)."""
    course = await with_lessons(Course.filter(id=course_id)).first()
    if course is None:
        raise NotFound(f"No course {course_id}.")
    return detail(course)
