"""Reading: the discussion listing (cursor pages, filters, sorts) and one discussion with
its reply tree (top-level replies paged, each with its whole subtree)."""

from __future__ import annotations

from uuid import UUID

from kernel import CursorPage, CursorQuery, Identity, paginate_cursor

from . import views
from .access import listed, replies_shown
from .models import Category, Discussion, Reply, Subscription, TargetType
from .posts import REPLY_FIELDS, discussion_out, reply_from_row, reply_out
from .reactions import counts_for, mine
from .schemas import DiscussionDetail, DiscussionOut, DiscussionQuery, ReactionCounts, ReplyOut

SORTS = {
    "recent": ("-created_at", "-id"),
    "active": ("-last_activity_at", "-id"),
    "top": ("-reaction_count", "-id"),
}


async def listing(query: DiscussionQuery, identity: Identity) -> CursorPage[DiscussionOut]:
    qs = Discussion.filter(listed(identity))
    if query.category is not None:
        category = await Category.get_or_none(slug=query.category)
        qs = qs.filter(category_id=category.id if category else None, category_id__isnull=False)
    if query.course_id is not None:
        qs = qs.filter(course_id=query.course_id)
    if query.lesson_id is not None:
        qs = qs.filter(lesson_id=query.lesson_id)
    if query.tag is not None:
        qs = qs.filter(tag_rows__name=query.tag)
    if query.author is not None:
        qs = qs.filter(author_id=identity.id if query.author == "me" else query.author)
    if query.pinned is not None:
        qs = qs.filter(pinned=query.pinned)
    return await paginate_cursor(qs, query, discussion_out, key=SORTS[query.sort])


async def detail(d: Discussion, query: CursorQuery, identity: Identity) -> DiscussionDetail:
    pending = await views.seen(d, identity)
    top = await paginate_cursor(
        Reply.filter(replies_shown(identity), discussion_id=d.id, depth=1),
        query,
        reply_out,
        key=("created_at", "id"),
    )
    tops = top.items
    nodes: dict[UUID, ReplyOut] = {r.id: r for r in tops}
    if tops:
        below = (
            await Reply.filter(replies_shown(identity), root_id__in=list(nodes))
            .order_by("depth", "created_at", "id")
            .values(*REPLY_FIELDS)
        )
        for row in below:  # parents come first (ordered by depth)
            parent = nodes.get(row["parent_id"]) if row["parent_id"] else None
            if parent is None:
                continue  # its parent is not shown to this caller: neither is it
            node = reply_from_row(row)
            parent.children.append(node)
            nodes[node.id] = node
    counts = await counts_for(TargetType.REPLY, list(nodes))
    for node_id, node in nodes.items():
        node.reactions = counts.get(node_id, {})
    subscribed = identity.id is not None and await Subscription.exists(
        user_id=identity.id, discussion_id=d.id
    )
    out = discussion_out(d, pending)
    reactions = ReactionCounts(
        counts=(await counts_for(TargetType.DISCUSSION, [d.id])).get(d.id, {}),
        mine=await mine(TargetType.DISCUSSION, d.id, identity),
    )
    return DiscussionDetail(
        **out.model_dump(),
        reactions=reactions,
        subscribed=subscribed,
        replies=CursorPage[ReplyOut](items=tops, next_cursor=top.next_cursor),
    )
