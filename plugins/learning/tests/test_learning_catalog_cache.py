"""The catalog cache: a repeated public listing reads nothing from the database, every
write through the API is seen by the next listing (no stale read), and listings that
depend on the caller are never cached. On PostgreSQL runs the cache is Redis."""

from __future__ import annotations

from typing import Any

import pytest
from learning_support import ADMIN, auth, count_queries, course_body, lesson
from lyo_learning import catalog
from lyo_learning.models import Course
from lyo_learning.schemas import CourseQuery, CourseSummary

from kernel import ANONYMOUS, Page
from kernel.testing import test_redis_url

API = "/api/learning"


@pytest.fixture
def lyo_redis_url() -> str | None:
    return test_redis_url()


async def listing(client: Any, query: str = "", token: str | None = None) -> dict[str, Any]:
    response = await client.get(f"{API}/courses{query}", headers=auth(token) if token else {})
    assert response.status_code == 200, await response.get_data(as_text=True)
    return await response.get_json()  # type: ignore[no-any-return]


async def create(client: Any, slug: str, **fields: Any) -> dict[str, Any]:
    body = course_body(slug, **{"status": "published", **fields})
    response = await client.post(f"{API}/courses", json=body, headers=auth("instructor"))
    assert response.status_code == 201, await response.get_data(as_text=True)
    return await response.get_json()  # type: ignore[no-any-return]


def titles(page: dict[str, Any]) -> list[str]:
    return [item["title"] for item in page["items"]]


async def test_a_repeated_public_listing_reads_nothing(lyo_client: Any) -> None:
    await create(lyo_client, "one", tags=["python"])
    await create(lyo_client, "two", tags=["python"])
    for query in ("", "?tag=python&size=1&page=2", "?q=course"):
        first = await listing(lyo_client, query)
        with count_queries() as queries:
            again = await listing(lyo_client, query, token="learner")  # any caller: one page
        assert again == first
        assert queries.count == 0, queries.statements


async def test_every_write_through_the_api_is_seen_by_the_next_listing(lyo_client: Any) -> None:
    course = await create(lyo_client, "py", title="Python")
    assert titles(await listing(lyo_client)) == ["Python"]
    url, headers = f"{API}/courses/{course['id']}", auth("instructor")

    await create(lyo_client, "rust", title="Rust")
    assert titles(await listing(lyo_client)) == ["Rust", "Python"]

    assert (await lyo_client.patch(url, json={"title": "Python 3"}, headers=headers)).status_code
    assert titles(await listing(lyo_client)) == ["Rust", "Python 3"]

    added = await lyo_client.post(f"{url}/lessons", json=lesson("Extra", 7), headers=headers)
    assert added.status_code == 201
    (python,) = [i for i in (await listing(lyo_client))["items"] if i["title"] == "Python 3"]
    assert [entry["title"] for entry in python["lessons"]][-1] == "Extra"
    assert python["estimated_minutes"] == 5 * 2 + 7

    lesson_id = (await added.get_json())["id"]
    renamed = await lyo_client.patch(
        f"{API}/lessons/{lesson_id}", json={"title": "Bonus"}, headers=headers
    )
    assert renamed.status_code == 200
    (python,) = [i for i in (await listing(lyo_client))["items"] if i["title"] == "Python 3"]
    assert python["lessons"][-1]["title"] == "Bonus"

    assert (await lyo_client.delete(f"{API}/lessons/{lesson_id}", headers=headers)).status_code
    (python,) = [i for i in (await listing(lyo_client))["items"] if i["title"] == "Python 3"]
    assert python["lesson_count"] == 2

    assert (await lyo_client.delete(url, headers=headers)).status_code == 204  # archived
    page = await listing(lyo_client)
    assert titles(page) == ["Rust"] and page["total"] == 1


async def test_listings_that_depend_on_the_caller_are_not_cached(lyo_client: Any) -> None:
    await create(lyo_client, "mine", title="Mine", status="draft")
    for _ in range(2):
        with count_queries() as queries:
            page = await listing(lyo_client, "?author=me", token="instructor")
        assert titles(page) == ["Mine"] and queries.count > 0
    # nobody else sees the draft, through the cached public catalog or by author
    assert titles(await listing(lyo_client)) == []
    assert titles(await listing(lyo_client, "?author=me", token="other-instructor")) == []
    drafts = await listing(lyo_client, "?status=draft", token="admin")
    assert titles(drafts) == ["Mine"], ADMIN


async def test_the_cached_body_is_what_the_model_says(lyo_client: Any) -> None:
    await create(lyo_client, "shape", tags=["b", "a"], metadata={"k": [1, 2]})
    for _ in range(2):  # built, then from the cache
        raw = await (await lyo_client.get(f"{API}/courses")).get_data(as_text=True)
        page = Page[CourseSummary].model_validate_json(raw)
        assert page.model_dump(mode="json") == (await listing(lyo_client))
        assert '"created_at":"' in raw and 'Z"' in raw  # UTC datetimes end in Z


@pytest.mark.skipif(test_redis_url() is None, reason="trigram indexes are PostgreSQL's")
async def test_text_search_uses_the_trigram_indexes(lyo_app: Any) -> None:
    connection = Course._meta.db
    await connection.execute_script(
        """INSERT INTO learning_course (id, title, slug, description, level, status, author_id,
               metadata, created_at, updated_at)
           SELECT gen_random_uuid(), 'Course ' || n, 'c-' || n, 'Lesson ' || n || ' of many',
               'beginner', 'published', 'author', '{}', now(), now()
           FROM generate_series(1, 10000) AS n"""
    )
    await connection.execute_script("VACUUM ANALYZE learning_course")  # as autovacuum would
    sql = catalog.listing(CourseQuery(q="lesson 42"), ANONYMOUS).sql(params_inline=True)
    _, rows = await connection.execute_query(f"EXPLAIN {sql}")
    plan = "\n".join(row["QUERY PLAN"] for row in rows)
    assert "idx_learning_course_title_trgm" in plan, plan
    assert "idx_learning_course_description_trgm" in plan, plan
