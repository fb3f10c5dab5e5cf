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

from . import quality
from .examples import SUBJECTS, subject_of

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
    logprob: float = 0.0  # mean log-probability of the generated tokens, per the model


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
    candidates: int = 1  # per outline field: the greedy one, then samples
    retries: int = 3  # sampled tries while the best value still fails the post-check


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
    tokens: int = 0  # generated in all, discarded candidates included
    discarded: int = 0  # of which in candidates and tries that were not kept

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description, "lessons": self.lessons}


# -- prompts -------------------------------------------------------------------------------
# Few-shot examples (:mod:`.examples`) show a base model the format and the register; they
# are never output. The example of the topic's subject comes last, nearest the request.


def _value(text: str) -> str:
    """``text`` as it appears between JSON quotes."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _chat(user: str) -> str:
    return f"<start_of_turn>user\n{user}<end_of_turn>\n<start_of_turn>model\n"


class Prompts:
    """The text around each value, for a prompt style and the topic's subject."""

    def __init__(self, style: PromptStyle, request: CourseRequest, subject: str = "general"):
        self.style = style
        self.request = request
        other = "history" if subject == "general" else "general"
        self.examples = [SUBJECTS[other], SUBJECTS[subject]]

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
            json.dumps(example.outline, ensure_ascii=False) for example in self.examples
        )
        return f"Course outlines, one JSON object each.\n\n{examples}\n\n{head}"

    def notes(self, course: str, lesson: dict[str, str]) -> str:
        r = self.request
        if self.style == "chat":
            return _chat(
                f"Write one paragraph of lesson notes, in {r.language}, for the lesson "
                f'"{lesson["title"]}" ({lesson["summary"]}) of the {r.level} course '
                f'"{course}". Plain text only, three to five sentences.'
            )
        shown = "".join(
            f"Course: {e['course']}\nLesson: {e['lesson']}\nSummary: {e['summary']}\n"
            f"Notes: {e['notes']}\n\n"
            for e in (example.notes for example in self.examples)
        )
        return (
            "Lesson notes, one paragraph of plain sentences per lesson.\n\n"
            f"{shown}Course: {course}\nLesson: {lesson['title']}\n"
            f"Summary: {lesson['summary']}\nNotes:"
        )

    @property
    def notes_stop(self) -> tuple[str, ...]:
        if self.style == "chat":
            return ("<end_of_turn>", "\n\n")
        return ("\n\n", "\nCourse:", "Lesson:", "Summary:", "Notes:")


VALUE_STOP = ('"', "\n")


def _norm(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" .:;-")


def repair(name: str, text: str, language: str) -> str:
    """What the program fixes in a value without the model: titles end on a word,
    sentences with a problem are dropped, a summary keeps at most two sentences."""
    if name.endswith("title"):
        return quality.clean_title(text)
    text = quality.clean_text(name, text, language)
    if name.endswith("summary"):
        text = " ".join(quality.sentences(text)[:2]) or text
    return text[:1].upper() + text[1:]


