"""The events this plugin publishes through the kernel's outbox (each exists if and only
if its change committed). Other plugins subscribe by type string
(``@kernel.on("community.reply_created.v1", id="<plugin>:<name>")``); payloads carry
what gamification, feeds and notifications need: the author, the author of what was
answered or reacted to, the course and lesson, the mentions (handles and the user ids
they resolved to), and ``recipient_ids``: who should hear of it (blocks, the actor and,
for mentions, users already told of the reply left out), which the notifications plugin
takes as its list of recipients.

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
    mentioned_user_ids: list[str] = []
    created_at: datetime


class ReplyCreated(Event):
    type = "community.reply_created.v1"
    reply_id: UUID
    discussion_id: UUID
    parent_id: UUID | None = None
    author_id: str
    #: Whose post this answers: the parent reply's author, else the discussion's.
    target_author_id: str
    parent_author_id: str | None = None
    discussion_author_id: str
    course_id: UUID | None = None
    lesson_id: UUID | None = None
    mentions: list[str] = []
    mentioned_user_ids: list[str] = []
    #: The answered authors and the discussion's subscribers, less the author and whoever
    #: blocked them.
    recipient_ids: list[str] = []
    title: str = ""
    excerpt: str = ""
    created_at: datetime


class MentionCreated(Event):
    """Users named in a visible post: published when the post becomes visible (created,
    or approved), and on an edit for the users the edit adds. Never to the author, to a
    user who blocked the author, or to one already told of the reply."""

    type = "community.mention_created.v1"
    recipient_ids: list[str]
    author_id: str
    target_type: str
    discussion_id: UUID
    reply_id: UUID | None = None
    course_id: UUID | None = None
    lesson_id: UUID | None = None
    title: str
    excerpt: str = ""


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
    #: The reply reacted to (``None``: the discussion) and ``kind`` again, under the
    #: names the notifications plugin reads.
    reply_id: UUID | None = None
    reaction: str = ""
    #: The target's author, unless they reacted themselves or blocked the reactor.
    recipient_ids: list[str] = []


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
    MentionCreated,
    ReactionAdded,
    ReactionRemoved,
    ContentReported,
    ContentModerated,
)
