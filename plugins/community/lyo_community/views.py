"""View counts without a database write per read.

Each reader counts once per discussion per UTC day (a cache counter per reader and day,
expiring after a day); a first view of the day increments the discussion's pending
counter and marks it in a sorted set of discussions to flush. The scheduled task
``community:flush_views`` moves pending counts into ``view_count`` in batches, taking
away exactly what it added (a view arriving meanwhile stays pending). Readers see the
stored count plus the pending one. When the cache (Redis) is down, views go uncounted."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from tortoise.expressions import F

from kernel import Identity, ServiceUnavailable

from .models import Discussion
from .settings import plugin

log = structlog.get_logger("lyo.community")
PENDING = "views:pending"
DAY = 86_400


async def seen(d: Discussion, identity: Identity) -> int:
    """Count this read if it is the reader's first today; the pending count."""
    cache = plugin.cache
    try:
        if identity.id is not None and d.public:
            day = datetime.now(UTC).strftime("%Y%m%d")
            if await cache.incr(f"viewer:{day}:{d.id}:{identity.id}", ttl=DAY) == 1:
                await cache.incr(f"views:{d.id}")
                await cache.zadd(PENDING, {str(d.id): 0})
        return await cache.get_counter(f"views:{d.id}")
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
        for discussion_id in ids:
            pending = await cache.get_counter(f"views:{discussion_id}")
            if pending <= 0:
                continue
            # taken from the cache first: a crash in between loses views, never doubles them
            await cache.incr(f"views:{discussion_id}", -pending)
            await Discussion.filter(id=discussion_id).update(view_count=F("view_count") + pending)
            flushed += 1
