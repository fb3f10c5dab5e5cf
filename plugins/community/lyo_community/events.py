"""The events this plugin publishes through the kernel's outbox (each exists if and only
if its change committed). Other plugins subscribe by type string
(``@kernel.on("community.reply_created.v1", id="<plugin>:<name>")``); payloads carry
what gamification, feeds and notifications need: the author, the author of what was
answered or reacted to, the course and lesson, the mentions.

Content held for review publishes its created event only when a moderator approves it;
content hidden or deleted publishes ``community.content_moderated.v1`` so plugins
withdraw what they derived from it (points, feed items)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from kernel import Event


class DiscussionCreated(Event):
    type = "community.discussion_created.v1"
    discussion_id: UUID
    author_id: str
    title: str
    category_id: UUID | None = None
    course_id: UUID | None = None
    lesson_id: UUID | None = None
    tags: list[str] = []
    mentions: list[str] = []
    created_at: datetime


class ReplyCreated(Event):
    type = "community.reply_created.v1"
    reply_id: UUID
    discussion_id: UUID
    parent_id: UUID | None = None
    author_id: str
    #: Whose post this answers: the parent reply's author, else the discussion's.
    target_author_id: str
    discussion_author_id: str
    course_id: UUID | None = None
    lesson_id: UUID | None = None
    mentions: list[str] = []
    created_at: datetime


class ReactionAdded(Event):
    type = "community.reaction_added.v1"
    target_type: str
    target_id: UUID
    discussion_id: UUID
    user_id: str
    target_author_id: str
    kind: str
    course_id: UUID | None = None
    lesson_id: UUID | None = None


class ReactionRemoved(Event):
    type = "community.reaction_removed.v1"
    target_type: str
    target_id: UUID
    discussion_id: UUID
    user_id: str
    target_author_id: str
    kind: str


class ContentReported(Event):
    type = "community.content_reported.v1"
    report_id: UUID
    reporter_id: str
    target_type: str
    target_id: UUID
    target_author_id: str
    reason: str


class ContentModerated(Event):
    """``action``: hidden, unhidden, deleted (by a moderator or, with ``moderator_id``
    None, by its author), approved, rejected, locked, unlocked, pinned, unpinned, moved."""

    type = "community.content_moderated.v1"
    target_type: str
    target_id: UUID
    discussion_id: UUID
    author_id: str
    action: str
    moderator_id: str | None = None
    reason: str = ""


EVENTS = (
    DiscussionCreated,
    ReplyCreated,
    ReactionAdded,
    ReactionRemoved,
    ContentReported,
    ContentModerated,
)
