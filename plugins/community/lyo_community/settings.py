"""The plugin's name, its settings (``LYO_COMMUNITY__<FIELD>``) and its handle on the
running kernel (``plugin.settings``, ``plugin.cache``, ``plugin.notify_user`` ...)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from kernel import PluginHandle

NAME = "community"
plugin = PluginHandle(NAME)

_RATE_HELP = "a `limits` rate string such as '10/minute' (empty: unlimited)"


class CommunitySettings(BaseModel):
    #: Reaction kinds a user may give (one of each per target).
    reaction_kinds: list[str] = Field(
        default_factory=lambda: ["like", "insightful", "thanks", "question"]
    )
    #: Minutes after posting during which authors may edit (moderators: any time).
    edit_window_minutes: int = Field(default=30, ge=0)
    #: Deepest reply level: 1 answers the discussion, 2 answers a reply, ...
    max_reply_depth: int = Field(default=3, ge=2, le=10)
    max_title_length: int = Field(default=200, ge=10, le=500)
    max_body_length: int = Field(default=20_000, ge=100, le=200_000)
    max_tags: int = Field(default=5, ge=0, le=20)
    #: A user's first N posts (discussions and replies) wait for a moderator.
    held_first_posts: int = Field(default=0, ge=0)
    #: Upheld (resolved) reports against a user's content after which they may not post.
    restrict_after_upheld_reports: int = Field(default=3, ge=1)
    #: Per-user rate limits (fixed windows, shared through Redis when configured).
    post_rate: str = Field(default="10/minute", description=_RATE_HELP)
    reply_rate: str = Field(default="30/minute", description=_RATE_HELP)
    react_rate: str = Field(default="120/minute", description=_RATE_HELP)
    report_rate: str = Field(default="20/hour", description=_RATE_HELP)
    #: Seconds between flushes of the view counters into the database.
    view_flush_interval: float = Field(default=60.0, gt=0)
    #: Seconds a cached listing or thread page lives (writes drop it sooner); 0: no cache.
    read_cache_ttl: float = Field(default=60.0, ge=0)
    #: Seconds an API process trusts the cache generations it read without asking Redis
    #: again: the bound on a stale page after a lost hub message; 0: ask on every read.
    read_cache_local_ttl: float = Field(default=5.0, ge=0)

    @field_validator("post_rate", "reply_rate", "react_rate", "report_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        if value:
            import limits

            limits.parse(value)  # raises ValueError on a bad string
        return value

    @field_validator("reaction_kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        if not value or any(not k.isidentifier() or len(k) > 20 for k in value):
            raise ValueError("reaction kinds are short identifiers, at least one")
        return value
