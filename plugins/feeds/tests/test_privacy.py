"""Nothing private becomes activity: a hidden user's activity never reaches others'
feeds, followers-only activity reaches followers only, a generated course stays a
private draft until published, held or hidden community content never shows, and a
deactivated or erased user's activity disappears (export and erase hooks too)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from conftest import (
    ContentModerated,
    CourseGenerated,
    DiscussionCreated,
    ReplyCreated,
    UserDeactivated,
    _now,
    auth,
    enrolled,
    feed,
    follow,
    publish,
    published,
    settled,
)
from lyo_feeds import plugin as feeds
from lyo_feeds.models import Activity, Embedding, Follow, Privacy


async def _visibility(client: Any, user: str, value: str) -> None:
    response = await client.put(
        "/api/feeds/settings", json={"visibility": value}, headers=auth(user)
    )
    assert response.status_code == 200, await response.get_data()


async def test_a_user_who_hides_their_activity_never_appears_in_others_feeds(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    course = uuid4()
    await follow(lyo_client, "ada", "user", "bob")
    await follow(lyo_client, "cy", "course", str(course))
    await _visibility(lyo_client, "bob", "private")
    await publish(lyo_app, enrolled("bob", course), enrolled("dee", course))
    # bob sees his own; dee's shows everywhere, bob's nowhere else
    assert len((await feed(lyo_client, "/users/bob", "bob", want=1))["items"]) == 1
    assert len((await feed(lyo_client, "/courses/" + str(course), "cy", want=1))["items"]) == 1
    for user, path in [
        ("ada", "/me"),
        ("ada", "/users/bob"),
        ("cy", "/me"),
        ("cy", f"/courses/{course}"),
        ("dee", f"/courses/{course}"),
    ]:
        body = await feed(lyo_client, path, user)
        assert all(i["actor_id"] != "bob" for i in body["items"]), (user, path)
    # making it public again shows what was there (visibility is applied when reading)
    await _visibility(lyo_client, "bob", "public")
    assert len((await feed(lyo_client, "/users/bob", "ada"))["items"]) == 1


async def test_followers_only_activity_reaches_followers_only(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    course = uuid4()
    await follow(lyo_client, "ada", "user", "bob")
    await follow(lyo_client, "cy", "course", str(course))
    await _visibility(lyo_client, "bob", "followers")
    response = await lyo_client.get("/api/feeds/settings", headers=auth("bob"))
    assert (await response.get_json())["visibility"] == "followers"
    await publish(lyo_app, enrolled("bob", course))
    assert len((await feed(lyo_client, "/me", "ada", want=1))["items"]) == 1
    assert (await feed(lyo_client, "/me", "cy"))["items"] == []
    assert (await feed(lyo_client, f"/courses/{course}", "cy"))["items"] == []
    assert len((await feed(lyo_client, f"/courses/{course}", "ada"))["items"]) == 1


async def test_the_default_visibility_is_a_setting(
    lyo_client: Any, lyo_app: Any, lyo_worker: None, monkeypatch: Any
) -> None:
    response = await lyo_client.get("/api/feeds/settings", headers=auth("bob"))
    assert (await response.get_json())["visibility"] == "public"
    bad = await lyo_client.put(
        "/api/feeds/settings", json={"visibility": "friends"}, headers=auth("bob")
    )
    assert bad.status_code == 422
    assert bad.headers["Content-Type"] == "application/problem+json"


async def test_a_generated_course_is_a_private_draft_until_published(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    course = uuid4()
    await follow(lyo_client, "ada", "user", "bob")
    await publish(
        lyo_app,
        CourseGenerated(
            course_id=course,
            task_id=uuid4(),
            owner_id="bob",
            topic="Knots",
            lesson_count=4,
            model="gemma",
            tokens=100,
        ),
    )
    mine = await feed(lyo_client, "/users/bob", "bob", want=1)
    assert mine["items"][0]["audience"] == "actor"
    assert mine["items"][0]["summary"] == "generated a draft course: Knots"
    assert (await feed(lyo_client, "/me", "ada"))["items"] == []
    assert (await feed(lyo_client, "/users/bob", "ada"))["items"] == []
    await publish(lyo_app, published("bob", course, "Knots for sailors"))
    body = await feed(lyo_client, "/me", "ada", want=1)
    [item] = body["items"]
    assert item["verb"] == "published_course" and item["summary"] == "published Knots for sailors"
    # the draft's private activity is gone, the owner sees the publication only
    assert [i["verb"] for i in (await feed(lyo_client, "/users/bob", "bob"))["items"]] == [
        "published_course"
    ]


async def test_held_and_hidden_community_content_never_appears(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    held, shown = uuid4(), uuid4()
    await publish(
        lyo_app,
        DiscussionCreated(
            discussion_id=held, author_id="bob", title="Spam", status="held", created_at=_now()
        ),
        DiscussionCreated(
            discussion_id=shown, author_id="bob", title="Bowlines", created_at=_now()
        ),
    )
    await publish(
        lyo_app,
        ReplyCreated(
            reply_id=uuid4(),
            discussion_id=shown,
            author_id="cy",
            target_author_id="bob",
            discussion_author_id="bob",
            created_at=_now(),
        ),
    )
    body = await feed(lyo_client, "/users/bob", "ada", want=1)
    assert [i["summary"] for i in body["items"]] == ["started a discussion: Bowlines"]
    assert len((await feed(lyo_client, "/users/cy", "ada", want=1))["items"]) == 1
    lyo_app.kernel.activate()  # as feeds:embed_waiting would have stored it
    await Embedding.update_or_create(
        {"title": "Bowlines", "text": "", "model": "m", "vector": b""},
        kind="discussion",
        object_id=str(shown),
    )
    await publish(
        lyo_app,
        ContentModerated(
            target_type="discussion",
            target_id=shown,
            discussion_id=shown,
            author_id="bob",
            action="hidden",
        ),
    )
    await settled(lyo_client, "/users/bob", "ada", lambda b: b["items"] == [])
    lyo_app.kernel.activate()
    assert not await Embedding.filter(kind="discussion", object_id=str(shown)).exists()
    assert (await feed(lyo_client, "/users/bob", "ada"))["items"] == []
    assert (await feed(lyo_client, "/users/cy", "ada"))["items"] == []  # its replies too


async def test_a_deactivated_users_activity_disappears(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    await follow(lyo_client, "ada", "user", "bob")
    await publish(lyo_app, enrolled("bob", uuid4()))
    await feed(lyo_client, "/me", "ada", want=1)
    await publish(lyo_app, UserDeactivated(user_id="bob"))
    body = await settled(lyo_client, "/me", "ada", lambda b: b["items"] == [])
    assert body["items"] == []


async def test_export_and_erase(lyo_client: Any, lyo_app: Any, lyo_worker: None) -> None:
    await follow(lyo_client, "bob", "user", "ada")
    await follow(lyo_client, "ada", "user", "bob")
    await _visibility(lyo_client, "bob", "followers")
    await publish(lyo_app, enrolled("bob", uuid4()))
    await feed(lyo_client, "/users/bob", "bob", want=1)
    lyo_app.kernel.activate()
    exported = await feeds.export_user("bob")
    assert exported is not None
    assert [a["verb"] for a in exported["activities"]] == ["enrolled"]
    assert [(f["kind"], f["target_id"]) for f in exported["follows"]] == [("user", "ada")]
    assert exported["privacy"][0]["visibility"] == "followers"
    await feeds.erase_user("bob")
    assert await feeds.export_user("bob") is None
    assert not await Activity.filter(actor_id="bob").exists()
    assert not await Follow.filter(target_id="bob").exists()  # ada no longer follows bob
    assert not await Privacy.filter(user_id="bob").exists()
    assert await feeds.export_user("cy") is None
