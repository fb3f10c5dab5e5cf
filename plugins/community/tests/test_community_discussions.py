"""Discussions: create, read, list (filters, sorts, cursor pages), edit, delete; bad
input is a 422 naming the field; hidden and deleted content does not exist for others."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from community_support import ADA, auth, published


async def create(client: Any, token: str = "ada", **fields: Any) -> dict[str, Any]:
    body = {"title": "How do knots hold?", "body": "Asking for a **friend**.", **fields}
    response = await client.post("/api/community/discussions", json=body, headers=auth(token))
    assert response.status_code == 201, await response.get_data(as_text=True)
    return await response.get_json()


async def test_create_and_read(lyo_client: Any) -> None:
    made = await create(lyo_client, tags=["Knots", "sailing"])
    assert made["author_id"] == ADA.id
    assert made["body_html"] == "<p>Asking for a <strong>friend</strong>.</p>\n"
    assert made["tags"] == ["knots", "sailing"]
    got = await (await lyo_client.get(f"/api/community/discussions/{made['id']}")).get_json()
    assert got["title"] == "How do knots hold?"
    assert got["replies"] == {"items": [], "next_cursor": None}
    [event] = published("community.discussion_created.v1")
    assert event["discussion_id"] == made["id"] and event["author_id"] == ADA.id


async def test_bad_input_names_the_field(lyo_client: Any) -> None:
    cases = [
        ({"title": "", "body": "x"}, "/title"),
        ({"title": "t", "body": ""}, "/body"),
        ({"title": "t", "body": "   "}, "/body"),
        ({"title": "t", "body": "x", "tags": ["no spaces allowed"]}, "/tags/0"),
        (
            {"title": "t", "body": "x", "category_id": "00000000-0000-0000-0000-000000000001"},
            "/category_id",
        ),
        (
            {"title": "t", "body": "x", "lesson_id": "00000000-0000-0000-0000-000000000001"},
            "/course_id",
        ),
        ({"title": "t", "body": "x", "extra": 1}, "/extra"),
    ]
    for body, pointer in cases:
        response = await lyo_client.post(
            "/api/community/discussions", json=body, headers=auth("ada")
        )
        assert response.status_code == 422, body
        assert response.content_type == "application/problem+json"
        problem = await response.get_json()
        assert any(e["pointer"].endswith(pointer) for e in problem["errors"]), (body, problem)
    response = await lyo_client.post("/api/community/discussions", json={"title": "t", "body": "x"})
    assert response.status_code == 401


async def test_listing_filters_sorts_pages_and_feed(lyo_client: Any) -> None:
    course = "11111111-1111-1111-1111-111111111111"
    made = [
        await create(
            lyo_client,
            title=f"D{n}",
            course_id=course if n % 2 else None,
            tags=["odd"] if n % 2 else [],
        )
        for n in range(5)
    ]
    first = await (await lyo_client.get("/api/community/discussions?size=2")).get_json()
    assert [d["title"] for d in first["items"]] == ["D4", "D3"]
    assert {k: first[k] for k in ("total", "page", "size", "pages")} == {
        "total": 5,
        "page": 1,
        "size": 2,
        "pages": 3,
    }
    second = await (await lyo_client.get("/api/community/discussions?size=2&page=2")).get_json()
    assert [d["title"] for d in second["items"]] == ["D2", "D1"] and second["total"] == 5
    beyond = await (await lyo_client.get("/api/community/discussions?size=2&page=9")).get_json()
    assert beyond["items"] == [] and beyond["total"] == 5
    feed = await (
        await lyo_client.get(f"/api/community/courses/{course}/discussions?size=1")
    ).get_json()
    assert [d["title"] for d in feed["items"]] == ["D3"] and "total" not in feed
    feed = await (
        await lyo_client.get(
            f"/api/community/courses/{course}/discussions?size=1&cursor={feed['next_cursor']}"
        )
    ).get_json()
    assert [d["title"] for d in feed["items"]] == ["D1"] and feed["next_cursor"] is None
    by_course = await (
        await lyo_client.get(f"/api/community/discussions?course_id={course}")
    ).get_json()
    assert {d["title"] for d in by_course["items"]} == {"D1", "D3"}
    by_tag = await (await lyo_client.get("/api/community/discussions?tag=odd")).get_json()
    assert {d["title"] for d in by_tag["items"]} == {"D1", "D3"}
    await lyo_client.put(
        f"/api/community/discussions/{made[0]['id']}/reactions/like", headers=auth("bob")
    )
    top = await (await lyo_client.get("/api/community/discussions?sort=top&size=1")).get_json()
    assert top["items"][0]["title"] == "D0"
    await lyo_client.post(
        f"/api/community/discussions/{made[1]['id']}/replies",
        json={"body": "hi"},
        headers=auth("bob"),
    )
    active = await (
        await lyo_client.get("/api/community/discussions?sort=active&size=1")
    ).get_json()
    assert active["items"][0]["title"] == "D1"
    huge = base64.urlsafe_b64encode(json.dumps([True, 10**30, str(uuid.uuid4())]).encode()).decode()
    negative = base64.urlsafe_b64encode(json.dumps([True, -1, str(uuid.uuid4())]).encode()).decode()
    for cursor, sort in (("garbage", "active"), (huge, "top"), (negative, "top")):
        bad = await lyo_client.get(
            f"/api/community/courses/{course}/discussions?sort={sort}&cursor={cursor}"
        )
        assert bad.status_code == 422, cursor  # a count no column holds: not a 500
        assert (await bad.get_json())["errors"][0]["pointer"] == "/query/cursor"
    for query in ("sort=loudest", "page=0", "size=101"):
        bad = await lyo_client.get(f"/api/community/discussions?{query}")
        assert bad.status_code == 422, query


async def test_edit_window_and_owner(lyo_client: Any, monkeypatch: Any) -> None:
    made = await create(lyo_client)
    url = f"/api/community/discussions/{made['id']}"
    response = await lyo_client.patch(url, json={"body": "Edited _now_"}, headers=auth("ada"))
    assert response.status_code == 200
    edited = await response.get_json()
    assert edited["body_html"] == "<p>Edited <em>now</em></p>\n" and edited["edited_at"]
    assert (
        await lyo_client.patch(url, json={"body": "mine"}, headers=auth("bob"))
    ).status_code == 403
    assert (
        await lyo_client.patch(url, json={"body": "mod"}, headers=auth("mod"))
    ).status_code == 200


async def test_deleted_and_hidden_do_not_exist_for_others(lyo_client: Any) -> None:
    gone = await create(lyo_client, title="gone")
    hidden = await create(lyo_client, title="hidden")
    url = f"/api/community/discussions/{gone['id']}"
    assert (await lyo_client.delete(url, headers=auth("bob"))).status_code == 403
    assert (await lyo_client.delete(url, headers=auth("ada"))).status_code == 204
    moderated = await lyo_client.post(
        f"/api/community/discussions/{hidden['id']}/moderation",
        json={"action": "hide", "reason": "spam"},
        headers=auth("mod"),
    )
    assert moderated.status_code == 200
    missing = "/api/community/discussions/00000000-0000-0000-0000-000000000000"
    nothing = await lyo_client.get(missing, headers=auth("bob"))
    for target in (gone, hidden):
        answer = await lyo_client.get(
            f"/api/community/discussions/{target['id']}", headers=auth("bob")
        )
        assert answer.status_code == 404
        assert (await answer.get_json())["detail"] == (await nothing.get_json())["detail"]
        for path in ("/replies", "/reports"):
            body = {"body": "x"} if path == "/replies" else {"reason": "x"}
            r = await lyo_client.post(
                f"/api/community/discussions/{target['id']}{path}", json=body, headers=auth("bob")
            )
            assert r.status_code == 404
        r = await lyo_client.put(
            f"/api/community/discussions/{target['id']}/reactions/like", headers=auth("bob")
        )
        assert r.status_code == 404
    listed = await (
        await lyo_client.get("/api/community/discussions", headers=auth("bob"))
    ).get_json()
    assert listed["items"] == []
    # the author still sees the hidden one; moderators see it too
    own = await lyo_client.get(f"/api/community/discussions/{hidden['id']}", headers=auth("ada"))
    assert own.status_code == 200 and (await own.get_json())["hidden"] is True
    mine = await (
        await lyo_client.get("/api/community/discussions?author=me", headers=auth("ada"))
    ).get_json()
    assert [d["title"] for d in mine["items"]] == ["hidden"]
    moderated_events = published("community.content_moderated.v1")
    assert {(e["target_id"], e["action"]) for e in moderated_events} == {
        (gone["id"], "deleted"),
        (hidden["id"], "hidden"),
    }
