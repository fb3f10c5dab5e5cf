"""The plugin's tables (``feeds_*``). User ids are the text form of ``Identity.id``;
object ids are the publishers' ids as text; nothing points at another plugin's tables."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Activity(Model):
    """An activity: "``actor`` ``verb`` ``object`` (in ``target``)", seen by ``audience``.

    ``audience`` is ``public`` (subject to the actor's visibility) or ``actor`` (a private
    draft: only the actor sees it). Similar activities within the aggregation window are
    one row: ``count`` of them, ``objects`` their ids (the latest 20), ``created_at`` the
    first (the feed's order, so a page never moves under a cursor), ``updated_at`` the
    latest."""

    id = fields.UUIDField(primary_key=True)
    actor_id = fields.CharField(max_length=64)
    verb = fields.CharField(max_length=32)
    object_type = fields.CharField(max_length=32)
    object_id = fields.CharField(max_length=64, db_index=True)
    target_type = fields.CharField(max_length=32, null=True)
    target_id = fields.CharField(max_length=64, null=True, db_index=True)
    #: The course the activity belongs to (object or target), for course feeds.
    course_id = fields.CharField(max_length=64, null=True)
    audience = fields.CharField(max_length=16, default="public")
    count = fields.IntField(default=1)
    objects: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    #: Display facts copied from the event (titles, achievement names).
    data: dict[str, str] = fields.JSONField(default=dict)  # type: ignore[assignment]
    occurred_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "feeds_activity"
        indexes = (("actor_id", "created_at"), ("course_id", "created_at"))


class Source(Model):
    """The events an activity was built from: one row per event, so a redelivered event
    (or one replayed from the dead letters) never counts twice."""

    event_id = fields.UUIDField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "feeds.Activity", related_name="sources", on_delete=fields.CASCADE
    )

    class Meta:
        table = "feeds_source"


class Follow(Model):
    """``user_id`` follows a user or a course."""

    id = fields.BigIntField(primary_key=True)
    user_id = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=8)  # user | course
    target_id = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "feeds_follow"
        unique_together = (("user_id", "kind", "target_id"),)
        indexes = (("kind", "target_id"),)


class Privacy(Model):
    """One user's choice of who sees their activity; no row: the default setting."""

    user_id = fields.CharField(max_length=64, primary_key=True)
    visibility = fields.CharField(max_length=16)  # public | followers | private
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "feeds_privacy"


class Course(Model):
    """What feeds knows of a published course (from ``learning.course_published.v1``),
    for titles in summaries."""

    id = fields.CharField(max_length=64, primary_key=True)
    title = fields.CharField(max_length=300)
    author_id = fields.CharField(max_length=64)

    class Meta:
        table = "feeds_course"


class Embedding(Model):
    """A sentence embedding of a course or a discussion (normalized float32 bytes), with
    the model that made it: a row of another model is re-embedded (``feeds:reembed``)."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=16)  # course | discussion
    object_id = fields.CharField(max_length=64)
    title = fields.CharField(max_length=300)
    text = fields.TextField()
    model = fields.CharField(max_length=100)
    vector = fields.BinaryField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "feeds_embedding"
        unique_together = (("kind", "object_id"),)


class Withdrawn(Model):
    """What moderation took out of the feeds while content is hidden: an activity of
    ``content_id`` (a discussion, its replies, a reply) as it was, or, for a reply
    folded into an aggregate, that one object (``into``: the aggregate's id), so that
    ``unhidden`` puts it back. Deleted and rejected content leaves no row."""

    id = fields.BigIntField(primary_key=True)
    content_id = fields.CharField(max_length=64, db_index=True)
    #: The activity's fields (JSON), ``into`` for one object of an aggregate.
    activity: dict[str, Any] = fields.JSONField()  # type: ignore[assignment]
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "feeds_withdrawn"


class Reaction(Model):
    """A user's reaction to community content of a course
    (``community.reaction_added.v1``, gone with ``reaction_removed``): besides what they
    took, what their recommendations start from. Not activity: nobody sees it."""

    id = fields.BigIntField(primary_key=True)
    user_id = fields.CharField(max_length=64)
    target_id = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=32)
    course_id = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "feeds_reaction"
        unique_together = (("user_id", "target_id", "kind"),)
