"""Lessons: add at a position, move, delete, reorder; positions stay 0..n-1 and the
unique (course, position) constraint never trips."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from learning_support import auth, course_body, lesson
from lyo_learning.models import Lesson

from kernel import transaction

API = "/api/learning"


@pytest.fixture
async def course(lyo_client: Any) -> dict[str, Any]:
    response = await lyo_client.post(
        f"{API}/courses", json=course_body("c", lessons=4), headers=auth("instructor")
    )
    assert response.status_code == 201
    return await response.get_json()  # type: ignore[no-any-return]


async def titles(client: Any, course: dict[str, Any]) -> list[str]:
    body = await (
        await client.get(f"{API}/courses/{course['id']}", headers=auth("instructor"))
    ).get_json()
    assert [x["position"] for x in body["lessons"]] == list(range(len(body["lessons"])))
    return [x["title"] for x in body["lessons"]]


async def test_add_last_or_at_a_position(lyo_client: Any, course: dict[str, Any]) -> None:
    url = f"{API}/courses/{course['id']}/lessons"
    last = await lyo_client.post(url, json=lesson("last"), headers=auth("instructor"))
    assert last.status_code == 201
    assert (await last.get_json())["position"] == 4
    first = await lyo_client.post(
        url, json={**lesson("first"), "position": 0}, headers=auth("instructor")
    )
    assert (await first.get_json())["position"] == 0
    beyond = await lyo_client.post(
        url, json={**lesson("beyond"), "position": 99}, headers=auth("instructor")
    )
    assert (await beyond.get_json())["position"] == 6
    assert await titles(lyo_client, course) == [
        "first", "c lesson 0", "c lesson 1", "c lesson 2", "c lesson 3", "last", "beyond",
    ]  # fmt: skip
    after = await (
        await lyo_client.get(f"{API}/courses/{course['id']}", headers=auth("instructor"))
    ).get_json()
    assert after["updated_at"] > course["updated_at"]  # a lesson change touches its course


async def test_move_and_edit_a_lesson(lyo_client: Any, course: dict[str, Any]) -> None:
    moved = course["lessons"][3]
    response = await lyo_client.patch(
        f"{API}/lessons/{moved['id']}",
        json={"position": 1, "title": "Moved", "content": [{"type": "code", "code": "x = 1"}]},
        headers=auth("instructor"),
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    body = await response.get_json()
    assert body["position"] == 1 and body["title"] == "Moved"
    assert body["content"] == [{"type": "code", "code": "x = 1", "language": ""}]
    assert await titles(lyo_client, course) == ["c lesson 0", "Moved", "c lesson 1", "c lesson 2"]
    to_end = await lyo_client.patch(
        f"{API}/lessons/{moved['id']}", json={"position": 50}, headers=auth("instructor")
    )
    assert (await to_end.get_json())["position"] == 3


async def test_delete_closes_the_gap(lyo_client: Any, course: dict[str, Any]) -> None:
    gone = course["lessons"][1]["id"]
    response = await lyo_client.delete(f"{API}/lessons/{gone}", headers=auth("instructor"))
    assert response.status_code == 204
    assert await titles(lyo_client, course) == ["c lesson 0", "c lesson 2", "c lesson 3"]
    again = await lyo_client.delete(f"{API}/lessons/{gone}", headers=auth("instructor"))
    assert again.status_code == 404


async def test_reorder_is_atomic_despite_the_unique_position(
    lyo_client: Any, course: dict[str, Any]
) -> None:
    ids = [x["id"] for x in course["lessons"]]
    wanted = [ids[3], ids[0], ids[2], ids[1]]  # every lesson changes position, one swaps
    response = await lyo_client.post(
        f"{API}/courses/{course['id']}/lessons/order",
        json={"lesson_ids": wanted},
        headers=auth("instructor"),
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    items = (await response.get_json())["items"]
    assert [x["id"] for x in items] == wanted
    assert [x["position"] for x in items] == [0, 1, 2, 3]
    stored = await Lesson.filter(course_id=course["id"]).order_by("position")
    assert [str(x.id) for x in stored] == wanted


async def test_concurrent_reorders_leave_a_consistent_order(
    lyo_client: Any, course: dict[str, Any]
) -> None:
    ids = [x["id"] for x in course["lessons"]]
    orders = [ids[n:] + ids[:n] for n in range(4)] * 3

    async def reorder(order: list[str]) -> int:
        response = await lyo_client.post(
            f"{API}/courses/{course['id']}/lessons/order",
            json={"lesson_ids": order},
            headers=auth("instructor"),
        )
        return int(response.status_code)

    assert set(await asyncio.gather(*(reorder(o) for o in orders))) == {200}
    stored = [str(x.id) for x in await Lesson.filter(course_id=course["id"]).order_by("position")]
    assert stored in orders
    assert await titles(lyo_client, course)


@pytest.mark.parametrize(
    "pick",
    [
        lambda ids: ids[:3],  # one missing
        lambda ids: [*ids, ids[0]],  # one twice
        lambda ids: [*ids[:3], "00000000-0000-0000-0000-000000000000"],  # a stranger
        lambda ids: [],
        lambda ids: ["not-a-uuid", *ids[1:]],
    ],
    ids=["missing", "duplicate", "unknown", "empty", "malformed"],
)
async def test_reorder_must_list_every_lesson_once(
    lyo_client: Any, course: dict[str, Any], pick: Any
) -> None:
    ids = [x["id"] for x in course["lessons"]]
    response = await lyo_client.post(
        f"{API}/courses/{course['id']}/lessons/order",
        json={"lesson_ids": pick(ids)},
        headers=auth("instructor"),
    )
    assert response.status_code == 422
    pointers = [e["pointer"] for e in (await response.get_json())["errors"]]
    assert any(p.startswith("/lesson_ids") for p in pointers)
    stored = [str(x.id) for x in await Lesson.filter(course_id=course["id"]).order_by("position")]
    assert stored == ids


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"title": None}, "/title"),
        ({"position": -1}, "/position"),
        ({"estimated_minutes": 100_000}, "/estimated_minutes"),
        ({"content": [{"type": "video", "url": "ftp://x"}]}, "/content/0/video/url"),
        ({"content": "text"}, "/content"),
    ],
)
async def test_invalid_lesson_fields_are_422(
    lyo_client: Any, course: dict[str, Any], body: dict[str, Any], pointer: str
) -> None:
    response = await lyo_client.patch(
        f"{API}/lessons/{course['lessons'][0]['id']}", json=body, headers=auth("instructor")
    )
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in (await response.get_json())["errors"]]


async def test_database_refuses_a_negative_position(lyo_app: Any, course: dict[str, Any]) -> None:
    """The CHECK constraint below the validators (SQLite's schema comes from the models
    and has no CHECK: there the validator is the guard)."""
    from tortoise.exceptions import IntegrityError, ValidationError

    lesson_row = await Lesson.get(id=course["lessons"][0]["id"])
    lesson_row.position = -5
    with pytest.raises(ValidationError, match="position"):
        await lesson_row.save()
    if lyo_app.kernel.db.dialect == "postgres":
        sql = 'UPDATE "learning_lesson" SET "position" = -5 WHERE "id" = $1'
        with pytest.raises(IntegrityError, match="learning_lesson_position_range"):
            async with transaction() as connection:
                await connection.execute_query(sql, [str(lesson_row.id)])
