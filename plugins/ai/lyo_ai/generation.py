"""Schema-guided course generation, independent of any model library.

The program writes the JSON structure of the outline and the model fills each value,
stopping at its closing quote: so a course has exactly the requested lessons, each with a
title and a summary, whatever the model does. Lesson notes come from a second prompt per
lesson, stopping at a blank line. A base model (the shipped Gemma 3 270M) gets few-shot
completion prompts; an instruction-tuned one gets Gemma's chat turns with the same
program-written structure in its answer.

Everything here is synchronous and runs in a worker thread; a :class:`Generator` does
the model calls (:class:`lyo_ai.model.TorchGenerator` with transformers, a
deterministic fake in tests), ``report`` receives progress and ``should_stop`` is polled
after every token so a cancellation stops generation at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

PromptStyle = Literal["completion", "chat"]
#: Called after every token with the text of the value so far and the token count.
OnText = Callable[[str, int], None]


class Cancelled(Exception):
    """``should_stop`` answered true: the owner cancelled."""


class GenerationFailed(Exception):
    """The model did not produce a usable value, even after retries."""


@dataclass
class Completion:
    text: str  # up to (not including) the first stop string, stripped
    tokens: int  # tokens generated


class Generator(Protocol):
    """What composing a course needs from a model."""

    prompt_style: PromptStyle
    name: str

    def complete(
        self,
        prompt: str,
        *,
        stop: Sequence[str],
        max_new_tokens: int,
        on_text: OnText,
        should_stop: Callable[[], bool],
        seed: int | None = None,
    ) -> Completion:
        """Continue ``prompt`` until a ``stop`` string, ``max_new_tokens`` or the end of
        text; greedy unless ``seed`` is given (then sampled, reproducibly). Raise
        :class:`Cancelled` when ``should_stop()`` becomes true."""
        ...


@dataclass(frozen=True)
class CourseRequest:
    topic: str
    level: str
    lesson_count: int
    language: str = "English"


@dataclass
class Limits:
    title_tokens: int = 24
    summary_tokens: int = 60
    content_tokens: int = 160
    retries: int = 3  # sampled tries after a greedy value is empty or repeated


@dataclass
class Progress:
    """One progress report: where generation is and what it is writing."""

    phase: str  # outline | lessons
    percent: float
    field: str  # e.g. "lessons[2].title"
    text: str  # the value being written, so far
    tokens: int  # tokens generated in total


@dataclass
class Draft:
    """A generated course, before validation."""

    title: str
    description: str
    lessons: list[dict[str, str]] = field(default_factory=list)
    tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description, "lessons": self.lessons}


# -- prompts -------------------------------------------------------------------------------
# Few-shot examples show a base model the format; they are never output. The outline
# examples are deliberately unrelated to each other so the model copies structure, not
# subject matter.

OUTLINE_EXAMPLES: list[dict[str, Any]] = [
    {
        "topic": "Home composting",
        "level": "beginner",
        "language": "English",
        "title": "Composting at Home",
        "lessons": [
            {
                "title": "Why compost?",
                "summary": "How composting turns kitchen and garden waste into soil.",
            },
            {
                "title": "Greens and browns",
                "summary": "Balancing nitrogen-rich and carbon-rich materials.",
            },
            {
                "title": "Looking after the heap",
                "summary": "Turning, watering and fixing a smelly or slow heap.",
            },
        ],
    },
    {
        "topic": "Relational databases",
        "level": "intermediate",
        "language": "English",
        "title": "Working with Relational Databases",
        "lessons": [
            {
                "title": "Tables and keys",
                "summary": "Rows, columns, primary keys and foreign keys.",
            },
            {
                "title": "Joining tables",
                "summary": "Inner and outer joins and when to use each.",
            },
        ],
    },
]

NOTES_EXAMPLE = {
    "course": "Composting at Home",
    "lesson": "Greens and browns",
    "summary": "Balancing nitrogen-rich and carbon-rich materials.",
    "notes": (
        "Greens are fresh, moist materials such as vegetable scraps and grass clippings; "
        "they supply nitrogen. Browns are dry materials such as leaves, straw and "
        "cardboard; they supply carbon. A heap with roughly two or three parts browns to "
        "one part greens stays airy and breaks down without a bad smell."
    ),
}


def _value(text: str) -> str:
    """``text`` as it appears between JSON quotes."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _chat(user: str) -> str:
    return f"<start_of_turn>user\n{user}<end_of_turn>\n<start_of_turn>model\n"


