"""Request and response bodies. Input models forbid unknown fields and refuse ``null``
for fields that cannot be empty, so every invalid field is a 422 naming it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from kernel import PageQuery

from .models import MAX_LESSONS, CourseLevel, CourseStatus, ProgressStatus
from .quiz_schemas import QuizBlock

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=120, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


#: Case-insensitive: "SQL" and "sql" are one tag.
Tag = Annotated[
    str, BeforeValidator(_lower), StringConstraints(pattern=r"^[a-z0-9][a-z0-9+#.-]{0,39}$")
]
Url = Annotated[str, StringConstraints(max_length=2000, pattern=r"^(https?://|/)\S+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
METADATA_BYTES = 64 * 1024


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- lesson content: structured blocks -----------------------------------------------------


class TextBlock(Input):
    type: Literal["text"]
    text: Text
    format: Literal["markdown", "plain"] = "markdown"


class CodeBlock(Input):
    type: Literal["code"]
    code: Text
    language: Annotated[str, StringConstraints(max_length=40)] = ""


class ImageBlock(Input):
    type: Literal["image"]
    url: Url
    alt: Annotated[str, StringConstraints(max_length=500)] = ""


class VideoBlock(Input):
    type: Literal["video"]
    url: Url
    duration_seconds: Annotated[int, Field(ge=0)] | None = None


Search = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


Block = Annotated[
    TextBlock | CodeBlock | ImageBlock | VideoBlock | QuizBlock, Field(discriminator="type")
]
Content = Annotated[list[Block], Field(max_length=200)]


# -- inputs --------------------------------------------------------------------------------


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may be omitted but not null")
    return value


def _small_json(value: dict[str, Any]) -> dict[str, Any]:
    if len(orjson.dumps(value)) > METADATA_BYTES:
        raise ValueError(f"at most {METADATA_BYTES} bytes of JSON")
    return value


def _unique_tags(value: list[str]) -> list[str]:
    return list(dict.fromkeys(value))


PassMark = Annotated[int, Field(ge=0, le=100)]


class LessonIn(Input):
    """A lesson. Its ``quiz`` blocks make up its quiz, passed with ``pass_mark`` percent
    of right answers (default: ``LYO_LEARNING__QUIZ_PASS_MARK``)."""

    title: Title
    content: Content = Field(default_factory=list)
    estimated_minutes: Minutes = 0
    pass_mark: PassMark | None = None


class LessonCreate(LessonIn):
    """A lesson added to a course: at ``position`` (0 = first), or last when omitted."""

    position: Annotated[int, Field(ge=0)] | None = None


class LessonUpdate(Input):
    """Only the fields given change; ``position`` moves the lesson within its course."""

    title: Title | None = None
    content: Content | None = None
    estimated_minutes: Minutes | None = None
    position: Annotated[int, Field(ge=0)] | None = None
    #: null: back to the plugin's default pass mark.
    pass_mark: PassMark | None = None

    _given = field_validator("title", "content", "estimated_minutes", "position", mode="before")(
        _not_null
    )


class CourseCreate(Input):
    """A course and, optionally, its lessons in order. Without ``slug`` one is made from
    the title (with a suffix when taken)."""

    title: Title
    slug: Slug | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""
    level: CourseLevel = CourseLevel.BEGINNER
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)
    status: Literal[CourseStatus.DRAFT, CourseStatus.PUBLISHED] = CourseStatus.DRAFT
    metadata: dict[str, Any] = Field(default_factory=dict)
    lessons: Annotated[list[LessonIn], Field(max_length=MAX_LESSONS)] = Field(default_factory=list)

    _tags = field_validator("tags")(_unique_tags)
    _metadata = field_validator("metadata")(_small_json)


class CourseUpdate(Input):
    """Only the fields given change. ``status`` moves the course between draft,
    published and archived."""

    title: Title | None = None
    slug: Slug | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    level: CourseLevel | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    status: CourseStatus | None = None
    metadata: dict[str, Any] | None = None

    _given = field_validator(
        "title", "slug", "description", "level", "tags", "status", "metadata", mode="before"
    )(_not_null)
    _tags = field_validator("tags")(_unique_tags)
    _metadata = field_validator("metadata")(_small_json)


class LessonOrder(Input):
    """Every lesson of the course, each once, in the new order."""

    lesson_ids: Annotated[list[UUID], Field(min_length=1, max_length=MAX_LESSONS)]


class ProgressIn(Input):
    """How far the caller got in a lesson. Idempotent: values lower than those recorded
    are ignored, so progress never goes backwards."""

    percent: Annotated[int, Field(ge=0, le=100)]
    seconds_spent: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    #: Where the caller stopped inside the lesson (a block index, a video second, ...),
    #: kept as sent (the latest wins) so a client can resume there.
    last_position: Annotated[int, Field(ge=0, le=10_000_000)] | None = None


class CourseQuery(PageQuery):
    """Filters of the course list. ``author=me`` means the caller."""

    model_config = ConfigDict(extra="forbid")

    status: CourseStatus | None = None
    level: CourseLevel | None = None
    tag: Tag | None = None
    author: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    q: Search | None = None
    sort: Literal["-created_at", "created_at", "title", "-title"] = "-created_at"


# -- outputs -------------------------------------------------------------------------------


class LessonSummary(BaseModel):
    id: UUID
    position: int
    title: str
    estimated_minutes: int


class LessonOut(LessonSummary):
    """``content`` as stored for the course's editors; for everybody else the ``quiz``
    blocks come without their answers."""

    course_id: UUID
    content: list[dict[str, Any]]
    pass_mark: int | None
    quiz_version: int
    created_at: datetime
    updated_at: datetime


class CourseBase(BaseModel):
    id: UUID
    title: str
    slug: str
    description: str
    level: CourseLevel
    tags: list[str]
    status: CourseStatus
    author_id: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    lesson_count: int
    estimated_minutes: int


class CourseSummary(CourseBase):
    lessons: list[LessonSummary]


class CourseDetail(CourseBase):
    lessons: list[LessonOut]


class LessonList(BaseModel):
    items: list[LessonSummary]


class EnrollmentOut(BaseModel):
    id: UUID
    user_id: str
    course_id: UUID
    enrolled_at: datetime
    completed_at: datetime | None


class CourseProgress(BaseModel):
    """Derived from lesson progress: the mean of every lesson's percent (a lesson not
    started counts 0)."""

    percent: int
    completed_lessons: int
    total_lessons: int
    completed_at: datetime | None


class ProgressOut(BaseModel):
    lesson_id: UUID
    course_id: UUID
    status: ProgressStatus
    percent: int
    seconds_spent: int
    last_position: int | None
    attempts: int
    score: int | None
    completed_at: datetime | None
    updated_at: datetime
    course: CourseProgress


class CourseRef(BaseModel):
    id: UUID
    title: str
    slug: str
    level: CourseLevel
    status: CourseStatus


class Resume(BaseModel):
    """The next lesson to take: the first one in course order not completed yet, and
    where in it the learner stopped."""

    lesson_id: UUID
    position: int
    title: str
    last_position: int | None


class MyCourse(BaseModel):
    course: CourseRef
    enrollment_id: UUID
    enrolled_at: datetime
    progress: CourseProgress
    #: null: every lesson is completed (or the course has none).
    resume: Resume | None


class LessonProgressItem(BaseModel):
    lesson_id: UUID
    position: int
    title: str
    has_quiz: bool
    status: Literal["not_started", "in_progress", "completed"]
    percent: int
    seconds_spent: int
    last_position: int | None
    attempts: int
    score: int | None
    completed_at: datetime | None
    updated_at: datetime | None


class CourseProgressDetail(BaseModel):
    """The caller's progress in one course, lesson by lesson, in course order."""

    course_id: UUID
    enrolled: bool
    progress: CourseProgress
    resume: Resume | None
    lessons: list[LessonProgressItem]
