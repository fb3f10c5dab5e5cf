"""One discussion with its reply tree, answered as JSON bytes: top-level replies oldest
first and paged (cursors), each with its whole subtree.

A thread page is four statements at most (the discussion, a page of top-level replies,
their subtrees, and the per-kind reaction counts of the posts that have reactions at
all), read as dict rows, shaped with :mod:`.rows` and encoded once. The first page, as
everyone but moderators sees it, lives in the read cache (:mod:`.readcache`); a cached
thread costs a signed-in reader one look per thing of theirs (their reactions, their
subscription, replies of theirs only they see). Whoever has unshown replies, and
moderators, get pages built for them. The listings are in :mod:`.listing`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise.expressions import Q

from kernel import ANONYMOUS, Identity, NotFound

from . import readcache, views
from .access import is_moderator, may_see, replies_shown
from .models import Discussion, PostState, Reaction, Reply, Subscription, TargetType
from .reactions import counts_for
from .rows import (
    DISCUSSION_FIELDS,
    REPLY_FIELDS,
    decode_cursor,
    discussion_dict,
    encode,
    encode_cursor,
    is_public,
    reply_dict,
)
from .schemas import ThreadQuery

DEFAULT_THREAD_SIZE = ThreadQuery.model_fields["size"].default


# -- one discussion and its replies ------------------------------------------------------------


async def detail(discussion_id: UUID, query: ThreadQuery, identity: Identity) -> bytes:
    row: dict[str, Any] | None = None
    first_page = query.cursor is None and query.size == DEFAULT_THREAD_SIZE
    if first_page and not is_moderator(identity):
        generation = await readcache.generation(readcache.thread_generation_key(discussion_id))
        if generation is not None:
            key = f"thread:{discussion_id}:{generation}"
            cached = await readcache.lookup(key)
            if cached is None:
                row = await _discussion_row(discussion_id)
                if row is not None and is_public(row):
                    cached = await _thread(row, query, replies_shown(ANONYMOUS))
                    await readcache.store(key, cached)
            if cached is not None and not await _own_unshown(discussion_id, identity):
                return await _with_personal(cached, discussion_id, identity)
    if row is None:
        row = await _discussion_row(discussion_id)
    if row is None or not may_see(is_public(row), row["author_id"], identity):
        raise NotFound("No such discussion.")
    parts = await _thread(row, query, replies_shown(identity))
    return await _with_personal(parts, discussion_id, identity, counted=is_public(row))


async def _discussion_row(discussion_id: UUID) -> dict[str, Any] | None:
    rows = await Discussion.filter(id=discussion_id).values(*DISCUSSION_FIELDS)
    return rows[0] if rows else None


async def _thread(row: dict[str, Any], query: ThreadQuery, shown: Q) -> dict[str, Any]:
    """What every reader who may see ``shown`` replies gets: ``{"counts": the
    discussion's reaction counts, "views": its stored view count, "rest": the JSON of
    the discussion (but those) and its page of replies}``."""
    discussion_id = row["id"]
    tops = Reply.filter(shown, discussion_id=discussion_id, depth=1)
    if query.cursor is not None:
        created, last = decode_cursor(query.cursor, datetime.fromisoformat, UUID)
        tops = tops.filter(Q(created_at__gt=created) | Q(created_at=created, id__gt=last))
    top_rows = await tops.order_by("created_at", "id").limit(query.size + 1).values(*REPLY_FIELDS)
    more = len(top_rows) > query.size
    top_rows = top_rows[: query.size]
    cursor = encode_cursor(top_rows[-1]["created_at"], top_rows[-1]["id"]) if more else None
    nodes = {r["id"]: reply_dict(r) for r in top_rows}
    items = list(nodes.values())
    if nodes:
        below = (
            await Reply.filter(shown, root_id__in=list(nodes))
            .order_by("depth", "created_at", "id")
            .values(*REPLY_FIELDS)
        )
        for reply in below:  # parents come first (ordered by depth)
            parent = nodes.get(reply["parent_id"])
            if parent is None:
                continue  # its parent is not shown to this reader: neither is it
            node = reply_dict(reply)
            parent["children"].append(node)
            nodes[node["id"]] = node
    reacted = [node_id for node_id, node in nodes.items() if node["reaction_count"]]
    counts = await counts_for([discussion_id] if row["reaction_count"] else [], reacted)
    for node_id in reacted:
        nodes[node_id]["reactions"] = counts.get(node_id, {})
    rest = {**discussion_dict(row), "replies": {"items": items, "next_cursor": cursor}}
    del rest["view_count"]
    return {
        "counts": counts.get(discussion_id, {}),
        "views": row["view_count"],
        "rest": encode(rest).decode(),
    }


async def _own_unshown(discussion_id: UUID, identity: Identity) -> bool:
    """Whether the thread holds replies of the reader's that others do not see."""
    if identity.id is None:
        return False
    unshown = Q(state=PostState.HELD) | Q(hidden=True)
    return bool(
        await Reply.filter(unshown, discussion_id=discussion_id, author_id=identity.id).exists()
    )


async def _with_personal(
    parts: dict[str, Any], discussion_id: UUID, identity: Identity, counted: bool = True
) -> bytes:
    """The thread's JSON with what changes from read to read: the view count (this read
    counted, if ``counted``) and the reader's reactions and subscription."""
    if counted:
        await views.count(discussion_id, identity)
    view_count = parts["views"] + await views.pending(discussion_id)
    mine: list[str] = []
    subscribed = False
    if identity.id is not None:
        kinds = await Reaction.filter(
            user_id=identity.id, target_type=TargetType.DISCUSSION, target_id=discussion_id
        ).values_list("kind", flat=True)
        mine = sorted(str(kind) for kind in kinds)
        subscribed = await Subscription.exists(user_id=identity.id, discussion_id=discussion_id)
    reactions = {"counts": parts["counts"], "mine": mine}
    head = encode({"view_count": view_count, "reactions": reactions, "subscribed": subscribed})
    return head[:-1] + b"," + str(parts["rest"]).encode()[1:]
