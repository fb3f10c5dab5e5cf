"""Reports (one open per reporter and target), the moderation queue and log, held posts
that announce themselves only when approved, restriction after upheld reports,
categories, permissions."""

from __future__ import annotations

from typing import Any

import pytest
from community_support import ADA, BOB, CAROL, MOD, auth, published


async def post(client: Any, token: str = "ada", title: str = "Hello") -> Any:
    return await client.post(
        "/api/community/discussions", json={"title": title, "body": "Body"}, headers=auth(token)
    )


async def test_reports_queue_decisions_and_restriction(lyo_client: Any, monkeypatch: Any) -> None:
    bad = [await (await post(lyo_client, "bob", f"spam {n}")).get_json() for n in range(3)]
    url = f"/api/community/discussions/{bad[0]['id']}/reports"
    assert (
        await lyo_client.post(url, json={"reason": "spam"}, headers=auth("ada"))
    ).status_code == 201
    again = await lyo_client.post(url, json={"reason": "spam!"}, headers=auth("ada"))
    assert again.status_code == 409
    assert (
        await lyo_client.post(url, json={"reason": ""}, headers=auth("carol"))
    ).status_code == 422
    [event] = published("community.content_reported.v1")
    assert event["target_author_id"] == BOB.id
    assert (
        await lyo_client.get("/api/community/moderation/queue", headers=auth("ada"))
    ).status_code == 403
    queue = await (
        await lyo_client.get("/api/community/moderation/queue", headers=auth("mod"))
    ).get_json()
    [item] = queue["items"]
    assert item["kind"] == "report" and item["target_id"] == bad[0]["id"]
    decided = await lyo_client.post(
        f"/api/community/reports/{item['report']['id']}/decision",
        json={"status": "resolved", "hide": True, "reason": "spam"},
        headers=auth("mod"),
    )
    assert decided.status_code == 200 and (await decided.get_json())["status"] == "resolved"
    again = await lyo_client.post(
        f"/api/community/reports/{item['report']['id']}/decision",
        json={"status": "dismissed"},
        headers=auth("mod"),
    )
    assert again.status_code == 409
    assert (
        await lyo_client.get(f"/api/community/discussions/{bad[0]['id']}", headers=auth("ada"))
    ).status_code == 404
    # once closed, the same reporter may report the same target again
    assert (
        await lyo_client.post(url, json={"reason": "again"}, headers=auth("ada"))
    ).status_code == 404
    # two more upheld reports restrict bob (the default is 3)
    for target in bad[1:]:
        r = await lyo_client.post(
            f"/api/community/discussions/{target['id']}/reports",
            json={"reason": "spam"},
            headers=auth("carol"),
        )
        report = await r.get_json()
        await lyo_client.post(
            f"/api/community/reports/{report['id']}/decision",
            json={"status": "resolved"},
            headers=auth("mod"),
        )
    restricted = await post(lyo_client, "bob")
    assert restricted.status_code == 403
    log = await (
        await lyo_client.get("/api/community/moderation/log", headers=auth("mod"))
    ).get_json()
    assert {"hide", "resolved"} <= {entry["action"] for entry in log["items"]}


