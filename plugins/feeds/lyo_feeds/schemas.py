"""Request and response bodies of ``/api/feeds``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from .settings import Visibility


class FeedQuery(BaseModel):
    cursor: str | None = Field(default=None, max_length=512)
    size: int = Field(default=20, ge=1, le=100)


class Ref(BaseModel):
    type: str
    id: str


class ActivityOut(BaseModel):
    id: UUID
    actor_id: str
    verb: str
    object: Ref
    target: Ref | None
    course_id: str | None
    #: ``public``, or ``actor`` (a private draft only its actor sees)
    audience: str
    #: How many similar activities this one stands for (aggregation)
    count: int
    objects: list[str]
    data: dict[str, str]
    #: "completed 3 lessons of Python basics": put the actor's name before it
    summary: str
    occurred_at: datetime
    created_at: datetime
    updated_at: datetime


class Feed(BaseModel):
    items: list[ActivityOut]
    next_cursor: str | None


Kind = Literal["user", "course"]


class FollowIn(BaseModel):
    kind: Kind
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")


class FollowOut(BaseModel):
    kind: Kind
    id: str
    created_at: datetime


class FollowList(BaseModel):
    items: list[FollowOut]
    next_cursor: str | None


class FollowQuery(FeedQuery):
    kind: Kind | None = None


class Counts(BaseModel):
    followers: int
    following: int


class PrivacyIn(BaseModel):
    visibility: Visibility


class PrivacyOut(BaseModel):
    #: public: everyone; followers: the users following me; private: only me
    visibility: Visibility


class Recommendation(BaseModel):
    kind: str
    id: str
    title: str
    score: float
    #: why: "similar to Python basics", "popular with learners", "similar", "matches"
    reason: str


class Recommendations(BaseModel):
    items: list[Recommendation]


class DiscoverQuery(BaseModel):
    size: int = Field(default=10, ge=1, le=50)


class SearchQuery(BaseModel):
    q: str = Field(min_length=1, max_length=500)
    kind: Literal["course", "discussion"] = "course"
    size: int = Field(default=10, ge=1, le=50)
