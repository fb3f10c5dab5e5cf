"""Request and response bodies. Inputs forbid unknown fields, so every invalid field is
a 422 naming it; lengths set by settings are checked in the modules that use them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from kernel import CursorPage, CursorQuery, PageQuery


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Tag = Annotated[
    str, BeforeValidator(_lower), StringConstraints(pattern=r"^[a-z0-9][a-z0-9+#.-]{0,39}$")
]
Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=200_000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Kind = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- discussions and replies ---------------------------------------------------------------


class DiscussionCreate(Input):
    title: Title
    body: Body
    category_id: UUID | None = None
    course_id: UUID | None = None
    lesson_id: UUID | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class DiscussionUpdate(Input):
    title: Title | None = None
    body: Body | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)


class ReplyCreate(Input):
    body: Body
    parent_id: UUID | None = None


class ReplyUpdate(Input):
    body: Body


class DiscussionFilters(BaseModel):
    """What both discussion listings filter and sort by."""

    category: Slug | None = None
    lesson_id: UUID | None = None
    tag: Tag | None = None
    author: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    pinned: bool | None = None
    sort: Literal["recent", "active", "top"] = "recent"


class DiscussionQuery(PageQuery, DiscussionFilters):
    """``GET /discussions``: numbered pages."""

    course_id: UUID | None = None


class CourseFeedQuery(CursorQuery, DiscussionFilters):
    """``GET /courses/{course_id}/discussions``: a feed, read with cursors."""


class ReactionCounts(BaseModel):
    counts: dict[str, int]
    mine: list[str] = Field(default_factory=list)


class DiscussionOut(BaseModel):
    id: UUID
    title: str
    body: str
    body_html: str
    author_id: str
    category_id: UUID | None
    course_id: UUID | None
    lesson_id: UUID | None
    tags: list[str]
    mentions: list[str]
    #: ``{handle: user id}`` for the handles that name one user.
    mentioned_users: dict[str, str]
    pinned: bool
    locked: bool
    hidden: bool
    held: bool
    deleted: bool
    reply_count: int
    reaction_count: int
    view_count: int
    created_at: datetime
    edited_at: datetime | None
    last_activity_at: datetime


class ReplyOut(BaseModel):
    """A reply in a tree. A deleted reply keeps its place (so its answers stay readable)
    with an empty body and ``deleted: true``."""

    id: UUID
    discussion_id: UUID
    parent_id: UUID | None
    depth: int
    author_id: str | None
    body: str
    body_html: str
    mentions: list[str]
    mentioned_users: dict[str, str]
    hidden: bool
    held: bool
    deleted: bool
    reaction_count: int
    # factories, not literal defaults: pydantic deep-copies those for every instance
    reactions: dict[str, int] = Field(default_factory=dict)
    created_at: datetime
    edited_at: datetime | None
    children: list[ReplyOut] = Field(default_factory=list)


class DiscussionDetail(DiscussionOut):
    reactions: ReactionCounts
    subscribed: bool
    #: Top-level replies, oldest first, each with its whole subtree; ``next_cursor``
    #: pages through the top level.
    replies: CursorPage[ReplyOut]


class ThreadQuery(CursorQuery):
    pass


# -- reactions, reports, moderation ---------------------------------------------------------


class ReactionIn(Input):
    kind: Kind


class ReportCreate(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ReportOut(BaseModel):
    id: UUID
    reporter_id: str
    target_type: str
    target_id: UUID
    target_author_id: str
    reason: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None


class ReportDecision(Input):
    status: Literal["resolved", "dismissed"]
    #: With ``resolved``: also hide the reported content.
    hide: bool = False
    reason: Reason = ""


class ModerationIn(Input):
    action: Literal[
        "hide", "unhide", "lock", "unlock", "pin", "unpin", "approve", "reject", "delete", "move"
    ]
    reason: Reason = ""
    #: For ``move``: the category to move the discussion to (``null``: none).
    category_id: UUID | None = None


class QueueItem(BaseModel):
    """An open report, or a held post waiting for approval."""

    kind: Literal["report", "held"]
    target_type: str
    target_id: UUID
    discussion_id: UUID
    author_id: str
    excerpt: str
    report: ReportOut | None = None
    created_at: datetime


class QueueQuery(CursorQuery):
    kind: Literal["report", "held_discussion", "held_reply"] = "report"


class ModerationLogOut(BaseModel):
    id: int
    moderator_id: str
    target_type: str
    target_id: UUID
    action: str
    reason: str
    created_at: datetime


# -- categories ----------------------------------------------------------------------------


class CategoryCreate(Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    slug: Slug
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    position: int = Field(default=0, ge=0, le=1_000_000)


class CategoryUpdate(Input):
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)] | None
    ) = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    position: int | None = Field(default=None, ge=0, le=1_000_000)
    archived: bool | None = None


class CategoryOut(BaseModel):
    id: UUID
    name: str
    slug: str
    description: str
    position: int
    archived: bool


class CategoryList(BaseModel):
    items: list[CategoryOut]


# -- search --------------------------------------------------------------------------------


class SearchQuery(BaseModel):
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    page: int = Field(default=1, ge=1, le=1000)
    size: int = Field(default=20, ge=1, le=100)


class SearchHit(BaseModel):
    target_type: str
    id: UUID
    discussion_id: UUID
    title: str
    #: HTML: the matching words in ``<mark>``, everything else escaped.
    snippet: str
    rank: float
    created_at: datetime


class SearchResults(BaseModel):
    items: list[SearchHit]
    page: int
    size: int
    #: Whether there may be another page.
    more: bool


class Subscribed(BaseModel):
    subscribed: bool


class BlockOut(BaseModel):
    blocked_id: str
    created_at: datetime


class BlockList(BaseModel):
    items: list[BlockOut]
