"""Request, response and result models of the ``ai`` plugin."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

Level = Literal["beginner", "intermediate", "advanced"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
MAX_LESSONS = 12


class CourseRequestIn(BaseModel):
    """What to generate."""

    model_config = ConfigDict(extra="forbid")

    topic: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    level: Level = "beginner"
    lesson_count: Annotated[int, Field(ge=1, le=MAX_LESSONS)] = 4
    language: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=40)
    ] = "English"


class GeneratedLesson(BaseModel):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    summary: Text
    content: Text


class GeneratedCourse(BaseModel):
    """A generated course, validated before it is saved. Validate with
    ``context={"lesson_count": n}`` to require exactly ``n`` lessons."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: str = ""
    lessons: Annotated[list[GeneratedLesson], Field(min_length=1, max_length=MAX_LESSONS)]

    @model_validator(mode="after")
    def _exact_and_distinct(self, info: ValidationInfo) -> GeneratedCourse:
        wanted = (info.context or {}).get("lesson_count")
        if wanted is not None and len(self.lessons) != wanted:
            raise ValueError(f"{len(self.lessons)} lessons generated, {wanted} requested")
        titles = [" ".join(lesson.title.casefold().split()) for lesson in self.lessons]
        if len(set(titles)) != len(titles):
            raise ValueError("lesson titles are not distinct")
        return self
