"""The read cache: the first pages of listings and threads as everyone but moderators
sees them, encoded once and kept in the kernel cache (Redis in production, shared by
every process), dropped by this plugin's own writes.

Keys carry a generation: one for all listings, one per discussion for its thread. A
write bumps the generations it affects once its transaction commits, so a page built
from rows read before the commit lands under a generation nobody asks for any more:
no stale page outlives a write, however reads and writes interleave. Each process also
keeps the pages it last used (``LOCAL_PAGES``, by the same keys), so a hit costs one
round trip (the generation) and no decoding. Entries expire after ``read_cache_ttl``
seconds, which heals generations lost while Redis was down. Without the cache (Redis
unreachable, or ``read_cache_ttl = 0``) reads are built from the database each time."""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import structlog

from kernel import ServiceUnavailable, after_commit

from .settings import plugin

log = structlog.get_logger("lyo.community")
LISTINGS = "list:gen"
#: Pages this process keeps per running kernel: ``{key: (expires at, page)}``, least
#: recently used first.
LOCAL_PAGES = 128
_kept: weakref.WeakKeyDictionary[Any, OrderedDict[str, tuple[float, Any]]] = (
    weakref.WeakKeyDictionary()
)


def _local() -> OrderedDict[str, tuple[float, Any]]:
    kernel = plugin.kernel
    pages = _kept.get(kernel)
    if pages is None:
        pages = _kept[kernel] = OrderedDict()
    return pages


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
    """The page under ``key`` (a key with its generation), ``None`` if there is none."""
    pages = _local()
    held = pages.get(key)
    if held is not None and held[0] > time.monotonic():
        pages.move_to_end(key)
        return held[1]
    page = await plugin.cache.get(key)
    if page is not None:
        _keep(key, page)
    return page


async def store(key: str, page: Any) -> None:
    _keep(key, page)
    await plugin.cache.set(key, page, ttl=plugin.settings.read_cache_ttl)


def _keep(key: str, page: Any) -> None:
    pages = _local()
    pages[key] = (time.monotonic() + plugin.settings.read_cache_ttl, page)
    pages.move_to_end(key)
    while len(pages) > LOCAL_PAGES:
        pages.popitem(last=False)


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