def compose(
    generator: Generator,
    request: CourseRequest,
    *,
    limits: Limits | None = None,
    report: Callable[[Progress], None] = lambda progress: None,
    should_stop: Callable[[], bool] = lambda: False,
    embed: quality.Embed | None = None,
    seed: int = 0,
) -> Draft:
    """Generate a course for ``request``: an outline with exactly ``lesson_count``
    lessons (distinct, non-empty titles; a summary each), then each lesson's notes.

    Each value is repaired (:func:`repair`) and checked (:func:`quality.problems`, and
    with ``embed`` its similarity to the topic); outline values get ``candidates`` tries,
    the best by the model's likelihood plus the on-topic score, and any value still
    failing a check is sampled again up to ``retries`` times (then the best is kept)."""
    limits = limits or Limits()
    prompts = Prompts(generator.prompt_style, request, subject_of(request.topic, embed))
    n = request.lesson_count
    outline_fields = 1 + 2 * n
    state = {"tokens": 0, "discarded": 0, "calls": 0}
    topic = embed([request.topic])[0] if embed is not None else None

    def percent(phase: str, done: float) -> float:
        # outline: 0-35 %, lessons: 35-100 % (the caller maps this into its own range)
        if phase == "outline":
            return 35.0 * done / outline_fields
        return 35.0 + 65.0 * done / n

    def judge(name: str, text: str, taken: set[str]) -> tuple[float, bool]:
        """``text``'s similarity to the topic and whether it passes every check."""
        found = quality.problems(name, text, request.language)
        if text and _norm(text) in taken:
            found["distinct"] = "repeated"
        similarity = 0.0
        if topic is not None and text:
            similarity = float(embed([text])[0] @ topic)  # type: ignore[misc]
            threshold = quality.ON_TOPIC_TITLE if name == "title" else quality.ON_TOPIC_TEXT
            if not name.endswith("].title") and similarity < threshold:
                found["on_topic"] = f"{similarity:.2f}"
        return similarity, not found

    def fill(
        prompt: str,
        name: str,
        phase: str,
        done: float,
        stop: Sequence[str],
        max_tokens: int,
        taken: set[str] = frozenset(),  # type: ignore[assignment]
        candidates: int = 1,
    ) -> str:
        best: tuple[float, bool, str, int] | None = None  # score, passes, text, tokens
        spent = 0
        for attempt in range(candidates + limits.retries):
            if attempt >= candidates and best is not None and best[1]:
                break  # no retry needed: the best value passes every check
            base = state["tokens"]

            def on_text(text: str, tokens: int, base: int = base) -> None:
                report(Progress(phase, percent(phase, done), name, text, base + tokens))

            state["calls"] += 1
            result = generator.complete(
                prompt,
                stop=stop,
                max_new_tokens=max_tokens,
                on_text=on_text,
                should_stop=should_stop,
                seed=None if attempt == 0 else seed * 1000 + state["calls"],
            )
            state["tokens"] += result.tokens
            spent += result.tokens
            value = repair(name, result.text.strip(), request.language)
            if not value or _norm(value) in taken:
                continue
            bonus, passes = judge(name, value, taken)
            score = result.logprob + bonus
            if best is None or (passes, score) > (best[1], best[0]):
                best = (score, passes, value, result.tokens)
        if best is None:
            raise GenerationFailed(
                f"the model gave no usable {name} in {candidates + limits.retries} tries"
                + (" (empty or repeated)" if taken else " (empty)")
            )
        state["discarded"] += spent - best[3]
        return best[2]

    text = prompts.outline_header()
    k = limits.candidates
    title = fill(text, "title", "outline", 0, VALUE_STOP, limits.title_tokens, candidates=k)
    text += _value(title) + '", "lessons": ['
    lessons: list[dict[str, str]] = []
    taken = {_norm(title)}
    for i in range(n):
        text += '{"title": "' if i == 0 else ', {"title": "'
        lesson_title = fill(
            text, f"lessons[{i}].title", "outline", 1 + 2 * i, VALUE_STOP,
            limits.title_tokens, taken, k,
        )  # fmt: skip
        taken.add(_norm(lesson_title))
        text += _value(lesson_title) + '", "summary": "'
        summary = fill(
            text, f"lessons[{i}].summary", "outline", 2 + 2 * i, VALUE_STOP,
            limits.summary_tokens, candidates=k,
        )  # fmt: skip
        text += _value(summary) + '"}'
        lessons.append({"title": lesson_title, "summary": summary})
    contents: set[str] = set()
    for i, lesson in enumerate(lessons):
        lesson["content"] = fill(
            prompts.notes(title, lesson),
            f"lessons[{i}].content",
            "lessons",
            i,
            prompts.notes_stop,
            limits.content_tokens,
            contents,
        )
        contents.add(_norm(lesson["content"]))
    report(Progress("lessons", 100.0, "", "", state["tokens"]))
    description = " ".join(lesson["summary"] for lesson in lessons)
    return Draft(
        title=title,
        description=description,
        lessons=lessons,
        tokens=state["tokens"],
        discarded=state["discarded"],
    )
