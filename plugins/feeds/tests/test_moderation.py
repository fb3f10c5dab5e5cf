"""``community.content_moderated.v1``: hidden content leaves the feeds (a discussion with
its replies and its embedding; a reply with its place in an aggregate) and comes back
when unhidden; deleted content is gone for good."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from conftest import ContentModerated, DiscussionCreated, ReplyCreated, _now, publish, settled
from lyo_feeds.models import Embedding, Withdrawn


def _reply(discussion: UUID, author: str = "cy") -> ReplyCreated:
    return ReplyCreated(
        reply_id=uuid4(),
        discussion_id=discussion,
        author_id=author,
        target_author_id="bob",
        discussion_author_id="bob",
        created_at=_now(),
    )


def _moderated(target_type: str, target: UUID, discussion: UUID, action: str) -> ContentModerated:
    return ContentModerated(
        target_type=target_type,
        target_id=target,
        discussion_id=discussion,
        author_id="cy",
        action=action,
    )


def _counts(body: dict[str, Any]) -> list[tuple[str, int]]:
    return [(i["verb"], i["count"]) for i in body["items"]]


async def test_a_hidden_reply_leaves_its_aggregate_until_unhidden(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    discussion = uuid4()
    replies = [_reply(discussion) for _ in range(3)]
    for reply in replies:  # one by one: an aggregate of three
        await publish(lyo_app, reply)
    body = await settled(lyo_client, "/users/cy", "ada", lambda b: _counts(b) == [("replied", 3)])
    [before] = body["items"]
    hidden = str(replies[1].reply_id)
    await publish(lyo_app, _moderated("reply", replies[1].reply_id, discussion, "hidden"))
    body = await settled(lyo_client, "/users/cy", "ada", lambda b: _counts(b) == [("replied", 2)])
    [item] = body["items"]
    assert hidden not in item["objects"] and item["summary"].startswith("replied 2 times")
    await publish(lyo_app, _moderated("reply", replies[1].reply_id, discussion, "unhidden"))
    body = await settled(lyo_client, "/users/cy", "ada", lambda b: _counts(b) == [("replied", 3)])
    [item] = body["items"]
    assert hidden in item["objects"] and item["id"] == before["id"]
    # deleted: gone for good, nothing kept to restore
    await publish(lyo_app, _moderated("reply", replies[1].reply_id, discussion, "deleted"))
    await settled(lyo_client, "/users/cy", "ada", lambda b: _counts(b) == [("replied", 2)])
    await publish(lyo_app, _moderated("reply", replies[1].reply_id, discussion, "unhidden"))
    lyo_app.kernel.activate()
    assert not await Withdrawn.filter(content_id=hidden).exists()
    assert _counts(await settled(lyo_client, "/users/cy", "ada", lambda b: True)) == [
        ("replied", 2)
    ]


async def test_a_hidden_discussion_takes_its_replies_and_embedding_until_unhidden(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    discussion = uuid4()
    await publish(
        lyo_app,
        DiscussionCreated(
            discussion_id=discussion, author_id="bob", title="Bowlines", created_at=_now()
        ),
    )
    await publish(lyo_app, _reply(discussion))
    shown = await settled(lyo_client, "/users/bob", "ada", lambda b: len(b["items"]) == 1)
    await settled(lyo_client, "/users/cy", "ada", lambda b: len(b["items"]) == 1)
    lyo_app.kernel.activate()  # as feeds:embed_waiting would have stored it
    await Embedding.update_or_create(
        {"title": "Bowlines", "text": "", "model": "m", "vector": b""},
        kind="discussion",
        object_id=str(discussion),
    )
    await publish(lyo_app, _moderated("discussion", discussion, discussion, "hidden"))
    for user in ("bob", "cy"):
        await settled(lyo_client, f"/users/{user}", "ada", lambda b: b["items"] == [])
    lyo_app.kernel.activate()
    assert not await Embedding.filter(kind="discussion", object_id=str(discussion)).exists()
    await publish(lyo_app, _moderated("discussion", discussion, discussion, "unhidden"))
    back = await settled(lyo_client, "/users/bob", "ada", lambda b: len(b["items"]) == 1)
    assert back["items"][0]["id"] == shown["items"][0]["id"]
    assert back["items"][0]["created_at"] == shown["items"][0]["created_at"]  # its place
    await settled(lyo_client, "/users/cy", "ada", lambda b: len(b["items"]) == 1)
    lyo_app.kernel.activate()
    assert await Embedding.filter(kind="discussion", object_id=str(discussion)).exists()
    assert not await Withdrawn.all().exists()