@pytest.fixture
def _held(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_COMMUNITY__HELD_FIRST_POSTS", "1")


@pytest.mark.usefixtures("_held")
async def test_held_posts_announce_only_when_approved(lyo_client: Any) -> None:
    held = await (await post(lyo_client, "carol", "first post")).get_json()
    assert held["held"] is True
    assert published("community.discussion_created.v1") == []
    assert (
        await lyo_client.get(f"/api/community/discussions/{held['id']}", headers=auth("ada"))
    ).status_code == 404
    assert (
        await lyo_client.get(f"/api/community/discussions/{held['id']}", headers=auth("carol"))
    ).status_code == 200
    queue = await (
        await lyo_client.get(
            "/api/community/moderation/queue?kind=held_discussion", headers=auth("mod")
        )
    ).get_json()
    assert [i["target_id"] for i in queue["items"]] == [held["id"]]
    approved = await lyo_client.post(
        f"/api/community/discussions/{held['id']}/moderation",
        json={"action": "approve"},
        headers=auth("mod"),
    )
    assert approved.status_code == 200 and (await approved.get_json())["held"] is False
    [event] = published("community.discussion_created.v1")
    assert event["discussion_id"] == held["id"]
    second = await (await post(lyo_client, "carol", "second post")).get_json()
    assert second["held"] is False  # one approved post: trusted now


async def test_categories_and_move(lyo_client: Any) -> None:
    body = {"name": "Help", "slug": "help", "description": "Ask here"}
    assert (
        await lyo_client.post("/api/community/categories", json=body, headers=auth("ada"))
    ).status_code == 403
    made = await lyo_client.post("/api/community/categories", json=body, headers=auth("mod"))
    assert made.status_code == 201
    category = await made.get_json()
    dup = await lyo_client.post("/api/community/categories", json=body, headers=auth("mod"))
    assert dup.status_code == 409
    discussion = await (await post(lyo_client)).get_json()
    moved = await lyo_client.post(
        f"/api/community/discussions/{discussion['id']}/moderation",
        json={"action": "move", "category_id": category["id"]},
        headers=auth("mod"),
    )
    assert (await moved.get_json())["category_id"] == category["id"]
    listed = await (await lyo_client.get("/api/community/discussions?category=help")).get_json()
    assert [d["id"] for d in listed["items"]] == [discussion["id"]]
    renamed = await lyo_client.patch(
        f"/api/community/categories/{category['id']}",
        json={"name": "Questions", "archived": True},
        headers=auth("mod"),
    )
    assert (await renamed.get_json())["archived"] is True
    r = await lyo_client.post(
        "/api/community/discussions",
        json={"title": "t", "body": "b", "category_id": category["id"]},
        headers=auth("ada"),
    )
    assert r.status_code == 422  # archived: no new discussions


async def test_blocking(lyo_client: Any) -> None:
    discussion = await (await post(lyo_client)).get_json()
    assert (
        await lyo_client.put(f"/api/community/blocks/{BOB.id}", headers=auth("ada"))
    ).status_code == 200
    r = await lyo_client.post(
        f"/api/community/discussions/{discussion['id']}/replies",
        json={"body": "hi"},
        headers=auth("bob"),
    )
    assert r.status_code == 403
    assert (
        await lyo_client.delete(f"/api/community/blocks/{BOB.id}", headers=auth("ada"))
    ).status_code == 204
    r = await lyo_client.post(
        f"/api/community/discussions/{discussion['id']}/replies",
        json={"body": "hi"},
        headers=auth("bob"),
    )
    assert r.status_code == 201


async def test_events_name_recipients_without_blockers(lyo_client: Any) -> None:
    """What the notifications plugin delivers from (``recipient_ids``) leaves out whoever
    blocked the actor: a subscriber, the author of what was reacted to."""
    discussion = await (await post(lyo_client)).get_json()
    url = f"/api/community/discussions/{discussion['id']}"
    await lyo_client.put(f"{url}/subscription", headers=auth("carol"))
    await lyo_client.put(f"{url}/subscription", headers=auth("mod"))
    await lyo_client.put(f"/api/community/blocks/{BOB.id}", headers=auth("carol"))
    reply = await (
        await lyo_client.post(f"{url}/replies", json={"body": "hi"}, headers=auth("bob"))
    ).get_json()
    [created] = published("community.reply_created.v1")
    assert sorted(created["recipient_ids"]) == sorted([ADA.id, MOD.id])
    assert created["parent_author_id"] is None and created["title"] == "Hello"
    await lyo_client.put(f"/api/community/blocks/{BOB.id}", headers=auth("ada"))
    await lyo_client.put(f"{url}/reactions/like", headers=auth("bob"))
    await lyo_client.put(f"{url}/reactions/like", headers=auth("carol"))
    await lyo_client.put(
        f"/api/community/replies/{reply['id']}/reactions/thanks", headers=auth("ada")
    )
    await lyo_client.put(
        f"/api/community/replies/{reply['id']}/reactions/like", headers=auth("bob")
    )
    added = {(e["user_id"], e["reply_id"]): e for e in published("community.reaction_added.v1")}
    assert added[(BOB.id, None)]["recipient_ids"] == []  # Ada blocked Bob
    assert added[(CAROL.id, None)]["recipient_ids"] == [ADA.id]
    assert added[(ADA.id, reply["id"])]["recipient_ids"] == [BOB.id]
    assert added[(ADA.id, reply["id"])]["reaction"] == "thanks"
    assert added[(BOB.id, reply["id"])]["recipient_ids"] == []  # his own reply


@pytest.fixture
def _slow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_COMMUNITY__POST_RATE", "2/minute")


@pytest.mark.usefixtures("_slow")
async def test_posting_is_rate_limited(lyo_client: Any) -> None:
    assert (await post(lyo_client)).status_code == 201
    assert (await post(lyo_client)).status_code == 201
    third = await post(lyo_client)
    assert third.status_code == 429 and int(third.headers["Retry-After"]) >= 1


@pytest.mark.usefixtures("_slow")
async def test_edits_count_against_the_posting_rate(lyo_client: Any) -> None:
    """Each edit may announce mentions again: toggling one in and out is limited too."""
    created = await (await post(lyo_client)).get_json()
    url = f"/api/community/discussions/{created['id']}"
    edit = await lyo_client.patch(url, json={"body": "@carol hi"}, headers=auth("ada"))
    assert edit.status_code == 200
    again = await lyo_client.patch(url, json={"body": "hi"}, headers=auth("ada"))
    assert again.status_code == 429
    assert (await post(lyo_client, "bob")).status_code == 201  # per user


@pytest.mark.usefixtures("_held")
async def test_held_reply_counts_and_announces_only_when_approved(lyo_client: Any) -> None:
    discussion = await (await post(lyo_client, "mod", "by a moderator")).get_json()
    url = f"/api/community/discussions/{discussion['id']}"
    held = await (
        await lyo_client.post(f"{url}/replies", json={"body": "new here"}, headers=auth("carol"))
    ).get_json()
    assert held["held"] is True
    assert published("community.reply_created.v1") == []
    seen = await (await lyo_client.get(url, headers=auth("bob"))).get_json()
    assert seen["reply_count"] == 0 and seen["replies"]["items"] == []
    queue = await (
        await lyo_client.get("/api/community/moderation/queue?kind=held_reply", headers=auth("mod"))
    ).get_json()
    assert [i["target_id"] for i in queue["items"]] == [held["id"]]
    approved = await lyo_client.post(
        f"/api/community/replies/{held['id']}/moderation",
        json={"action": "approve"},
        headers=auth("mod"),
    )
    assert approved.status_code == 200
    seen = await (await lyo_client.get(url, headers=auth("bob"))).get_json()
    assert seen["reply_count"] == 1 and seen["replies"]["items"][0]["id"] == held["id"]
    [event] = published("community.reply_created.v1")
    assert event["reply_id"] == held["id"]
    again = await lyo_client.post(
        f"/api/community/replies/{held['id']}/moderation",
        json={"action": "approve"},
        headers=auth("mod"),
    )
    assert again.status_code == 409


@pytest.fixture
def _no_edit_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_COMMUNITY__EDIT_WINDOW_MINUTES", "0")


@pytest.mark.usefixtures("_no_edit_window")
async def test_edits_after_the_window_are_refused_but_moderators_may(lyo_client: Any) -> None:
    discussion = await (await post(lyo_client)).get_json()
    url = f"/api/community/discussions/{discussion['id']}"
    late = await lyo_client.patch(url, json={"title": "late"}, headers=auth("ada"))
    assert late.status_code == 403
    assert (
        await lyo_client.patch(url, json={"title": "mod"}, headers=auth("mod"))
    ).status_code == 200
