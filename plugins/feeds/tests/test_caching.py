"""Feed pages and recommendations come from the kernel cache (memory here, Redis with
``LYO_TEST_REDIS``), and every change that reaches them reaches the cached copies: a
write through the API is seen by the next read (no stale read), a delivered event soon
after."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import numpy as np
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
from lyo_feeds.models import Activity, Embedding
from lyo_feeds.settings import plugin as feeds
from lyo_feeds.vectors import changed, to_bytes

from kernel import Event


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


class ReactionAdded(Event):
    type = "community.reaction_added.v1"
    target_type: str
    target_id: UUID
    discussion_id: UUID
    user_id: str
    target_author_id: str
    kind: str
    course_id: UUID | None = None


class ReactionRemoved(Event):
    type = "community.reaction_removed.v1"
    target_type: str
    target_id: UUID
    discussion_id: UUID
    user_id: str
    target_author_id: str
    kind: str


async def test_recommendations_follow_reactions(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    """Recommendations are cached, start from the courses whose discussions I reacted
    to, and change as soon as a reaction is delivered (added or removed)."""
    lyo_app.kernel.activate()
    courses = {name: uuid4() for name in ("knots", "splices", "baking")}
    vectors = {"knots": [1.0, 0.0, 0.0], "splices": [0.8, 0.6, 0.0], "baking": [0.0, 0.0, 1.0]}
    for name, course in courses.items():
        await Embedding.create(
            kind="course",
            object_id=str(course),
            title=name,
            text=name,
            model=feeds.settings.model_version,
            vector=to_bytes(np.asarray(vectors[name], dtype=np.float32)),
        )
    await changed("course")
    await publish(lyo_app, enrolled("bob", courses["baking"]))  # baking is popular
    # recorded before the first read: others' enrolments reach cached recommendations
    # only when they expire
    await feed(lyo_client, "/users/bob", "bob", want=1)

    async def discover() -> list[tuple[str, str]]:
        response = await lyo_client.get("/api/feeds/discover", headers=auth("ada"))
        assert response.status_code == 200, await response.get_data()
        return [(i["title"], i["reason"]) for i in (await response.get_json())["items"]]

    async def settled_on(check: Any) -> list[tuple[str, str]]:
        for _ in range(300):  # 30 s at most: the delivery is asynchronous
            if check(found := await discover()):
                break
            await asyncio.sleep(0.1)
        return found

    popular = await settled_on(lambda f: f[0] == ("baking", "popular with learners"))
    assert popular[0] == ("baking", "popular with learners")
    reaction = {
        "target_type": "discussion",
        "target_id": uuid4(),
        "discussion_id": uuid4(),
        "user_id": "ada",
        "target_author_id": "bob",
        "kind": "like",
    }
    await publish(lyo_app, ReactionAdded(**reaction, course_id=courses["knots"]))
    found = await settled_on(lambda f: f[0][1] != "popular with learners")
    assert found[0] == ("splices", "similar to knots")
    await publish(lyo_app, ReactionRemoved(**reaction))
    found = await settled_on(lambda f: f[0][1] == "popular with learners")
    assert found[0] == ("baking", "popular with learners")
