"""With the learning plugin installed, course and lesson ids are checked through its
public API (published courses only, lessons of that course); without it they are
opaque (see test_community_discussions)."""

from __future__ import annotations

from typing import Any

import pytest
from community_support import TOKENS, auth
from lyo_community import plugin as community
from lyo_learning import plugin as learning

from kernel.testing import token_plugin


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [token_plugin(TOKENS, name="auth"), learning, community]


async def test_course_and_lesson_are_checked(lyo_client: Any) -> None:
    course = await (
        await lyo_client.post(
            "/api/learning/courses",
            json={"title": "Knots", "status": "published", "lessons": [{"title": "Bowline"}]},
            headers=auth("admin"),
        )
    ).get_json()
    draft = await (
        await lyo_client.post(
            "/api/learning/courses", json={"title": "Secret"}, headers=auth("admin")
        )
    ).get_json()
    lesson = course["lessons"][0]["id"]

    async def start(**ids: str) -> Any:
        body = {"title": "Q", "body": "about the course", **ids}
        return await lyo_client.post("/api/community/discussions", json=body, headers=auth("ada"))

    made = await start(course_id=course["id"], lesson_id=lesson)
    assert made.status_code == 201
    for ids, pointer in (
        ({"course_id": draft["id"]}, "/course_id"),  # a draft the caller may not see
        ({"course_id": "00000000-0000-0000-0000-000000000000"}, "/course_id"),
        ({"course_id": course["id"], "lesson_id": draft["id"]}, "/lesson_id"),
    ):
        refused = await start(**ids)
        assert refused.status_code == 422
        assert (await refused.get_json())["errors"][0]["pointer"] == pointer
    feed = await (await lyo_client.get(f"/api/community/discussions?lesson_id={lesson}")).get_json()
    assert [d["id"] for d in feed["items"]] == [(await made.get_json())["id"]]
