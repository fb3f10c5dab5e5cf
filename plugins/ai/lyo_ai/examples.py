"""Few-shot examples for a base model, one set per subject: the model copies the style
and register of the examples it is shown, so a history course is shown a history outline
and history notes (plain, third person, three or four sentences), not a database course.

:func:`subject_of` picks the subject by embedding similarity to each subject's
description when an ``embed`` function is given, else by keywords; unknown topics get
``general``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .quality import Embed


@dataclass(frozen=True)
class Subject:
    describe: str  # what the subject covers, compared with the topic by embedding
    keywords: tuple[str, ...]
    outline: dict[str, Any]  # topic, level, language, title, lessons[{title, summary}]
    notes: dict[str, str]  # course, lesson, summary, notes


def _outline(topic: str, level: str, title: str, *lessons: tuple[str, str]) -> dict[str, Any]:
    return {
        "topic": topic,
        "level": level,
        "language": "English",
        "title": title,
        "lessons": [{"title": t, "summary": s} for t, s in lessons],
    }


SUBJECTS: dict[str, Subject] = {
    "general": Subject(
        "everyday skills, hobbies, home and garden",
        ("garden", "home", "cook", "bak", "food", "craft", "travel", "hobby", "budget", "money"),
        _outline(
            "Home composting",
            "beginner",
            "Composting at Home",
            ("Why compost", "How composting turns kitchen and garden waste into soil."),
            ("Greens and browns", "Balancing nitrogen-rich and carbon-rich materials."),
            ("Looking after the heap", "Turning, watering and fixing a slow heap."),
        ),
        {
            "course": "Composting at Home",
            "lesson": "Greens and browns",
            "summary": "Balancing nitrogen-rich and carbon-rich materials.",
            "notes": (
                "Greens are fresh, moist materials such as vegetable scraps and grass "
                "clippings; they supply nitrogen. Browns are dry materials such as leaves, "
                "straw and cardboard; they supply carbon. A heap with about two parts browns "
                "to one part greens stays airy. It breaks down quickly and without a bad smell."
            ),
        },
    ),
    "science": Subject(
        "natural sciences: biology, chemistry, physics, earth science, astronomy, medicine",
        (
            "biolog",
            "chemi",
            "physic",
            "cell",
            "plant",
            "energy",
            "planet",
            "earth",
            "climate",
            "heart",
            "body",
            "atom",
            "circuit",
            "tecton",
            "solaire",
            "science",
            "evolution",
        ),
        _outline(
            "The water cycle",
            "beginner",
            "How Water Moves Around the Earth",
            ("Evaporation", "How the sun turns water from seas and lakes into vapour."),
            ("Clouds and rain", "How vapour cools, condenses and falls as precipitation."),
            ("Back to the sea", "Rivers, groundwater and the return of water to the oceans."),
        ),
        {
            "course": "How Water Moves Around the Earth",
            "lesson": "Clouds and rain",
            "summary": "How vapour cools, condenses and falls as precipitation.",
            "notes": (
                "Water vapour rises with warm air and cools as it goes higher. Cool air holds "
                "less vapour, so the vapour condenses into tiny droplets around specks of dust. "
                "Billions of droplets together form a cloud. When the droplets join and grow "
                "heavy, they fall as rain, or as snow when the air is cold enough."
            ),
        },
    ),
    "history": Subject(
        "history, politics, society, literature, philosophy and the arts",
        (
            "history",
            "revolution",
            "empire",
            "war",
            "ancient",
            "century",
            "king",
            "literat",
            "poet",
            "sonnet",
            "novel",
            "philosoph",
            "paint",
            "music",
            "art",
            "photograph",
        ),
        _outline(
            "The Industrial Revolution",
            "intermediate",
            "The Industrial Revolution in Britain",
            ("Steam and coal", "How steam engines and coal changed how goods were made."),
            ("Factories and towns", "Why people moved from villages to industrial towns."),
            ("Reform", "The laws that limited child labour and long working hours."),
        ),
        {
            "course": "The Industrial Revolution in Britain",
            "lesson": "Factories and towns",
            "summary": "Why people moved from villages to industrial towns.",
            "notes": (
                "Factories needed many workers in one place, close to coal and rivers. Families "
                "left farming villages for towns such as Manchester, where wages were paid in "
                "cash. The towns grew faster than their housing and drains. Crowded streets and "
                "disease were common until the reforms of the middle of the century."
            ),
        },
    ),
    "technology": Subject(
        "computing, programming, software, data, mathematics and statistics",
        (
            "python",
            "program",
            "code",
            "software",
            "data",
            "computer",
            "machine learning",
            "algorithm",
            "web",
            "statistic",
            "math",
            "algebra",
            "vector",
            "matri",
            "calculus",
        ),
        _outline(
            "Relational databases",
            "intermediate",
            "Working with Relational Databases",
            ("Tables and keys", "Rows, columns, primary keys and foreign keys."),
            ("Joining tables", "Inner and outer joins and when to use each."),
            ("Indexes", "How an index makes a search fast and what it costs."),
        ),
        {
            "course": "Working with Relational Databases",
            "lesson": "Tables and keys",
            "summary": "Rows, columns, primary keys and foreign keys.",
            "notes": (
                "A relational database stores data in tables made of rows and columns. Each "
                "row describes one thing, such as a customer, and each column one property of "
                "it. A primary key is a column whose value identifies each row. A foreign key "
                "refers to the primary key of another table and links the two tables."
            ),
        },
    ),
    "health": Subject(
        "health, first aid, fitness, nutrition, psychology and personal skills",
        (
            "health",
            "first aid",
            "fitness",
            "nutrition",
            "exercise",
            "sleep",
            "stress",
            "negotiat",
            "communicat",
            "leadership",
            "skill",
            "career",
            "mind",
        ),
        _outline(
            "Healthy sleep",
            "beginner",
            "Sleeping Well",
            ("Why sleep matters", "What the body and brain do during sleep."),
            ("A steady routine", "Going to bed and getting up at regular times."),
            ("A restful bedroom", "Light, noise and temperature for good sleep."),
        ),
        {
            "course": "Sleeping Well",
            "lesson": "A steady routine",
            "summary": "Going to bed and getting up at regular times.",
            "notes": (
                "The body keeps an internal clock that expects sleep at about the same time "
                "each night. Going to bed and getting up at regular times keeps this clock "
                "steady, even at weekends. A calm half hour before bed helps the mind slow "
                "down. Bright screens late in the evening delay the feeling of tiredness."
            ),
        },
    ),
}


def subject_of(topic: str, embed: Embed | None = None) -> str:
    """The name of the subject in :data:`SUBJECTS` closest to ``topic``."""
    if embed is not None:
        names = list(SUBJECTS)
        vectors = embed([topic, *(SUBJECTS[name].describe for name in names)])
        scores = [float(vectors[0] @ vector) for vector in vectors[1:]]
        return names[max(range(len(names)), key=scores.__getitem__)]
    text = " " + re.sub(r"\s+", " ", topic.casefold())
    for name, subject in SUBJECTS.items():
        if name != "general" and any(" " + word in text for word in subject.keywords):
            return name
    return "general"
