"""Quiz content and grading, pure functions: which blocks make a lesson's quiz, what
learners may see of them, and how answers are scored (:mod:`.quiz_schemas` has the
block's shape)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from kernel import ValidationFailed

from .quiz_schemas import ANSWER_KEYS


def questions(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lesson's quiz: its ``quiz`` blocks, in order."""
    return [block for block in content if block.get("type") == "quiz"]


def has_quiz(content: list[dict[str, Any]]) -> bool:
    return any(block.get("type") == "quiz" for block in content)


def without_answers(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``content`` as learners see it: quiz blocks lose what gives their answer away."""
    return [
        {k: v for k, v in block.items() if k not in ANSWER_KEYS}
        if block.get("type") == "quiz"
        else block
        for block in content
    ]


_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = ".,;:!?¡¿'\"()[]{}«»\u201c\u201d\u2018\u2019"


def normalize(text: str) -> str:
    """Case, Unicode composition, runs of white space and punctuation at either end do
    not count: ``"  Paris. "`` matches ``"paris"``."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", folded).strip().strip(_EDGE_PUNCTUATION).strip()


@dataclass(frozen=True)
class Grade:
    results: list[bool]
    pass_mark: int

    @property
    def correct(self) -> int:
        return sum(self.results)

    @property
    def score(self) -> int:
        """Percent of questions right, rounded down."""
        return self.correct * 100 // len(self.results) if self.results else 0

    @property
    def passed(self) -> bool:
        return self.correct * 100 >= self.pass_mark * len(self.results)


def grade(quiz: list[dict[str, Any]], answers: list[Any], pass_mark: int) -> Grade:
    """Score ``answers`` (one per question, in order; ``None``: unanswered) against the
    quiz. An answer of the wrong shape for its question is a 422 naming it."""
    if len(answers) != len(quiz):
        raise ValidationFailed.field(
            "answers", f"The quiz has {len(quiz)} questions: send one answer for each."
        )
    return Grade(
        [_right(q, a, n) for n, (q, a) in enumerate(zip(quiz, answers, strict=True))], pass_mark
    )


def _right(question: dict[str, Any], answer: Any, index: int) -> bool:
    kind = question.get("kind", "single")
    if answer is None:
        return False
    options = len(question.get("options") or ())
    if kind == "single":
        if not isinstance(answer, int) or not 0 <= answer < options:
            raise _wrong_shape(index, f"the index of one of the {options} options")
        return bool(answer == question["answer"])
    if kind == "multiple":
        if not isinstance(answer, list) or not all(0 <= i < options for i in answer):
            raise _wrong_shape(index, f"a list of indexes of the {options} options")
        return sorted(set(answer)) == question["answers"]
    if not isinstance(answer, str):
        raise _wrong_shape(index, "a text")
    if question.get("match") == "exact":
        return answer in question["accepted"]
    return normalize(answer) in {normalize(a) for a in question["accepted"]}


def _wrong_shape(index: int, expected: str) -> ValidationFailed:
    return ValidationFailed([{"pointer": f"/answers/{index}", "detail": f"Must be {expected}."}])
