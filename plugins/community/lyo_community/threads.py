"""Reading, answered as JSON bytes: the discussion listing (cursor pages, filters, sorts,
pinned discussions first) and one discussion with its reply tree (top-level replies
oldest first and paged, each with its whole subtree).

Both read dict rows in few statements (a listing page: one; a thread: the discussion, a
page of top-level replies, their subtrees, and the per-kind reaction counts of the posts
that have reactions at all), shape them with :mod:`.rows` and encode them once. The
first page of each, as everyone but moderators sees it, lives in the read cache
(:mod:`.readcache`). A cached listing costs an anonymous reader no statement and a
signed-in one a look for unlisted discussions of their own (held or hidden, which they
see too); a cached thread costs a signed-in reader one look per thing of theirs (their
reactions, their subscription, replies of theirs only they see). Whoever has such
things, and moderators, get pages built for them."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from tortoise.expressions import Q

from kernel import ANONYMOUS, Identity, NotFound, ValidationFailed

from . import readcache, views
from .access import is_moderator, listed, may_see, replies_shown
from .models import Discussion, PostState, Reaction, Reply, Subscription, TargetType
from .reactions import counts_for
from .rows import (
    DISCUSSION_FIELDS,
    REPLY_FIELDS,
    discussion_dict,
    encode,
    is_public,
    reply_dict,
)
from .schemas import DiscussionQuery, ThreadQuery

SORT_FIELDS = {"recent": "created_at", "active": "last_activity_at", "top": "reaction_count"}
_SORT_VALUE: dict[str, Callable[[str], Any]] = {
    "created_at": datetime.fromisoformat,
    "last_activity_at": datetime.fromisoformat,
    "reaction_count": int,
}
DEFAULT_THREAD_SIZE = ThreadQuery.model_fields["size"].default


# -- cursors ---------------------------------------------------------------------------------


def _encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([str(v) for v in values])).decode().rstrip("=")


def _decode_cursor(cursor: str, *parsers: Callable[[str], Any]) -> list[Any]:
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(parsers):
            raise ValueError(cursor)
        return [parse(str(value)) for parse, value in zip(parsers, raw, strict=True)]
    except (ValueError, TypeError, KeyError):
        raise ValidationFailed(
            [{"pointer": "/query/cursor", "detail": "Invalid cursor."}]
        ) from None


def _flag(text: str) -> bool:
    return {"True": True, "False": False}[text]


# -- the listing -----------------------------------------------------------------------------


async def listing(query: DiscussionQuery, identity: Identity) -> bytes:
    if query.author == "me" and identity.id is None:
        return encode({"items": [], "next_cursor": None})
    author = identity.id if query.author == "me" else query.author
    if query.cursor is None and not is_moderator(identity):
        generation = await readcache.generation(readcache.LISTINGS)
        if generation is not None:
            facets = [query.sort, query.size, query.category, query.course_id, query.lesson_id]
            facets += [query.tag, author, query.pinned]
            key = f"list:{generation}:{orjson.dumps(facets, default=str).decode()}"
            page = await readcache.lookup(key)
            if page is None:
                page = (await _page(_filtered(listed(ANONYMOUS), query, author), query)).decode()
                await readcache.store(key, page)
            if identity.id is None or not await _own_unlisted(identity.id, query, author):
                return str(page).encode()
    return await _page(_filtered(listed(identity), query, author), query)


def _filtered(visible: Q, query: DiscussionQuery, author: str | None) -> Any:
    qs = Discussion.filter(visible)
    if query.category is not None:
        qs = qs.filter(category__slug=query.category)
    if query.course_id is not None:
        qs = qs.filter(course_id=query.course_id)
    if query.lesson_id is not None:
        qs = qs.filter(lesson_id=query.lesson_id)
    if query.tag is not None:
        qs = qs.filter(tag_rows__name=query.tag)
    if author is not None:
        qs = qs.filter(author_id=author)
    if query.pinned is not None:
        qs = qs.filter(pinned=query.pinned)
    return qs


async def _own_unlisted(user_id: str, query: DiscussionQuery, author: str | None) -> bool:
    """Whether the listing shows ``user_id`` discussions of theirs that others do not see."""
    unlisted = Q(state=PostState.HELD) | Q(hidden=True)
    return bool(
        await _filtered(Q(author_id=user_id, deleted_at=None) & unlisted, query, author).exists()
    )


async def _page(qs: Any, query: DiscussionQuery) -> bytes:
    """One page in (pinned, sort field, id) order, all descending: pinned ones first."""
    field = SORT_FIELDS[query.sort]
    if query.cursor is not None:
        pinned, value, last = _decode_cursor(query.cursor, _flag, _SORT_VALUE[field], UUID)
        later = Q(**{f"{field}__lt": value}) | Q(**{field: value, "id__lt": last})
        qs = qs.filter(
            (Q(pinned=True) & later) | Q(pinned=False) if pinned else Q(pinned=False) & later
        )
    rows = (
        await qs.order_by("-pinned", f"-{field}", "-id")
        .limit(query.size + 1)
        .values(*DISCUSSION_FIELDS)
    )
    more = len(rows) > query.size
    rows = rows[: query.size]
    cursor = (
        _encode_cursor(bool(rows[-1]["pinned"]), rows[-1][field], rows[-1]["id"]) if more else None
    )
    return encode({"items": [discussion_dict(row) for row in rows], "next_cursor": cursor})


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
        created, last = _decode_cursor(query.cursor, datetime.fromisoformat, UUID)
        tops = tops.filter(Q(created_at__gt=created) | Q(created_at=created, id__gt=last))
    top_rows = await tops.order_by("created_at", "id").limit(query.size + 1).values(*REPLY_FIELDS)
    more = len(top_rows) > query.size
    top_rows = top_rows[: query.size]
    cursor = _encode_cursor(top_rows[-1]["created_at"], top_rows[-1]["id"]) if more else None
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
