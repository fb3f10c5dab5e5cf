"""Replies: threaded to a depth limit, locked discussions, soft deletion that keeps the
thread readable, hidden replies left out for others, exact counts under concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

from community_support import ADA, BOB, CROWD, auth, published


async def discussion(client: Any, token: str = "ada") -> str:
    response = await client.post(
        "/api/community/discussions", json={"title": "Thread", "body": "Start"}, headers=auth(token)
    )
    assert response.status_code == 201
    return (await response.get_json())["id"]


async def reply(
    client: Any, did: str, body: str, token: str = "bob", parent: str | None = None
) -> Any:
    return await client.post(
        f"/api/community/discussions/{did}/replies",
        json={"body": body, **({"parent_id": parent} if parent else {})},
        headers=auth(token),
    )


async def test_tree_depth_and_events(lyo_client: Any) -> None:
    did = await discussion(lyo_client)
    first = await (await reply(lyo_client, did, "level 1")).get_json()
    second = await (await reply(lyo_client, did, "level 2", "ada", first["id"])).get_json()
    third = await (await reply(lyo_client, did, "level 3", "bob", second["id"])).get_json()
    too_deep = await reply(lyo_client, did, "level 4", "ada", third["id"])
    assert too_deep.status_code == 422
    assert (await too_deep.get_json())["errors"][0]["pointer"] == "/parent_id"
    elsewhere = await reply(lyo_client, await discussion(lyo_client), "x", parent=first["id"])
    assert elsewhere.status_code == 422
    got = await (await lyo_client.get(f"/api/community/discussions/{did}")).get_json()
    assert got["reply_count"] == 3
    [top] = got["replies"]["items"]
    assert top["body"] == "level 1"
    assert top["children"][0]["body"] == "level 2"
    assert top["children"][0]["children"][0]["body"] == "level 3"
    events = published("community.reply_created.v1")
    assert [(e["author_id"], e["target_author_id"]) for e in events] == [
        (BOB.id, ADA.id),
        (ADA.id, BOB.id),
        (BOB.id, ADA.id),
    ]


async def test_top_level_pages(lyo_client: Any) -> None:
    did = await discussion(lyo_client)
    for n in range(5):
        assert (await reply(lyo_client, did, f"r{n}")).status_code == 201
    page = await (await lyo_client.get(f"/api/community/discussions/{did}?size=2")).get_json()
    assert [r["body"] for r in page["replies"]["items"]] == ["r0", "r1"]
    cursor = page["replies"]["next_cursor"]
    page = await (
        await lyo_client.get(f"/api/community/discussions/{did}?size=2&cursor={cursor}")
    ).get_json()
    assert [r["body"] for r in page["replies"]["items"]] == ["r2", "r3"]


async def test_locked_deleted_and_hidden_replies(lyo_client: Any) -> None:
    did = await discussion(lyo_client)
    parent = await (await reply(lyo_client, did, "parent")).get_json()
    child = await (await reply(lyo_client, did, "child", "ada", parent["id"])).get_json()
    hidden = await (await reply(lyo_client, did, "rude")).get_json()
    assert (
        await lyo_client.delete(f"/api/community/replies/{parent['id']}", headers=auth("ada"))
    ).status_code == 403
    assert (
        await lyo_client.delete(f"/api/community/replies/{parent['id']}", headers=auth("bob"))
    ).status_code == 204
    r = await lyo_client.post(
        f"/api/community/replies/{hidden['id']}/moderation",
        json={"action": "hide"},
        headers=auth("mod"),
    )
    assert r.status_code == 200
    got = await (
        await lyo_client.get(f"/api/community/discussions/{did}", headers=auth("carol"))
    ).get_json()
    [placeholder] = got["replies"]["items"]  # the hidden one is not there at all
    assert placeholder["deleted"] and placeholder["body"] == "" and placeholder["author_id"] is None
    assert placeholder["children"][0]["id"] == child["id"]
    assert got["reply_count"] == 1
    assert (
        await lyo_client.patch(
            f"/api/community/replies/{hidden['id']}", json={"body": "x"}, headers=auth("carol")
        )
    ).status_code == 404
    mine = await (
        await lyo_client.get(f"/api/community/discussions/{did}", headers=auth("bob"))
    ).get_json()
    assert len(mine["replies"]["items"]) == 2  # its author still sees the hidden reply
    r = await lyo_client.post(
        f"/api/community/discussions/{did}/moderation", json={"action": "lock"}, headers=auth("mod")
    )
    assert r.status_code == 200 and (await r.get_json())["locked"]
    assert (await reply(lyo_client, did, "late")).status_code == 409
    assert (await reply(lyo_client, did, "mod may", "mod")).status_code == 201


async def test_counts_stay_exact_under_concurrency(lyo_client: Any, monkeypatch: Any) -> None:
    did = await discussion(lyo_client)
    url = f"/api/community/discussions/{did}/reactions/like"
    answers = await asyncio.gather(
        *(lyo_client.put(url, headers=auth(f"crowd-{n}")) for n in range(len(CROWD)))
    )
    assert {a.status_code for a in answers} == {200}
    same = await asyncio.gather(*(lyo_client.put(url, headers=auth("ada")) for _ in range(10)))
    assert {a.status_code for a in same} == {200}
    replies = await asyncio.gather(
        *(reply(lyo_client, did, f"r{n}", f"crowd-{n}") for n in range(50))
    )
    assert {r.status_code for r in replies} == {201}
    got = await (
        await lyo_client.get(f"/api/community/discussions/{did}", headers=auth("ada"))
    ).get_json()
    assert got["reaction_count"] == 101
    assert got["reactions"] == {"counts": {"like": 101}, "mine": ["like"]}
    assert got["reply_count"] == 50
    assert len(published("community.reaction_added.v1")) == 101
    # unreacting is idempotent too
    for _ in range(2):
        r = await lyo_client.delete(url, headers=auth("ada"))
        assert (await r.get_json())["counts"] == {"like": 100}
    bad = await lyo_client.put(
        f"/api/community/discussions/{did}/reactions/shout", headers=auth("ada")
    )
    assert bad.status_code == 422 and (await bad.get_json())["errors"][0]["pointer"] == "/path/kind"
