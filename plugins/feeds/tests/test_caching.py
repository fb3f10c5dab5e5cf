"""Feed pages come from the kernel cache (memory here, Redis with ``LYO_TEST_REDIS``),
and every change that reaches a feed reaches its cached pages: a write through the API
is seen by the next read (no stale read), a delivered event soon after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from conftest import (
    ContentModerated,
    DiscussionCreated,
    UserDeactivated,
    _now,
    auth,
    enrolled,
    feed,
    follow,
    publish,
    settled,
)
from lyo_feeds.models import Activity


async def _behind_the_back(app: Any, actor: str) -> None:
    """An activity written to the table directly: no event, so no token renewed."""
    app.kernel.activate()
    course = str(uuid4())
    await Activity.create(
        actor_id=actor,
        verb="enrolled",
        object_type="course",
        object_id=course,
        course_id=course,
        objects=[course],
        occurred_at=datetime.now(UTC),
    )


async def test_pages_are_served_from_the_cache(lyo_client: Any, lyo_app: Any) -> None:
    await follow(lyo_client, "ada", "user", "bob")
    await _behind_the_back(lyo_app, "bob")
    paths = ("/me", "/users/bob")
    for path in paths:
        assert len((await feed(lyo_client, path, "ada"))["items"]) == 1
    await _behind_the_back(lyo_app, "bob")
    for path in paths:  # cached: the row written behind the plugin's back is not seen
        assert len((await feed(lyo_client, path, "ada"))["items"]) == 1, path
    # another reader, another page: computed now
    assert len((await feed(lyo_client, "/users/bob", "cy"))["items"]) == 2


async def test_no_stale_read_after_a_write_through_the_api(lyo_client: Any, lyo_app: Any) -> None:
    await _behind_the_back(lyo_app, "bob")
    await _behind_the_back(lyo_app, "cy")
    assert (await feed(lyo_client, "/me", "ada"))["items"] == []  # cached, empty
    await follow(lyo_client, "ada", "user", "bob")
    assert [i["actor_id"] for i in (await feed(lyo_client, "/me", "ada"))["items"]] == ["bob"]
    await follow(lyo_client, "ada", "user", "cy")
    assert len((await feed(lyo_client, "/me", "ada"))["items"]) == 2
    response = await lyo_client.delete("/api/feeds/follows/user/cy", headers=auth("ada"))
    assert response.status_code == 204
    assert [i["actor_id"] for i in (await feed(lyo_client, "/me", "ada"))["items"]] == ["bob"]
    # bob hides his activity: gone at once from ada's cached feeds, back when he shows it
    assert len((await feed(lyo_client, "/users/bob", "ada"))["items"]) == 1
    for visibility, readers in (
        ("private", ()),
        ("followers", ("ada",)),
        ("public", ("ada", "dee")),
    ):
        response = await lyo_client.put(
            "/api/feeds/settings", json={"visibility": visibility}, headers=auth("bob")
        )
        assert response.status_code == 200
        for path, reader in (("/me", "ada"), ("/users/bob", "ada"), ("/users/bob", "dee")):
            items = (await feed(lyo_client, path, reader))["items"]
            assert len(items) == (reader in readers), (visibility, path, reader)


async def test_events_reach_cached_feeds(lyo_client: Any, lyo_app: Any, lyo_worker: None) -> None:
    course = uuid4()
    await follow(lyo_client, "ada", "user", "bob")
    await follow(lyo_client, "cy", "course", str(course))
    for path, reader in (("/me", "ada"), ("/me", "cy"), (f"/courses/{course}", "dee")):
        assert (await feed(lyo_client, path, reader))["items"] == []  # cached, empty
    # new activity of someone I follow, on a course I follow
    await publish(lyo_app, enrolled("bob", course))
    for path, reader in (("/me", "ada"), ("/me", "cy"), (f"/courses/{course}", "dee")):
        await settled(lyo_client, path, reader, lambda b: len(b["items"]) == 1)
    # moderation
    discussion = uuid4()
    await publish(
        lyo_app,
        DiscussionCreated(
            discussion_id=discussion, author_id="bob", title="Knots", created_at=_now()
        ),
    )
    await settled(lyo_client, "/me", "ada", lambda b: len(b["items"]) == 2)
    await publish(
        lyo_app,
        ContentModerated(
            target_type="discussion",
            target_id=discussion,
            discussion_id=discussion,
            author_id="bob",
            action="hidden",
        ),
    )
    body = await settled(lyo_client, "/me", "ada", lambda b: len(b["items"]) == 1)
    assert [i["verb"] for i in body["items"]] == ["enrolled"]
    # deactivation
    await publish(lyo_app, UserDeactivated(user_id="bob"))
    for path, reader in (("/me", "ada"), ("/me", "cy"), (f"/courses/{course}", "dee")):
        body = await settled(lyo_client, path, reader, lambda b: b["items"] == [])
        assert body["items"] == [], (path, reader)
