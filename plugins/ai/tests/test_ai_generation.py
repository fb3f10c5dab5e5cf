"""Schema-guided composition with a deterministic fake generator: structure, retries,
progress, cancellation; and the validation of a generated course."""

from __future__ import annotations

import itertools
import json

import pytest
from ai_support import FakeGenerator
from lyo_ai.generation import (
    VALUE_STOP,
    Cancelled,
    Completion,
    CourseRequest,
    GenerationFailed,
    Limits,
    Progress,
    Prompts,
    compose,
)
from lyo_ai.schemas import GeneratedCourse
from pydantic import ValidationError


def test_the_program_writes_the_structure_and_the_model_fills_values() -> None:
    fake = FakeGenerator()
    # no retries: the fake's one-word notes would fail the post-check and be sampled again
    draft = compose(fake, CourseRequest("Tide pools", "beginner", 3), limits=Limits(retries=0))
    assert len(draft.lessons) == 3
    assert all(
        lesson["title"] and lesson["summary"] and lesson["content"] for lesson in draft.lessons
    )
    assert len({lesson["title"] for lesson in draft.lessons}) == 3
    # outline: course title + title and summary per lesson; then notes per lesson
    assert len(fake.calls) == 1 + 2 * 3 + 3
    outline = [call for call in fake.calls if call["stop"] == VALUE_STOP]
    assert len(outline) == 7
    last = outline[-1]["prompt"]
    # the prompt ends inside the JSON the program wrote: the last summary's value
    assert last.endswith('"summary": "')
    document = last.rsplit("\n\n", 1)[-1] + 'x"}]}'
    parsed = json.loads(document)
    assert parsed["topic"] == "Tide pools"
    assert [lesson["title"] for lesson in parsed["lessons"]] == [
        lesson["title"] for lesson in draft.lessons
    ]
    # each call's prompt extends the previous one (so the model's key/value cache is reused)
    for before, after in itertools.pairwise(outline):
        assert after["prompt"].startswith(before["prompt"])
    assert draft.tokens == sum(3 for _ in fake.calls)


def test_values_with_quotes_are_escaped_in_the_document() -> None:
    prompts = Prompts("completion", CourseRequest('The "quoted" topic', "advanced", 1))
    header = prompts.outline_header()
    assert '"topic": "The \\"quoted\\" topic"' in header


def test_chat_style_uses_gemma_turns() -> None:
    prompts = Prompts("chat", CourseRequest("Knots", "beginner", 2))
    header = prompts.outline_header()
    assert header.startswith("<start_of_turn>user\n")
    assert "<end_of_turn>\n<start_of_turn>model\n{" in header
    assert "2 lessons" in header
    assert "<end_of_turn>" in prompts.notes_stop


def test_a_repeated_title_is_sampled_again() -> None:
    fake = FakeGenerator(repeat=True)
    draft = compose(fake, CourseRequest("Knots", "beginner", 3))
    titles = [lesson["title"] for lesson in draft.lessons]
    assert len(set(titles)) == 3
    assert any(call["seed"] for call in fake.calls)


def test_empty_values_fail_after_the_retries() -> None:
    with pytest.raises(GenerationFailed, match="title"):
        compose(FakeGenerator(empty=True), CourseRequest("Knots", "beginner", 2))


def test_progress_reports_phase_field_text_and_tokens() -> None:
    seen: list[Progress] = []
    compose(FakeGenerator(), CourseRequest("Knots", "beginner", 2), report=seen.append)
    assert {step.phase for step in seen} == {"outline", "lessons"}
    assert any(step.field == "lessons[1].summary" and step.text for step in seen)
    percents = [step.percent for step in seen]
    assert percents == sorted(percents) and percents[-1] == 100.0
    tokens = [step.tokens for step in seen]
    assert tokens == sorted(tokens)


def test_should_stop_cancels_mid_value() -> None:
    calls = {"n": 0}

    def stop_soon() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    with pytest.raises(Cancelled):
        compose(FakeGenerator(), CourseRequest("Knots", "beginner", 4), should_stop=stop_soon)


class Scripted:
    """Answers each call with the next of ``texts`` (then the last one again)."""

    prompt_style = "completion"
    name = "scripted"

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.seeds: list[int | None] = []

    def complete(self, prompt: str, *, seed: int | None = None, **kwargs: object) -> Completion:
        self.seeds.append(seed)
        text = self.texts.pop(0) if len(self.texts) > 1 else self.texts[0]
        return Completion(text=text, tokens=len(text.split()))


SUMMARY = "Where the sea leaves water. I love them! See http://pools.example."
NOTES = (
    "Tide pools form where the sea leaves water in hollows of the rock at low tide. "
    "Crabs, anemones and small fish live in them. They must survive heat and changing salt."
)


def test_values_are_repaired_and_a_failing_field_is_sampled_again() -> None:
    generator = Scripted(
        "Life in Tide Pools (with [links",  # a truncated title: repaired, not resampled
        "Rock pools and",
        SUMMARY,
        "I went there in 2016.",  # the notes: chatter, then too short, then good
        "Short.",
        NOTES,
    )
    draft = compose(generator, CourseRequest("Tide pools", "beginner", 1), limits=Limits())
    assert draft.title == "Life in Tide Pools"
    assert draft.lessons[0]["title"] == "Rock pools"
    assert draft.lessons[0]["summary"] == "Where the sea leaves water."
    assert draft.lessons[0]["content"] == NOTES
    assert generator.seeds[:3] == [None, None, None]  # the outline passed at once
    assert generator.seeds[3] is None and all(generator.seeds[4:])  # then sampled tries
    kept = ["Life in Tide Pools (with [links", "Rock pools and", SUMMARY, NOTES]
    assert draft.discarded == draft.tokens - sum(len(text.split()) for text in kept)


def test_after_the_retries_the_best_value_is_kept() -> None:
    generator = Scripted("Tide pools", "Rock pools", "Where the sea leaves water.", "Short.")
    draft = compose(generator, CourseRequest("Tide pools", "beginner", 1), limits=Limits(retries=2))
    assert draft.lessons[0]["content"] == "Short."
    assert len(generator.seeds) == 3 + 3


def _course(*titles: str) -> dict[str, object]:
    return {
        "title": "T",
        "lessons": [{"title": t, "summary": "s", "content": "c"} for t in titles],
    }


def test_validation_requires_the_exact_count_and_distinct_titles() -> None:
    GeneratedCourse.model_validate(_course("a", "b"), context={"lesson_count": 2})
    with pytest.raises(ValidationError, match="3 requested"):
        GeneratedCourse.model_validate(_course("a", "b"), context={"lesson_count": 3})
    with pytest.raises(ValidationError, match="not distinct"):
        GeneratedCourse.model_validate(_course("Loops", " loops "))
    with pytest.raises(ValidationError):
        GeneratedCourse.model_validate(_course("a", "  "))
