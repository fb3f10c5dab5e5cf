"""``@mentions``: the handles in a body, resolved to users, and the notices they cause.

Handles resolve through ``lyo_auth.api.users_by_name`` where lyo-auth is the active
auth plugin (a handle naming several users, or none, stays unresolved); with another
authenticating plugin they stay handles. A post stores ``{handle: user id}``, so an edit
tells only the users it adds. Mentioned users hear of a post once it is visible (held
posts on approval), never the author, never someone who blocked the author, and not
twice for one reply (those told of the reply already are left out)."""

from __future__ import annotations

from collections.abc import Collection

from kernel import publish

from . import content, live
from .events import MentionCreated
from .models import Discussion, Post, Reply
from .settings import plugin

EXCERPT = 140


async def resolve(source: str) -> tuple[list[str], dict[str, str]]:
    """The handles in ``source`` and ``{handle: user id}`` for those naming one user."""
    handles = content.mentions(source)
    if not handles:
        return handles, {}
    loaded = plugin.kernel.plugins.get("auth")
    module = getattr(loaded.module, "__name__", "") if loaded is not None else ""
    if loaded is None or not loaded.usable or not module.startswith("lyo_auth."):
        return handles, {}  # no auth plugin, or another one: nothing to look names up in
    from lyo_auth.api import users_by_name  # type: ignore[import-not-found,unused-ignore]

    found = await users_by_name(handles)
    return handles, {handle: str(info.id) for handle, info in found.items()}


def excerpt(post: Post) -> str:
    return post.body[:EXCERPT]


async def announce(
    post: Post,
    discussion: Discussion,
    earlier: Collection[str] = (),
    told: Collection[str] = (),
) -> list[str]:
    """Tell the users ``post`` mentions, but those in ``earlier`` (mentioned before an
    edit) and ``told`` (notified of the reply), if the post and its discussion are
    visible: a ``community.mention`` notice and ``community.mention_created.v1``; who."""
    if not post.public or not discussion.public:
        return []
    wanted = [u for u in dict.fromkeys(post.mentioned_users.values()) if u not in earlier]
    is_reply = isinstance(post, Reply)
    notice = {
        "discussion_id": str(discussion.id),
        "reply_id": str(post.id) if is_reply else None,
        "title": discussion.title,
    }
    told_now = await live.notify(post.author_id, set(wanted) - set(told), "mention", notice)
    if told_now:
        await publish(
            MentionCreated(
                recipient_ids=told_now,
                author_id=post.author_id,
                target_type="reply" if is_reply else "discussion",
                discussion_id=discussion.id,
                reply_id=post.id if is_reply else None,
                course_id=discussion.course_id,
                lesson_id=discussion.lesson_id,
                title=discussion.title,
                excerpt=excerpt(post),
            )
        )
    return told_now
