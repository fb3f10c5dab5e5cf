"""Personal data: what ``export_user`` returns and ``erase_user`` removes.

Erasure deletes the user's reactions (their targets' counts adjusted), reports they
filed, subscriptions and blocks, and deletes their discussions and replies softly: the
rows stay so the threads others wrote in remain readable, with body and mentions emptied
and the author removed (``author_id`` empty), and ``community.content_moderated.v1``
(action ``deleted``) is published for each public one."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import F

from kernel import publish

from . import readcache
from .events import ContentModerated
from .models import Block, Discussion, Reaction, Reply, Report, Subscription, TargetType, now


async def export(user_id: str) -> dict[str, Any] | None:
    data: dict[str, Any] = {
        "discussions": await Discussion.filter(author_id=user_id)
        .order_by("created_at")
        .values(
            "id", "title", "body", "course_id", "lesson_id", "tags", "created_at", "deleted_at"
        ),
        "replies": await Reply.filter(author_id=user_id)
        .order_by("created_at")
        .values("id", "discussion_id", "parent_id", "body", "created_at", "deleted_at"),
        "reactions": await Reaction.filter(user_id=user_id)
        .order_by("created_at")
        .values("target_type", "target_id", "kind", "created_at"),
        "reports": await Report.filter(reporter_id=user_id)
        .order_by("created_at")
        .values("target_type", "target_id", "reason", "status", "created_at"),
        "subscriptions": await Subscription.filter(user_id=user_id).values(
            "discussion_id", "created_at"
        ),
        "blocks": await Block.filter(blocker_id=user_id).values("blocked_id", "created_at"),
    }
    return data if any(data.values()) else None


async def erase(user_id: str) -> None:
    touched: set[Any] = set()  # discussions whose cached pages change
    reacted_replies = []
    for reaction in await Reaction.filter(user_id=user_id):
        model = Discussion if reaction.target_type == TargetType.DISCUSSION else Reply
        await model.filter(id=reaction.target_id).update(reaction_count=F("reaction_count") - 1)
        if model is Discussion:
            touched.add(reaction.target_id)
        else:
            reacted_replies.append(reaction.target_id)
    if reacted_replies:
        touched.update(
            await Reply.filter(id__in=reacted_replies).values_list("discussion_id", flat=True)
        )
    await Reaction.filter(user_id=user_id).delete()
    await Report.filter(reporter_id=user_id).delete()
    await Subscription.filter(user_id=user_id).delete()
    await Block.filter(blocker_id=user_id).delete()
    await Block.filter(blocked_id=user_id).delete()
    for reply in await Reply.filter(author_id=user_id):
        touched.add(reply.discussion_id)
        if reply.public:
            await Discussion.filter(id=reply.discussion_id).update(reply_count=F("reply_count") - 1)
            await _withdrawn("reply", reply.id, reply.discussion_id, user_id)
    await Reply.filter(author_id=user_id).update(
        author_id="", body="", body_html="", mentions=[], mentioned_users={}, deleted_at=now()
    )
    for discussion in await Discussion.filter(author_id=user_id):
        touched.add(discussion.id)
        if discussion.public:
            await _withdrawn("discussion", discussion.id, discussion.id, user_id)
    await Discussion.filter(author_id=user_id).update(
        author_id="", body="", body_html="", mentions=[], mentioned_users={}, deleted_at=now()
    )
    await Report.filter(target_author_id=user_id).update(target_author_id="")
    await readcache.changed(touched)


async def _withdrawn(target_type: str, target_id: Any, discussion_id: Any, author_id: str) -> None:
    await publish(
        ContentModerated(
            target_type=target_type,
            target_id=target_id,
            discussion_id=discussion_id,
            author_id=author_id,
            action="deleted",
            reason="erased",
        )
    )
