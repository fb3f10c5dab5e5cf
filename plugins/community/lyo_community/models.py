"""Categories, discussions, replies, reactions, reports, the moderation log,
subscriptions and blocks. Tables are ``community_*``.

User ids are ``Identity.id`` strings (no foreign key into another plugin's tables);
``course_id`` and ``lesson_id`` are the learning plugin's ids, checked through its
public API when it is installed and kept as opaque ids otherwise.

Counters (``reply_count``, ``reaction_count``) are changed only by single ``UPDATE ...
SET n = n + 1`` statements in the transaction that inserts or deletes the row they
count, and a reaction is unique per (user, target, kind), so they stay exact under
concurrency. On PostgreSQL the migration adds a generated ``tsvector`` column with a GIN
index to discussions and replies (full-text search); SQLite searches with ``LIKE``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from tortoise import fields
from tortoise.models import Model

USER_ID_LENGTH = 64


class PostState(StrEnum):
    PUBLISHED = "published"
    HELD = "held"  # waiting for a moderator (a new account's first posts)


class TargetType(StrEnum):
    DISCUSSION = "discussion"
    REPLY = "reply"


class ReportStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # upheld: the content broke the rules
    DISMISSED = "dismissed"


class Category(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=80)
    slug = fields.CharField(max_length=80, unique=True)
    description = fields.TextField(default="")
    position = fields.IntField(default=0)
    archived = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        indexes = (("archived", "position"),)


class Post(Model):
    """What discussions and replies share."""

    id = fields.UUIDField(primary_key=True)
    author_id = fields.CharField(max_length=USER_ID_LENGTH)
    body = fields.TextField()
    body_html = fields.TextField()
    #: ``@handles`` found in the body.
    mentions = fields.JSONField[list[str]](default=list)
    # which user each handle names (edits tell only the users they add)
    mentioned_users = fields.JSONField[dict[str, str]](
        default=dict, description="{handle: user id} for the handles naming one user"
    )
    state = fields.CharEnumField(PostState, max_length=12, default=PostState.PUBLISHED)
    hidden = fields.BooleanField(default=False)
    deleted_at = fields.DatetimeField(null=True)
    edited_at = fields.DatetimeField(null=True)
    reaction_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def public(self) -> bool:
        return self.state == PostState.PUBLISHED and not self.hidden and self.deleted_at is None


class Discussion(Post):
    title = fields.CharField(max_length=500)
    category: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "community.Category", related_name="discussions", null=True, on_delete=fields.SET_NULL
    )
    course_id = fields.UUIDField(null=True)
    lesson_id = fields.UUIDField(null=True)
    tags = fields.JSONField[list[str]](default=list)
    pinned = fields.BooleanField(default=False)
    locked = fields.BooleanField(default=False)
    reply_count = fields.IntField(default=0)
    view_count = fields.IntField(default=0)
    last_activity_at = fields.DatetimeField()

    category_id: UUID | None

    class Meta:
        table = "community_discussion"
        # listings put pinned discussions first, whatever the sort
        indexes = (
            ("pinned", "created_at", "id"),
            ("pinned", "last_activity_at", "id"),
            ("pinned", "reaction_count", "id"),
            ("category_id", "pinned", "last_activity_at"),
            ("course_id", "pinned", "last_activity_at"),
            ("lesson_id", "pinned", "last_activity_at"),
            ("author_id", "created_at"),
            ("state", "hidden"),
        )


class DiscussionTag(Model):
    """One tag of a discussion, a row each, so filtering by tag is an indexed join."""

    id = fields.IntField(primary_key=True)
    discussion: fields.ForeignKeyRelation[Discussion] = fields.ForeignKeyField(
        "community.Discussion", related_name="tag_rows", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=40)

    class Meta:
        table = "community_discussion_tag"
        unique_together = (("discussion", "name"),)
        indexes = (("name", "discussion"),)


class Reply(Post):
    discussion: fields.ForeignKeyRelation[Discussion] = fields.ForeignKeyField(
        "community.Discussion", related_name="replies", on_delete=fields.CASCADE
    )
    #: The reply this answers (``None``: the discussion). A plain column, not a foreign
    #: key: replies are never removed one by one (deletion is soft), and aerich cannot
    #: create a table that references itself.
    parent_id = fields.UUIDField(null=True)
    #: The top-level reply this one descends from (``None`` for a top-level reply), so
    #: a page of top-level replies fetches its subtrees with one indexed query.
    root_id = fields.UUIDField(null=True)
    depth = fields.IntField(default=1)

    discussion_id: UUID

    class Meta:
        table = "community_reply"
        indexes = (
            ("discussion_id", "depth", "created_at"),
            ("root_id", "created_at"),
            ("author_id", "created_at"),  # trust levels, export, erasure
        )


class Reaction(Model):
    id = fields.BigIntField(primary_key=True)
    user_id = fields.CharField(max_length=USER_ID_LENGTH)
    target_type = fields.CharEnumField(TargetType, max_length=12)
    target_id = fields.UUIDField()
    kind = fields.CharField(max_length=20)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("user_id", "target_type", "target_id", "kind"),)
        indexes = (("target_type", "target_id", "kind"),)


class Report(Model):
    id = fields.UUIDField(primary_key=True)
    reporter_id = fields.CharField(max_length=USER_ID_LENGTH)
    target_type = fields.CharEnumField(TargetType, max_length=12)
    target_id = fields.UUIDField()
    target_author_id = fields.CharField(max_length=USER_ID_LENGTH)
    reason = fields.TextField()
    status = fields.CharEnumField(ReportStatus, max_length=12, default=ReportStatus.OPEN)
    #: ``reporter:type:target`` while open, NULL once closed: a unique column that
    #: allows one open report per reporter and target on SQLite and PostgreSQL alike.
    open_key = fields.CharField(max_length=160, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    closed_at = fields.DatetimeField(null=True)
    closed_by = fields.CharField(max_length=USER_ID_LENGTH, null=True)

    class Meta:
        indexes = (("status", "created_at"), ("target_author_id", "status"))


class ModerationAction(Model):
    """The audit log: append-only (nothing updates or deletes these rows but erasure)."""

    id = fields.BigIntField(primary_key=True)
    moderator_id = fields.CharField(max_length=USER_ID_LENGTH)
    target_type = fields.CharField(max_length=12)
    target_id = fields.UUIDField()
    action = fields.CharField(max_length=20)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "community_moderation_action"
        indexes = (("target_id", "created_at"), ("created_at",))


class Subscription(Model):
    id = fields.BigIntField(primary_key=True)
    user_id = fields.CharField(max_length=USER_ID_LENGTH)
    discussion: fields.ForeignKeyRelation[Discussion] = fields.ForeignKeyField(
        "community.Discussion", related_name="subscriptions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    discussion_id: UUID

    class Meta:
        unique_together = (("user_id", "discussion"),)


class Block(Model):
    """``blocker_id`` gets no replies, mentions or notifications from ``blocked_id``."""

    id = fields.BigIntField(primary_key=True)
    blocker_id = fields.CharField(max_length=USER_ID_LENGTH)
    blocked_id = fields.CharField(max_length=USER_ID_LENGTH)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("blocker_id", "blocked_id"),)
        indexes = (("blocked_id",),)


def now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
