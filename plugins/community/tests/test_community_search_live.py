"""Search (PostgreSQL full text with ranking and snippets; SQLite substring), the live
topic and its authorization, per-user notices, view counts, export and erase."""

from __future__ import annotations

from typing import Any

import pytest
from community_support import ADA, BOB, auth, published
from lyo_community import plugin as community_plugin
from lyo_community import views

from kernel import Identity
from kernel.testing import test_database_kind


async def post(client: Any, title: str, body: str, token: str = "ada") -> dict[str, Any]:
    r = await client.post(
        "/api/community/discussions", json={"title": title, "body": body}, headers=auth(token)
    )
    assert r.status_code == 201
    return await r.get_json()


async def test_search_finds_public_posts_only(lyo_client: Any) -> None:
    knots = await post(lyo_client, "Bowline knots", "How to tie a <b>bowline</b> knot quickly")
    await post(lyo_client, "Cooking", "Pasta water should be salty")
    secret = await post(lyo_client, "Hidden knots", "bowline secrets")
    await lyo_client.post(
        f"/api/community/discussions/{secret['id']}/moderation",
        json={"action": "hide"},
        headers=auth("mod"),
    )
    r = await lyo_client.post(
        f"/api/community/discussions/{knots['id']}/replies",
        json={"body": "Practice the bowline daily"},
        headers=auth("bob"),
    )
    assert r.status_code == 201
    found = await (await lyo_client.get("/api/community/search?q=bowline")).get_json()
    ids = [(h["target_type"], h["discussion_id"]) for h in found["items"]]
    assert ("discussion", knots["id"]) in ids and ("reply", knots["id"]) in ids
    assert all(h["discussion_id"] != secret["id"] for h in found["items"])
    assert found["items"][0]["target_type"] == "discussion"  # title matches rank first
    snippet = found["items"][0]["snippet"]
    assert "<mark>" in snippet and "<b>" not in snippet  # highlighted, the rest escaped
    if test_database_kind() == "postgres":  # stemming: "knotting" finds "knots"
        stem = await (await lyo_client.get("/api/community/search?q=knotting")).get_json()
        assert [h["id"] for h in stem["items"]] == [knots["id"]]
    bad = await lyo_client.get("/api/community/search?q=")
    assert bad.status_code == 422 and (await bad.get_json())["errors"][0]["pointer"].endswith("/q")


async def test_topic_authorization_and_notices(lyo_app: Any, lyo_client: Any) -> None:
    made = await post(lyo_client, "Live", "x")
    hidden = await post(lyo_client, "Hidden", "x")
    await lyo_client.post(
        f"/api/community/discussions/{hidden['id']}/moderation",
        json={"action": "hide"},
        headers=auth("mod"),
    )
    bob = BOB

    async def allowed(identity: Identity, topic: str) -> bool | None:
        return await community_plugin.authorize_topic(identity, topic)

    assert await allowed(bob, f"community:discussion:{made['id']}") is True
    assert await allowed(bob, f"community:discussion:{hidden['id']}") is False
    assert await allowed(ADA, f"community:discussion:{hidden['id']}") is True
    assert await allowed(bob, "community:discussion:not-a-uuid") is False
    assert await allowed(bob, "community:other") is False
    assert await allowed(bob, "hello:x") is None
    r = await lyo_client.post(
        f"/api/community/discussions/{made['id']}/replies",
        json={"body": "hi @ada"},
        headers=auth("bob"),
    )
    assert r.status_code == 201
    [event] = published("community.reply_created.v1")
    assert event["mentions"] == ["ada"] and event["discussion_author_id"] == ADA.id


async def test_views_count_once_per_reader_per_day(lyo_app: Any, lyo_client: Any) -> None:
    made = await post(lyo_client, "Viewed", "x")
    url = f"/api/community/discussions/{made['id']}"
    for token in ("bob", "bob", "carol", "bob"):
        await lyo_client.get(url, headers=auth(token))
    got = await (await lyo_client.get(url)).get_json()  # anonymous: not counted
    assert got["view_count"] == 2
    assert await views.flush() == 1
    assert await views.flush() == 0
    got = await (await lyo_client.get(url)).get_json()
    assert got["view_count"] == 2  # now stored, nothing pending


async def test_export_and_erase(lyo_app: Any, lyo_client: Any) -> None:
    made = await post(lyo_client, "Mine", "my words", "bob")
    other = await post(lyo_client, "Theirs", "x", "ada")
    await lyo_client.post(
        f"/api/community/discussions/{other['id']}/replies",
        json={"body": "my reply"},
        headers=auth("bob"),
    )
    await lyo_client.put(
        f"/api/community/discussions/{other['id']}/reactions/like", headers=auth("bob")
    )
    exported = await community_plugin.export_user(BOB.id)
    assert exported is not None
    assert [d["title"] for d in exported["discussions"]] == ["Mine"]
    assert [r["body"] for r in exported["replies"]] == ["my reply"]
    assert len(exported["reactions"]) == 1
    assert await community_plugin.export_user("nobody") is None
    await community_plugin.erase_user(BOB.id)
    assert await community_plugin.export_user(BOB.id) is None
    got = await (
        await lyo_client.get(f"/api/community/discussions/{other['id']}", headers=auth("ada"))
    ).get_json()
    assert got["reaction_count"] == 0 and got["reply_count"] == 0
    assert got["replies"]["items"][0]["deleted"] is True  # the thread keeps its shape
    assert (
        await lyo_client.get(f"/api/community/discussions/{made['id']}", headers=auth("ada"))
    ).status_code == 404


@pytest.mark.skipif(test_database_kind() != "postgres", reason="migrations target PostgreSQL")
async def test_migrations_down_and_up(lyo_app: Any) -> None:
    from kernel.data import migrations  # the kernel's migration runner, as `lyo migrate` uses it

    kernel = lyo_app.kernel
    assert await migrations.make(kernel, "community", check=True) is None  # models == files
    from lyo_community.models import Discussion

    conn = Discussion._meta.db
    column = (
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'community_reply' "
        "AND column_name = 'mentioned_users'"
    )
    await migrations.downgrade(kernel, "community", -1)  # pinned indexes, mentioned users
    assert (await conn.execute_query(column))[1] == []
    await migrations.downgrade(kernel, "community", -1)
    _, rows = await conn.execute_query("SELECT to_regclass('community_discussion') AS t")
    assert rows[0]["t"] is None
    await migrations.upgrade(kernel)
    assert (await conn.execute_query(column))[1] != []
    _, rows = await conn.execute_query(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_community_discussion_search'"
    )
    assert "gin" in rows[0]["indexdef"].lower()


async def test_public_api_answers_for_public_discussions_only(
    lyo_app: Any, lyo_client: Any
) -> None:
    from uuid import UUID

    from lyo_community.api import discussions_by_id

    shown = await post(lyo_client, "Shown", "x")
    hidden = await post(lyo_client, "Hidden", "x")
    await lyo_client.post(
        f"/api/community/discussions/{hidden['id']}/moderation",
        json={"action": "hide"},
        headers=auth("mod"),
    )
    found = await discussions_by_id([UUID(shown["id"]), UUID(hidden["id"])])
    assert [d.title for d in found.values()] == ["Shown"]
