"""Quiz bodies: the ``quiz`` content block (one question), a submission and its grade.

A lesson's quiz is the ``quiz`` blocks of its content, in order. Three kinds of question:

- ``single`` (the default): ``options`` and ``answer``, the index of the right one;
- ``multiple``: ``options`` and ``answers``, the indexes of all the right ones (an answer
  is right when it picks exactly those);
- ``text``: ``accepted`` answers and ``match``: ``exact``, or ``normalized`` (the
  default: case, accents' composition, surrounding punctuation and runs of white space
  do not count).

Learners never see ``answer``, ``answers`` or ``accepted`` (:data:`ANSWER_KEYS`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

#: Block fields that give the answer away.
ANSWER_KEYS = frozenset({"answer", "answers", "accepted"})
MAX_QUESTIONS = 100

Option = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Accepted = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Question = Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
Kind = Literal["single", "multiple", "text"]
_CHOICES = ("single", "multiple")


def _kind(info: ValidationInfo) -> str | None:
    kind = info.data.get("kind")
    return kind if isinstance(kind, str) else None  # None: ``kind`` itself was invalid


class QuizBlock(BaseModel):
    """One question of the lesson's quiz (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["quiz"]
    kind: Kind = "single"
    question: Question
    options: Annotated[list[Option], Field(min_length=2, max_length=10)] | None = Field(
        default=None, validate_default=True
    )
    answer: Annotated[int, Field(ge=0, le=9)] | None = Field(default=None, validate_default=True)
    answers: Annotated[list[Annotated[int, Field(ge=0, le=9)]], Field(min_length=1)] | None = Field(
        default=None, validate_default=True
    )
    accepted: Annotated[list[Accepted], Field(min_length=1, max_length=20)] | None = Field(
        default=None, validate_default=True
    )
    match: Literal["exact", "normalized"] | None = Field(default=None, validate_default=True)

    @field_validator("options")
    @classmethod
    def _options_for_choices(cls, value: list[str] | None, info: ValidationInfo) -> Any:
        kind = _kind(info)
        if kind in _CHOICES and value is None:
            raise ValueError(f"a {kind}-choice question needs options")
        if kind == "text" and value is not None:
            raise ValueError("a text question has no options")
        return value

    @field_validator("answer")
    @classmethod
    def _single_answer(cls, value: int | None, info: ValidationInfo) -> int | None:
        if _kind(info) == "single":
            if value is None:
                raise ValueError("a single-choice question needs the index of its answer")
            _check_indexes([value], info)
        elif value is not None:
            raise ValueError("only single-choice questions have an answer; use answers/accepted")
        return value

    @field_validator("answers")
    @classmethod
    def _multiple_answers(cls, value: list[int] | None, info: ValidationInfo) -> Any:
        if _kind(info) == "multiple":
            if value is None:
                raise ValueError("a multiple-choice question needs the indexes of its answers")
            if len(set(value)) != len(value):
                raise ValueError("lists an option twice")
            _check_indexes(value, info)
            return sorted(value)
        if value is not None:
            raise ValueError("only multiple-choice questions have answers")
        return value

    @field_validator("accepted")
    @classmethod
    def _accepted_texts(cls, value: list[str] | None, info: ValidationInfo) -> Any:
        if _kind(info) == "text" and value is None:
            raise ValueError("a text question needs its accepted answers")
        if _kind(info) in _CHOICES and value is not None:
            raise ValueError("only text questions have accepted answers")
        return value

    @field_validator("match")
    @classmethod
    def _text_match(cls, value: str | None, info: ValidationInfo) -> str | None:
        if _kind(info) == "text":
            return value or "normalized"
        if value is not None:
            raise ValueError("only text questions have a match")
        return value


def _check_indexes(indexes: list[int], info: ValidationInfo) -> None:
    options = info.data.get("options")
    if options is not None and max(indexes) >= len(options):
        raise ValueError(f"must index one of the {len(options)} options")


#: One answer per question, in the quiz's order: an option's index (single choice), a
#: list of indexes (multiple choice), a text (text question), or null (left unanswered).
AnswerValue = (
    StrictInt
    | Annotated[list[StrictInt], Field(max_length=10)]
    | Annotated[StrictStr, Field(max_length=1000)]
    | None
)


class QuizSubmission(BaseModel):
    """Answers to a lesson's quiz, one per question in order. ``quiz_version`` (from the
    lesson) makes the submission fail with 409 if the quiz changed since it was read."""

    model_config = ConfigDict(extra="forbid")

    answers: Annotated[list[AnswerValue], Field(max_length=MAX_QUESTIONS)]
    quiz_version: Annotated[int, Field(ge=1)] | None = None


class QuizResult(BaseModel):
    """A graded attempt. ``results`` says, per question, whether it was right (not what
    was right: the learner may try again). ``score`` is this attempt's percent;
    ``counted_score`` the lesson's (best or last attempt, per the plugin's setting)."""

    attempt_id: UUID
    lesson_id: UUID
    course_id: UUID
    attempt: int
    attempts_left: int | None
    quiz_version: int
    correct: int
    questions: int
    score: int
    pass_mark: int
    passed: bool
    results: list[bool]
    counted_score: int
    lesson_completed: bool
    created_at: datetime


class QuizAttemptOut(BaseModel):
    """One of the caller's recorded attempts at a lesson's quiz, as graded then: the
    answers given, per question right or not, the score and the pass mark of the quiz
    version answered."""

    attempt_id: UUID
    lesson_id: UUID
    course_id: UUID
    attempt: int
    quiz_version: int
    answers: list[Any]
    results: list[bool]
    correct: int
    questions: int
    score: int
    pass_mark: int
    passed: bool
    created_at: datetime
