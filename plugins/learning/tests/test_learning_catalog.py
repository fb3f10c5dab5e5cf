"""The course list: filters, search, visibility, pagination, and a bounded number of
queries however many courses a page holds (no N+1)."""

from __future__ import annotations

from typing import Any

import pytest
from learning_support import ADMIN, INSTRUCTOR, OTHER_INSTRUCTOR, auth, count_queries, lesson
from lyo_learning.api import create_course

API = "/api/learning"


async def seed(slug: str, author: str = INSTRUCTOR.id or "", **fields: Any) -> None:
    body = {"title": f"Course {slug}", "slug": slug, "lessons": [lesson(f"{slug} 1")], **fields}
    await create_course(body, author_id=author)


async def slugs(client: Any, query: str = "", token: str | None = None) -> list[str]:
    response = await client.get(f"{API}/courses{query}", headers=auth(token) if token else {})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return [item["slug"] for item in (await response.get_json())["items"]]


@pytest.fixture
async def catalog(lyo_app: Any) -> None:
    await seed("py-basics", status="published", level="beginner", tags=["python"])
    await seed(
        "py-async",
        status="published",
        level="advanced",
        tags=["python", "async"],
        description="Event loops and TASKS.",
    )
    await seed("rust", author=OTHER_INSTRUCTOR.id or "", status="published", level="advanced")
    await seed("draft-mine", tags=["python"])
    await seed("draft-other", author=OTHER_INSTRUCTOR.id or "")


async def test_catalog_lists_published_newest_first(lyo_client: Any, catalog: None) -> None:
    assert await slugs(lyo_client) == ["rust", "py-async", "py-basics"]
    assert await slugs(lyo_client, "?sort=title") == ["py-async", "py-basics", "rust"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?level=advanced", ["rust", "py-async"]),
        ("?tag=python", ["py-async", "py-basics"]),
        ("?tag=PYTHON&level=beginner", ["py-basics"]),
        (f"?author={OTHER_INSTRUCTOR.id}", ["rust"]),
        ("?q=async", ["py-async"]),
        ("?q=tasks", ["py-async"]),  # description, case-insensitive
        ("?q=COURSE%20RUST", ["rust"]),
        ("?q=nothing-like-it", []),
        ("?status=archived", []),
    ],
)
async def test_filters_and_search(
    lyo_client: Any, catalog: None, query: str, expected: list[str]
) -> None:
    assert await slugs(lyo_client, query) == expected


async def test_drafts_are_listed_only_for_their_author_and_managers(
    lyo_client: Any, catalog: None
) -> None:
    assert await slugs(lyo_client, "?status=draft") == []
    assert await slugs(lyo_client, "?status=draft", "learner") == []
    assert await slugs(lyo_client, "?status=draft", "instructor") == ["draft-mine"]
    assert await slugs(lyo_client, "?status=draft", "admin") == ["draft-other", "draft-mine"]
    assert await slugs(lyo_client, "?author=me", "instructor") == [
        "draft-mine",
        "py-async",
        "py-basics",
    ]
    assert await slugs(lyo_client, "?author=me") == []  # anonymous: nobody's "me"
    assert ADMIN.id not in (INSTRUCTOR.id, OTHER_INSTRUCTOR.id)


async def test_page_envelope(lyo_client: Any, catalog: None) -> None:
    body = await (await lyo_client.get(f"{API}/courses?size=2&page=2")).get_json()
    assert {k: body[k] for k in ("total", "page", "size", "pages")} == {
        "total": 3,
        "page": 2,
        "size": 2,
        "pages": 2,
    }
    (item,) = body["items"]
    assert item["slug"] == "py-basics"
    assert item["lessons"] == [
        {
            "id": item["lessons"][0]["id"],
            "position": 0,
            "title": "py-basics 1",
            "estimated_minutes": 5,
        }
    ]
    assert "content" not in item["lessons"][0]  # the list carries outlines, not content


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("?status=gone", "/query/status"),
        ("?level=expert", "/query/level"),
        ("?size=101", "/query/size"),
        ("?page=0", "/query/page"),
        ("?sort=price", "/query/sort"),
        ("?tag=not%20a%20tag", "/query/tag"),
        ("?q=", "/query/q"),
        ("?colour=red", "/query/colour"),
    ],
)
async def test_invalid_query_parameters_are_422(lyo_client: Any, query: str, pointer: str) -> None:
    response = await lyo_client.get(f"{API}/courses{query}")
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in (await response.get_json())["errors"]]


async def test_listing_50_courses_with_lessons_runs_a_bounded_number_of_queries(
    lyo_client: Any,
) -> None:
    for n in range(50):
        await create_course(
            {
                "title": f"Course {n}",
                "status": "published",
                "tags": ["bulk", f"n{n}"],
                "lessons": [lesson(f"{n}.{i}") for i in range(3)],
            },
            author_id=INSTRUCTOR.id,
        )
    counts = {}
    for size in (5, 50):
        with count_queries() as queries:
            response = await lyo_client.get(f"{API}/courses?size={size}&tag=bulk")
        body = await response.get_json()
        assert len(body["items"]) == size
        assert all(len(item["lessons"]) == 3 and len(item["tags"]) == 2 for item in body["items"])
        counts[size] = queries.count
    # count, page, its tags, its lessons: four whatever the page size; the second page
    # size of the same filter reuses the cached count
    assert counts == {5: 4, 50: 3}, queries.statements