class Prompts:
    """The text around each value, for a prompt style."""

    def __init__(self, style: PromptStyle, request: CourseRequest) -> None:
        self.style = style
        self.request = request

    def outline_header(self) -> str:
        r = self.request
        head = (
            f'{{"topic": "{_value(r.topic)}", "level": "{_value(r.level)}", '
            f'"language": "{_value(r.language)}", "title": "'
        )
        if self.style == "chat":
            return (
                _chat(
                    f"Write the outline of a {r.level} course about {r.topic}, in {r.language}, "
                    f"as JSON: a title and {r.lesson_count} lessons, each with a short, distinct "
                    "title and a one-sentence summary."
                )
                + head
            )
        examples = "\n\n".join(
            json.dumps(example, ensure_ascii=False) for example in OUTLINE_EXAMPLES
        )
        return f"Course outlines, one JSON object each.\n\n{examples}\n\n{head}"

    def notes(self, course: str, lesson: dict[str, str]) -> str:
        r = self.request
        if self.style == "chat":
            return _chat(
                f"Write one paragraph of lesson notes, in {r.language}, for the lesson "
                f'"{lesson["title"]}" ({lesson["summary"]}) of the {r.level} course '
                f'"{course}". Plain text only.'
            )
        e = NOTES_EXAMPLE
        return (
            "Lesson notes, one paragraph per lesson.\n\n"
            f"Course: {e['course']}\nLesson: {e['lesson']}\nSummary: {e['summary']}\n"
            f"Notes: {e['notes']}\n\n"
            f"Course: {course}\nLesson: {lesson['title']}\nSummary: {lesson['summary']}\n"
            "Notes:"
        )

    @property
    def notes_stop(self) -> tuple[str, ...]:
        return ("<end_of_turn>", "\n\n") if self.style == "chat" else ("\n\n", "\nCourse:")


VALUE_STOP = ('"', "\n")


def _norm(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .:;-")


def compose(
    generator: Generator,
    request: CourseRequest,
    *,
    limits: Limits | None = None,
    report: Callable[[Progress], None] = lambda progress: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Draft:
    """Generate a course for ``request``: an outline with exactly ``lesson_count``
    lessons (distinct, non-empty titles; a summary each), then each lesson's notes."""
    limits = limits or Limits()
    prompts = Prompts(generator.prompt_style, request)
    n = request.lesson_count
    outline_fields = 1 + 2 * n
    state = {"tokens": 0, "done": 0}

    def percent(phase: str, done: float) -> float:
        # outline: 0-35 %, lessons: 35-100 % (the caller maps this into its own range)
        if phase == "outline":
            return 35.0 * done / outline_fields
        return 35.0 + 65.0 * done / n

    def fill(
        prompt: str,
        name: str,
        phase: str,
        done: float,
        stop: Sequence[str],
        max_tokens: int,
        taken: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> str:
        for attempt in range(limits.retries + 1):
            base = state["tokens"]

            def on_text(text: str, tokens: int, base: int = base) -> None:
                report(Progress(phase, percent(phase, done), name, text, base + tokens))

            result = generator.complete(
                prompt,
                stop=stop,
                max_new_tokens=max_tokens,
                on_text=on_text,
                should_stop=should_stop,
                seed=None if attempt == 0 else attempt,
            )
            state["tokens"] += result.tokens
            value = result.text.strip()
            if value and _norm(value) not in taken:
                return value
        raise GenerationFailed(
            f"the model gave no usable {name} in {limits.retries + 1} tries"
            + (" (empty or repeated)" if taken else " (empty)")
        )

    text = prompts.outline_header()
    title = fill(text, "title", "outline", 0, VALUE_STOP, limits.title_tokens)
    text += _value(title) + '", "lessons": ['
    lessons: list[dict[str, str]] = []
    taken = {_norm(title)}
    for i in range(n):
        text += '{"title": "' if i == 0 else ', {"title": "'
        lesson_title = fill(
            text, f"lessons[{i}].title", "outline", 1 + 2 * i, VALUE_STOP,
            limits.title_tokens, taken,
        )  # fmt: skip
        taken.add(_norm(lesson_title))
        text += _value(lesson_title) + '", "summary": "'
        summary = fill(
            text, f"lessons[{i}].summary", "outline", 2 + 2 * i, VALUE_STOP, limits.summary_tokens
        )
        text += _value(summary) + '"}'
        lessons.append({"title": lesson_title, "summary": summary})
    for i, lesson in enumerate(lessons):
        lesson["content"] = fill(
            prompts.notes(title, lesson),
            f"lessons[{i}].content",
            "lessons",
            i,
            prompts.notes_stop,
            limits.content_tokens,
        )
    report(Progress("lessons", 100.0, "", "", state["tokens"]))
    description = " ".join(lesson["summary"] for lesson in lessons)
    return Draft(title=title, description=description, lessons=lessons, tokens=state["tokens"])
