"""Courses, their lessons and tags, enrollments and lesson progress.

Tables are ``learning_*`` (the kernel prefixes them). User and author ids are the
``Identity.id`` strings of whoever authenticated the caller: no foreign key reaches into
another plugin's tables. The CHECK constraints (percent 0..100, position and other
counters >= 0) are SQL in the migration, since aerich ignores ``Meta.constraints``, and
mirrored here by validators so a bad value is refused before it reaches the database.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from tortoise import fields
from tortoise.models import Model
from tortoise.validators import MaxValueValidator, MinValueValidator

#: Lesson positions are 0..n-1; reordering parks rows above this offset first.
POSITION_OFFSET = 1_000_000
MAX_LESSONS = 500
USER_ID_LENGTH = 64


class CourseStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class CourseLevel(StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class ProgressStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Course(Model):
    id = fields.UUIDField(primary_key=True)
    title = fields.CharField(max_length=200)
    # unique per author, not across authors: a slug taken by someone else's hidden
    # draft would otherwise be a 409 that reveals the draft
    slug = fields.CharField(max_length=120)
    description = fields.TextField(default="")
    level = fields.CharEnumField(CourseLevel, max_length=20, default=CourseLevel.BEGINNER)
    status = fields.CharEnumField(CourseStatus, max_length=20, default=CourseStatus.DRAFT)
    author_id = fields.CharField(max_length=USER_ID_LENGTH)
    #: Free-form JSON about the content (source, language, generator, ...).
    metadata = fields.JSONField[dict[str, Any]](default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    published_at = fields.DatetimeField(null=True)

    lessons: fields.ReverseRelation[Lesson]
    tags: fields.ReverseRelation[CourseTag]

    class Meta:
        # the listing: newest first within a status, by level, by author
        indexes = (("status", "created_at"), ("level", "created_at"), ("author_id", "created_at"))
        unique_together = (("author_id", "slug"),)


class CourseTag(Model):
    """One tag of a course: a row per tag, so filtering by tag is an indexed join on
    both SQLite and PostgreSQL."""

    id = fields.IntField(primary_key=True)
    course: fields.ForeignKeyRelation[Course] = fields.ForeignKeyField(
        "learning.Course", related_name="tags", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=40)

    class Meta:
        unique_together = (("course", "name"),)
        indexes = (("name", "course"),)


class Lesson(Model):
    id = fields.UUIDField(primary_key=True)
    course: fields.ForeignKeyRelation[Course] = fields.ForeignKeyField(
        "learning.Course", related_name="lessons", on_delete=fields.CASCADE
    )
    position = fields.IntField(validators=[MinValueValidator(0)])
    title = fields.CharField(max_length=200)
    #: Structured blocks: ``[{"type": "text", "text": "..."}, {"type": "code", ...}]``.
    content = fields.JSONField[list[dict[str, Any]]](default=list)
    estimated_minutes = fields.IntField(default=0, validators=[MinValueValidator(0)])
    #: Percent of the quiz's questions to get right to pass; null: the plugin's default.
    pass_mark = fields.IntField(
        null=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    #: Goes up whenever the quiz (its blocks or pass mark) changes; attempts record the
    #: version they answered (:class:`QuizVersion`).
    quiz_version = fields.IntField(default=1, validators=[MinValueValidator(1)])
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    course_id: UUID

    class Meta:
        unique_together = (("course", "position"),)


class Enrollment(Model):
    id = fields.UUIDField(primary_key=True)
    user_id = fields.CharField(max_length=USER_ID_LENGTH)
    course: fields.ForeignKeyRelation[Course] = fields.ForeignKeyField(
        "learning.Course", related_name="enrollments", on_delete=fields.CASCADE
    )
    enrolled_at = fields.DatetimeField(auto_now_add=True)
    completed_at = fields.DatetimeField(null=True)

    course_id: UUID

    class Meta:
        unique_together = (("user_id", "course"),)
        # my courses; a course's enrollments over time (stats)
        indexes = (("user_id", "enrolled_at"), ("course", "enrolled_at"))


class LessonProgress(Model):
    id = fields.UUIDField(primary_key=True)
    user_id = fields.CharField(max_length=USER_ID_LENGTH)
    lesson: fields.ForeignKeyRelation[Lesson] = fields.ForeignKeyField(
        "learning.Lesson", related_name="progress", on_delete=fields.CASCADE
    )
    #: The lesson's course, kept here so a user's progress per course is one aggregate.
    course: fields.ForeignKeyRelation[Course] = fields.ForeignKeyField(
        "learning.Course", related_name="progress", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(ProgressStatus, max_length=20, default=ProgressStatus.IN_PROGRESS)
    percent = fields.IntField(default=0, validators=[MinValueValidator(0), MaxValueValidator(100)])
    seconds_spent = fields.IntField(default=0, validators=[MinValueValidator(0)])
    #: Where the learner stopped inside the lesson (a block index, a video second: the
    #: client's choice), the latest one sent.
    last_position = fields.IntField(null=True, validators=[MinValueValidator(0)])
    #: Quiz attempts so far, and the score that counts (best or last, a plugin setting).
    attempts = fields.IntField(default=0, validators=[MinValueValidator(0)])
    score = fields.IntField(null=True, validators=[MinValueValidator(0), MaxValueValidator(100)])
    completed_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    lesson_id: UUID
    course_id: UUID

    class Meta:
        unique_together = (("user_id", "lesson"),)
        # a user's progress per course; a course's activity over time (stats)
        indexes = (("user_id", "course"), ("course", "updated_at"))


class QuizVersion(Model):
    """A lesson's quiz as it was at one ``quiz_version``, answers included: what the
    attempts on that version were graded against. Written with the first attempt."""

    id = fields.UUIDField(primary_key=True)
    lesson: fields.ForeignKeyRelation[Lesson] = fields.ForeignKeyField(
        "learning.Lesson", related_name="quiz_versions", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    questions = fields.JSONField[list[dict[str, Any]]]()
    pass_mark = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    lesson_id: UUID

    class Meta:
        unique_together = (("lesson", "version"),)


class QuizAttempt(Model):
    """One graded submission. ``number`` is 1.. per (user, lesson): the unique constraint
    is the last guard against going past the maximum number of attempts."""

    id = fields.UUIDField(primary_key=True)
    user_id = fields.CharField(max_length=USER_ID_LENGTH)
    lesson: fields.ForeignKeyRelation[Lesson] = fields.ForeignKeyField(
        "learning.Lesson", related_name="quiz_attempts", on_delete=fields.CASCADE
    )
    course: fields.ForeignKeyRelation[Course] = fields.ForeignKeyField(
        "learning.Course", related_name="quiz_attempts", on_delete=fields.CASCADE
    )
    quiz: fields.ForeignKeyRelation[QuizVersion] = fields.ForeignKeyField(
        "learning.QuizVersion", related_name="attempts", on_delete=fields.CASCADE
    )
    number = fields.IntField(validators=[MinValueValidator(1)])
    answers = fields.JSONField[list[Any]]()
    #: Per question: answered right or not.
    results = fields.JSONField[list[bool]]()
    score = fields.IntField(validators=[MinValueValidator(0), MaxValueValidator(100)])
    passed = fields.BooleanField()
    created_at = fields.DatetimeField(auto_now_add=True)

    lesson_id: UUID
    course_id: UUID
    quiz_id: UUID

    class Meta:
        unique_together = (("user_id", "lesson", "number"),)
        indexes = (("course", "lesson", "passed"),)
