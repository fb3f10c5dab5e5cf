"""The public Python API of the ``community`` plugin, for plugins that declare
``requires={"community": ">=0.1"}``. Most integrations need none of it: subscribe to the
events in :mod:`lyo_community.events` by type string instead.

Everything else in ``lyo_community`` is implementation and may change without notice.
These functions check no permission and answer only for public content."""

from __future__ import annotations

from uuid import UUID

from .events import (
    ContentModerated,
    ContentReported,
    DiscussionCreated,
    MentionCreated,
    ReactionAdded,
    ReactionRemoved,
    ReplyCreated,
)
from .models import Discussion, PostState
from .rows import discussion_out
from .schemas import DiscussionOut

__all__ = [
    "ContentModerated",
    "ContentReported",
    "DiscussionCreated",
    "DiscussionOut",
    "MentionCreated",
    "ReactionAdded",
    "ReactionRemoved",
    "ReplyCreated",
    "discussions_by_id",
]


async def discussions_by_id(ids: list[UUID]) -> dict[UUID, DiscussionOut]:
    """The public discussions among ``ids`` (hidden, held or deleted ones are absent),
    in one query: for a feed or a notification that shows titles."""
    rows = await Discussion.filter(
        id__in=ids, state=PostState.PUBLISHED, hidden=False, deleted_at=None
    )
    return {d.id: discussion_out(d) for d in rows}
