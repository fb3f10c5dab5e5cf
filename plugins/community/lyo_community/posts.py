"""Discussions and replies: create, edit, delete (soft), and their serialized forms.

A post is published at once unless its author is new (``held_first_posts``): held
posts wait for a moderator, and their events, notifications and live messages leave
only when approved (:func:`announce_discussion`, :func:`announce_reply`), so spam
earns no points, feed items or notices. ``reply_count`` counts a discussion's public
replies; every change of a reply's visibility adjusts it in the same transaction."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from tortoise.expressions import F

from kernel import Conflict, Forbidden, Identity, ValidationFailed, publish, transaction

from . import content, live, mentions, readcache
from .access import ensure_not_restricted, is_moderator, take
from .events import ContentModerated, DiscussionCreated, ReplyCreated
from .learning import check_course
from .models import Category, Discussion, DiscussionTag, Post, PostState, Reply, now
from .rows import discussion_out, reply_out
from .schemas import (
    DiscussionCreate,
    DiscussionOut,
    DiscussionUpdate,
    ReplyCreate,
    ReplyOut,
    ReplyUpdate,
)
from .settings import plugin


def _user(identity: Identity) -> str:
    assert identity.id is not None, "routes posting require a signed-in identity"
    return identity.id


def _check_lengths(title: str | None, body: str | None) -> None:
    settings = plugin.settings
    if title is not None and len(title) > settings.max_title_length:
        raise ValidationFailed.field("title", f"At most {settings.max_title_length} characters.")
    if body is not None and len(body) > settings.max_body_length:
        raise ValidationFailed.field("body", f"At most {settings.max_body_length} characters.")
    if body is not None and not body.strip():
        raise ValidationFailed.field("body", "Must not be blank.")


def _check_tags(tags: list[str]) -> list[str]:
    unique = list(dict.fromkeys(tags))
    if len(unique) > plugin.settings.max_tags:
        raise ValidationFailed.field("tags", f"At most {plugin.settings.max_tags} tags.")
    return unique


async def _first_state(identity: Identity) -> PostState:
    """Held while the author has fewer than ``held_first_posts`` published posts."""
    limit = plugin.settings.held_first_posts
    if limit == 0 or is_moderator(identity):
        return PostState.PUBLISHED
    author = _user(identity)
    published = await Discussion.filter(author_id=author, state=PostState.PUBLISHED).count()
    if published < limit:
        published += await Reply.filter(author_id=author, state=PostState.PUBLISHED).count()
    return PostState.HELD if published < limit else PostState.PUBLISHED


def _may_edit(post: Post, identity: Identity) -> None:
    if is_moderator(identity):
        return
    if post.author_id != identity.id or post.deleted_at is not None:
        raise Forbidden("Only the author may edit this.")
    window = timedelta(minutes=plugin.settings.edit_window_minutes)
    if now() - post.created_at > window:
        raise Forbidden("The edit window has passed.")


# -- discussions -----------------------------------------------------------------------


async def create_discussion(data: DiscussionCreate, identity: Identity) -> Discussion:
    author = _user(identity)
    _check_lengths(data.title, data.body)
    tags = _check_tags(data.tags)
    await ensure_not_restricted(identity)
    if data.category_id is not None:
        category = await Category.get_or_none(id=data.category_id, archived=False)
        if category is None:
            raise ValidationFailed.field("category_id", "No such category.")
    await check_course(data.course_id, data.lesson_id, identity)
    await take("post", identity)
    state = await _first_state(identity)
    handles, mentioned = await mentions.resolve(data.body)
    async with transaction():
        discussion = await Discussion.create(
            title=data.title,
            body=data.body,
            body_html=content.render(data.body),
            mentions=handles,
            mentioned_users=mentioned,
            author_id=author,
            category_id=data.category_id,
            course_id=data.course_id,
            lesson_id=data.lesson_id,
            tags=tags,
            state=state,
            last_activity_at=now(),
        )
        await DiscussionTag.bulk_create(
            [DiscussionTag(discussion_id=discussion.id, name=t) for t in tags]
        )
        if state == PostState.PUBLISHED:
            await announce_discussion(discussion)
    return discussion


async def announce_discussion(d: Discussion) -> None:
    """The discussion became public: its event (in the current transaction), its
    mentions."""
    await publish(
        DiscussionCreated(
            discussion_id=d.id,
            author_id=d.author_id,
            title=d.title,
            category_id=d.category_id,
            course_id=d.course_id,
            lesson_id=d.lesson_id,
            tags=d.tags,
            mentions=d.mentions,
            mentioned_user_ids=list(d.mentioned_users.values()),
            created_at=d.created_at,
        )
    )
    await mentions.announce(d, d)
    await readcache.changed([d.id])


async def update_discussion(d: Discussion, data: DiscussionUpdate, identity: Identity) -> None:
    _may_edit(d, identity)
    _check_lengths(data.title, data.body)
    # an edit counts as a post: each may resolve and announce mentions, and toggling a
    # mention in and out would otherwise notify (and look up users) without limit
    await take("post", identity)
    earlier = set(d.mentioned_users.values())
    async with transaction():
        if data.title is not None:
            d.title = data.title
        if data.body is not None:
            d.body, d.body_html = data.body, content.render(data.body)
            d.mentions, d.mentioned_users = await mentions.resolve(data.body)
        if data.tags is not None:
            d.tags = _check_tags(data.tags)
            await DiscussionTag.filter(discussion_id=d.id).delete()
            await DiscussionTag.bulk_create(
                [DiscussionTag(discussion_id=d.id, name=t) for t in d.tags]
            )
        d.edited_at = now()
        await d.save()
        await readcache.changed([d.id])
        if d.public:
            await live.broadcast(
                d.id, "discussion_edited", {"discussion": _json(discussion_out(d))}
            )
            await mentions.announce(d, d, earlier)


async def delete_discussion(d: Discussion, identity: Identity, reason: str = "") -> None:
    """Soft delete: the row stays (replies keep their thread) with its body emptied."""
    if d.deleted_at is not None:
        return
    if d.author_id != identity.id and not is_moderator(identity):
        raise Forbidden("Only the author or a moderator may delete this.")
    async with transaction():
        d.deleted_at, d.body, d.body_html, d.mentions = now(), "", "", []
        d.mentioned_users = {}
        await d.save()
        await DiscussionTag.filter(discussion_id=d.id).delete()
        await readcache.changed([d.id])
        await withdraw("discussion", d.id, d.id, d.author_id, "deleted", identity, reason)


async def withdraw(
    target_type: str,
    target_id: UUID,
    discussion_id: UUID,
    author_id: str,
    action: str,
    identity: Identity,
    reason: str = "",
) -> None:
    """``community.content_moderated.v1`` (and a live message) for a visibility change,
    so other plugins withdraw or restore what they derived from the content."""
    moderator = None if identity.id == author_id else identity.id
    await publish(
        ContentModerated(
            target_type=target_type,
            target_id=target_id,
            discussion_id=discussion_id,
            author_id=author_id,
            action=action,
            moderator_id=moderator,
            reason=reason,
        )
    )
    await live.broadcast(
        discussion_id,
        "moderated",
        {"target_type": target_type, "id": str(target_id), "action": action},
    )


# -- replies -----------------------------------------------------------------------------


async def create_reply(d: Discussion, data: ReplyCreate, identity: Identity) -> Reply:
    author = _user(identity)
    _check_lengths(None, data.body)
    if d.deleted_at is not None:
        raise Conflict("This discussion was deleted.")
    if d.locked and not is_moderator(identity):
        raise Conflict("This discussion is locked.")
    parent: Reply | None = None
    if data.parent_id is not None:
        parent = await Reply.get_or_none(id=data.parent_id, discussion_id=d.id)
        from .access import can_see

        if parent is None or not can_see(parent, identity):
            raise ValidationFailed.field("parent_id", "No such reply in this discussion.")
        if parent.deleted_at is not None:
            raise ValidationFailed.field("parent_id", "That reply was deleted.")
        if parent.depth >= plugin.settings.max_reply_depth:
            raise ValidationFailed.field(
                "parent_id", f"Replies nest at most {plugin.settings.max_reply_depth} levels."
            )
    answered = parent.author_id if parent else d.author_id
    if await live.blockers_of(author, [answered]):
        raise Forbidden("You cannot reply to this user.")
    await ensure_not_restricted(identity)
    await take("reply", identity)
    state = await _first_state(identity)
    handles, mentioned = await mentions.resolve(data.body)
    async with transaction():
        reply = await Reply.create(
            discussion_id=d.id,
            parent_id=parent.id if parent else None,
            root_id=(parent.root_id or parent.id) if parent else None,
            depth=parent.depth + 1 if parent else 1,
            author_id=author,
            body=data.body,
            body_html=content.render(data.body),
            mentions=handles,
            mentioned_users=mentioned,
            state=state,
        )
        if state == PostState.PUBLISHED:
            await announce_reply(reply, d, parent)
    return reply


async def announce_reply(reply: Reply, d: Discussion, parent: Reply | None) -> None:
    """The reply became public: count it, its notices, its event, its live message,
    its mentions."""
    await Discussion.filter(id=d.id).update(
        reply_count=F("reply_count") + 1, last_activity_at=now()
    )
    target_author = parent.author_id if parent else d.author_id
    notice = {"discussion_id": str(d.id), "reply_id": str(reply.id), "title": d.title}
    recipients = {d.author_id, target_author, *await live.subscribers(d.id)}
    told = await live.notify(reply.author_id, recipients, "reply", notice)
    await publish(
        ReplyCreated(
            reply_id=reply.id,
            discussion_id=d.id,
            parent_id=reply.parent_id,
            author_id=reply.author_id,
            target_author_id=target_author,
            parent_author_id=parent.author_id if parent else None,
            discussion_author_id=d.author_id,
            course_id=d.course_id,
            lesson_id=d.lesson_id,
            mentions=reply.mentions,
            mentioned_user_ids=list(reply.mentioned_users.values()),
            recipient_ids=told,
            title=d.title,
            excerpt=mentions.excerpt(reply),
            created_at=reply.created_at,
        )
    )
    await live.broadcast(d.id, "reply_created", {"reply": _json(reply_out(reply))})
    await mentions.announce(reply, d, told=told)
    await readcache.changed([d.id])


async def update_reply(
    reply: Reply, discussion: Discussion, data: ReplyUpdate, identity: Identity
) -> None:
    _may_edit(reply, identity)
    _check_lengths(None, data.body)
    await take("reply", identity)  # as update_discussion: edits count as replies
    earlier = set(reply.mentioned_users.values())
    async with transaction():
        reply.body, reply.body_html = data.body, content.render(data.body)
        reply.mentions, reply.mentioned_users = await mentions.resolve(data.body)
        reply.edited_at = now()
        await reply.save()
        await readcache.changed([reply.discussion_id])
        if reply.public:
            await live.broadcast(
                reply.discussion_id, "reply_edited", {"reply": _json(reply_out(reply))}
            )
            await mentions.announce(reply, discussion, earlier)


async def delete_reply(reply: Reply, identity: Identity, reason: str = "") -> None:
    if reply.deleted_at is not None:
        return
    if reply.author_id != identity.id and not is_moderator(identity):
        raise Forbidden("Only the author or a moderator may delete this.")
    async with transaction():
        was_public = reply.public
        reply.deleted_at, reply.body, reply.body_html, reply.mentions = now(), "", "", []
        reply.mentioned_users = {}
        await reply.save()
        if was_public:
            await count_reply(reply.discussion_id, -1)
        await readcache.changed([reply.discussion_id])
        await withdraw(
            "reply", reply.id, reply.discussion_id, reply.author_id, "deleted", identity, reason
        )


async def count_reply(discussion_id: UUID, delta: int) -> None:
    await Discussion.filter(id=discussion_id).update(reply_count=F("reply_count") + delta)


def _json(model: DiscussionOut | ReplyOut) -> dict[str, object]:
    return model.model_dump(mode="json", exclude={"children"})
