"""The read cache: the first pages of listings and threads as everyone but moderators
sees them, encoded once and kept in the kernel cache (Redis in production, shared by
every process), dropped by this plugin's own writes.

Keys carry a generation: one for all listings, one per discussion for its thread. A
write bumps the generations it affects once its transaction commits, so a page built
from rows read before the commit lands under a generation nobody asks for any more:
no stale page outlives a write, however reads and writes interleave. Entries also
expire after ``read_cache_ttl`` seconds, which bounds how far view counts in a cached
page lag and heals generations lost while Redis was down. Without the cache (Redis
unreachable, or ``read_cache_ttl = 0``) reads are built from the database each time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import structlog

from kernel import ServiceUnavailable, after_commit

from .settings import plugin

log = structlog.get_logger("lyo.community")
LISTINGS = "list:gen"


def thread_generation_key(discussion_id: UUID | str) -> str:
    return f"thread:gen:{discussion_id}"


async def generation(key: str) -> int | None:
    """The current generation under ``key``; ``None`` when not caching."""
    if plugin.settings.read_cache_ttl <= 0:
        return None
    try:
        return await plugin.cache.get_counter(key)
    except ServiceUnavailable:
        return None


async def lookup(key: str) -> Any:
    return await plugin.cache.get(key)


async def store(key: str, value: Any) -> None:
    await plugin.cache.set(key, value, ttl=plugin.settings.read_cache_ttl)


async def changed(discussion_ids: Iterable[UUID | str] = ()) -> None:
    """Once the current transaction commits: every listing and the threads of
    ``discussion_ids`` are stale."""
    keys = [LISTINGS, *(thread_generation_key(d) for d in dict.fromkeys(discussion_ids))]

    async def bump() -> None:
        try:
            for key in keys:
                await plugin.cache.incr(key, ttl=None)
        except ServiceUnavailable:
            log.warning("community read cache not invalidated: the cache is unreachable")

    await after_commit(bump)
