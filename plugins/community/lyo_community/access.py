"""Who may see and do what, and the per-user rate limits.

Hidden, held and deleted discussions answer as if they did not exist (404) to everyone
but their author and moderators; a hidden or held reply is left out of its thread for
others. A deleted reply keeps its place, without author or body, so its answers stay
readable."""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any
from uuid import UUID

import limits
import structlog
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from redis.asyncio import ConnectionPool
from tortoise.expressions import Q

from kernel import Forbidden, Identity, Kernel, NotFound, TooManyRequests

from .models import Discussion, Post, PostState, Reply, Report, ReportStatus
from .settings import NAME, plugin

log = structlog.get_logger("lyo.community")

POST = "community:post"
REACT = "community:react"
REPORT = "community:report"
MODERATE = "community:moderate"


def is_moderator(identity: Identity) -> bool:
    return identity.has(MODERATE)


def may_see(public: bool, author_id: str, identity: Identity) -> bool:
    """Public posts: everyone; others: their author and moderators."""
    if public:
        return True
    if identity.id is not None and author_id == identity.id:
        return True
    return is_moderator(identity)


def can_see(post: Post, identity: Identity) -> bool:
    return may_see(post.public, post.author_id, identity)


def listed(identity: Identity) -> Q:
    """Discussions a listing shows ``identity``: public ones, their own (held or hidden,
    not deleted), and for moderators all but deleted ones."""
    if is_moderator(identity):
        return Q(deleted_at=None)
    public = Q(state=PostState.PUBLISHED, hidden=False, deleted_at=None)
    if identity.id is None:
        return public
    return public | Q(author_id=identity.id, deleted_at=None)


def replies_shown(identity: Identity) -> Q:
    """Replies a thread shows ``identity`` (deleted ones included, as placeholders)."""
    if is_moderator(identity):
        return Q()
    public = Q(state=PostState.PUBLISHED, hidden=False)
    if identity.id is None:
        return public
    return public | Q(author_id=identity.id)


async def discussion_for(discussion_id: UUID, identity: Identity) -> Discussion:
    discussion = await Discussion.get_or_none(id=discussion_id)
    if discussion is None or not can_see(discussion, identity):
        raise NotFound("No such discussion.")
    return discussion


async def reply_for(reply_id: UUID, identity: Identity) -> tuple[Reply, Discussion]:
    reply = await Reply.get_or_none(id=reply_id).select_related("discussion")
    if reply is None or not can_see(reply, identity) or not can_see(reply.discussion, identity):
        raise NotFound("No such reply.")
    return reply, reply.discussion


async def ensure_not_restricted(identity: Identity) -> None:
    """Users with too many upheld reports against their content may not post."""
    if is_moderator(identity):
        return
    upheld = await Report.filter(target_author_id=identity.id, status=ReportStatus.RESOLVED).count()
    if upheld >= plugin.settings.restrict_after_upheld_reports:
        raise Forbidden("Posting is restricted: too many reports against your posts were upheld.")


# -- rate limits ---------------------------------------------------------------------------


class _Limits:
    storage: Storage | None = None
    limiter: FixedWindowRateLimiter | None = None
    pool: ConnectionPool | None = None


_limits = _Limits()


def open_limits(kernel: Kernel) -> None:
    """Counters in Redis (shared by every process) when the kernel has Redis, else in
    this process's memory."""
    settings = kernel.settings
    pool = None
    if settings.redis_url:
        # short timeouts: a Redis outage must not hold a post up (the limits fail open)
        pool = ConnectionPool.from_url(
            settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        storage: Storage = RedisStorage(
            f"async+{settings.redis_url}",
            implementation="redispy",
            key_prefix=f"{settings.redis_prefix}:{NAME}:limits",
            wrap_exceptions=True,
            connection_pool=pool,  # type: ignore[arg-type]
        )
    else:
        storage = MemoryStorage()
    _limits.storage, _limits.limiter, _limits.pool = storage, FixedWindowRateLimiter(storage), pool


async def close_limits() -> None:
    storage, _limits.storage, _limits.limiter = _limits.storage, None, None
    if isinstance(storage, RedisStorage):
        with contextlib.suppress(Exception):
            await storage.storage.aclose()


async def take(what: str, identity: Identity) -> None:
    """Count one ``what`` (post, reply, react, report) for the caller; 429 with
    ``Retry-After`` over the limit. Fails open while the storage is unreachable."""
    rate: str = getattr(plugin.settings, f"{what}_rate")
    limiter = _limits.limiter
    if not rate or limiter is None or is_moderator(identity):
        return
    item = limits.parse(rate)
    key: tuple[Any, ...] = (NAME, what, identity.id or "anonymous")
    try:
        if await limiter.hit(item, *key):
            return
        stats = await limiter.get_window_stats(item, *key)
    except Exception as exc:
        log.warning("community rate limit storage failing; not limiting", error=str(exc))
        return
    retry = max(1, math.ceil(stats.reset_time - time.time()))
    raise TooManyRequests(f"Too many {what} requests; try again later.", retry_after=retry)
