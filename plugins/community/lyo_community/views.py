"""View counts without a database write per read.

Each reader counts once per discussion per UTC day (a cache counter per reader and day,
expiring after a day); a first view of the day increments the discussion's pending
counter and marks it in a sorted set of discussions to flush. The scheduled task
``community:flush_views`` moves pending counts into ``view_count`` in batches, taking
away exactly what it added (a view arriving meanwhile stays pending). Readers see the
stored count plus the pending one (a flush drops the cached pages it changes). Each
process remembers whom it counted today, so a reader's further reads touch neither the
database nor the cache. When the cache (Redis) is down, views go uncounted."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import structlog
from tortoise.expressions import F

from kernel import Identity, ServiceUnavailable

from . import readcache
from .models import Discussion
from .settings import plugin

log = structlog.get_logger("lyo.community")
PENDING = "views:pending"
DAY = 86_400


class _Counted:
    """Readers this process counted today; dropped whole when the day changes or it
    grows past ``LIMIT`` (at worst a reader is looked up in the cache once more)."""

    LIMIT = 100_000
    day = ""
    readers: set[str] = set()


_counted = _Counted()


async def count(discussion_id: UUID, identity: Identity) -> None:
    """Count this read of a public discussion if it is the reader's first today."""
    if identity.id is None:
        return
    day = datetime.now(UTC).strftime("%Y%m%d")
    if day != _counted.day or len(_counted.readers) >= _counted.LIMIT:
        _counted.day, _counted.readers = day, set()
    viewer = f"viewer:{day}:{discussion_id}:{identity.id}"
    if viewer in _counted.readers:
        return
    cache = plugin.cache
    try:
        if await cache.incr(viewer, ttl=DAY) == 1:
            await cache.incr(f"views:{discussion_id}")
            await cache.zadd(PENDING, {str(discussion_id): 0})
    except ServiceUnavailable:
        return
    _counted.readers.add(viewer)


async def pending(discussion_id: UUID) -> int:
    """Views counted but not flushed yet (0 when the cache is down)."""
    try:
        return await plugin.cache.get_counter(f"views:{discussion_id}")
    except ServiceUnavailable:
        return 0


async def flush(batch: int = 500) -> int:
    """Move pending view counts into the database; how many discussions were updated."""
    cache = plugin.cache
    flushed = 0
    while True:
        ids = await cache.zrange(PENDING, 0, batch - 1, with_scores=False)
        if not ids:
            return flushed
        await cache.zrem(PENDING, *ids)  # first, so a view arriving now marks it again
        moved = []
        for discussion_id in ids:
            pending = await cache.get_counter(f"views:{discussion_id}")
            if pending <= 0:
                continue
            # taken from the cache first: a crash in between loses views, never doubles them
            await cache.incr(f"views:{discussion_id}", -pending)
            await Discussion.filter(id=discussion_id).update(view_count=F("view_count") + pending)
            moved.append(discussion_id)
        await readcache.changed(moved)
        flushed += len(moved)
