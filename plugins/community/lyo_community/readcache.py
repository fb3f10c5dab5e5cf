"""The read cache: the first pages of listings and threads (and the totals of
listings) as everyone but moderators sees them, encoded once and kept in the kernel
cache (Redis in production, shared by every process), dropped by this plugin's own
writes.

Keys carry a generation: one for all listings, one per discussion for its thread. A
write bumps the generations it affects once its transaction commits, so a page built
from rows read before the commit lands under a generation nobody asks for any more:
no stale page outlives a write, however reads and writes interleave. Entries expire
after ``read_cache_ttl`` seconds, which heals generations lost while Redis was down.
Without the cache (Redis unreachable, or ``read_cache_ttl = 0``) reads are built from
the database each time.

Each API process also keeps, in memory, the pages it last used (``LOCAL_PAGES``, by the
same keys) and the generations it last read (for ``read_cache_local_ttl`` seconds), so
a hit costs no round trip at all. A write drops the generations it bumps in its own
process at once (before its response), and announces them on the hub topic
:data:`TOPIC`, which every API process listens to, so the others drop theirs within a
Redis round trip. Pub/sub delivers at most once: when a message is lost (Redis
restarting, a listener reconnecting) another process may serve the pages it had for
``read_cache_local_ttl`` seconds (5 by default) at worst; a process whose hub is not
started (a worker, a command) keeps no generation. A generation read from Redis while an
announcement arrived is not kept (it may predate the write), so a read racing a write
cannot put back what the write dropped. ``read_cache_local_ttl = 0`` asks Redis for the
generation on every read."""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from uuid import UUID

import structlog

from kernel import ServiceUnavailable, after_commit

from .settings import NAME, plugin

log = structlog.get_logger("lyo.community")
LISTINGS = "list:gen"
#: The hub topic of dropped generations: ``{"keys": [generation key, ...]}``.
TOPIC = f"{NAME}:read-cache"
#: Pages this process keeps per running kernel, least recently used first.
LOCAL_PAGES = 128
#: Generations this process keeps per running kernel (the oldest go first).
LOCAL_GENERATIONS = 10_000


class _Local:
    """What one process keeps for one running kernel."""

    def __init__(self, kernel: Any) -> None:
        self.hub = kernel.hub
        #: ``{key: (expires at, page)}`` (``time.monotonic()``)
        self.pages: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        #: ``{generation key: (trusted until, generation)}``
        self.generations: dict[str, tuple[float, int]] = {}
        #: incremented by every drop (see the module docstring)
        self.epoch = 0
        self.hub.listen(TOPIC, self.heard)

    def trusted(self) -> bool:
        """Whether this process may keep generations: its hub is started (an API
        process), so drops announced by other processes reach it."""
        if not self.hub.started:
            self.generations.clear()
            return False
        return bool(plugin.settings.read_cache_local_ttl > 0)

    def remember(self, key: str, value: int) -> None:
        self.generations.pop(key, None)
        while len(self.generations) >= LOCAL_GENERATIONS:
            del self.generations[next(iter(self.generations))]
        until = time.monotonic() + plugin.settings.read_cache_local_ttl
        self.generations[key] = (until, value)

    def drop(self, keys: Iterable[str] | None) -> None:
        """Forget the generations under ``keys`` (all of them for ``None``)."""
        self.epoch += 1
        if keys is None:
            self.generations.clear()
            return
        for key in keys:
            self.generations.pop(key, None)

    def heard(self, data: Any) -> None:
        """A message of :data:`TOPIC` (the hub's listener)."""
        keys = data.get("keys") if isinstance(data, dict) else None
        self.drop([str(k) for k in keys] if isinstance(keys, list) else None)


_kept: weakref.WeakKeyDictionary[Any, _Local] = weakref.WeakKeyDictionary()


def _local() -> _Local:
    kernel = plugin.kernel
    local = _kept.get(kernel)
    if local is None or local.hub is not kernel.hub:
        local = _kept[kernel] = _Local(kernel)
    return local


def thread_generation_key(discussion_id: UUID | str) -> str:
    return f"thread:gen:{discussion_id}"


async def generation(key: str) -> int | None:
    """The current generation under ``key``; ``None`` when not caching."""
    if plugin.settings.read_cache_ttl <= 0:
        return None
    local = _local()
    trusted = local.trusted()
    if trusted:
        held = local.generations.get(key)
        if held is not None and held[0] > time.monotonic():
            return held[1]
    epoch = local.epoch
    try:
        value = await plugin.cache.get_counter(key)
    except ServiceUnavailable:
        return None
    if trusted and epoch == local.epoch:
        local.remember(key, value)
    return value


async def lookup(key: str) -> Any:
    """The page under ``key`` (a key with its generation), ``None`` if there is none."""
    pages = _local().pages
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


async def cached(key: str, build: Callable[[], Awaitable[Any]]) -> Any:
    """The page under ``key``, built (and stored) by ``build`` if there is none."""
    page = await lookup(key)
    if page is None:
        page = await build()
        await store(key, page)
    return page


async def cached_bytes(key: str, build: Callable[[], Awaitable[bytes]]) -> bytes:
    """:func:`cached` for encoded JSON: kept in this process as bytes (sent as they
    are), in the shared cache as text."""
    pages = _local().pages
    held = pages.get(key)
    if held is not None and held[0] > time.monotonic():
        pages.move_to_end(key)
        return held[1]  # type: ignore[no-any-return]
    shared = await plugin.cache.get(key)
    if shared is not None:
        page = str(shared).encode()
    else:
        page = await build()
        await plugin.cache.set(key, page.decode(), ttl=plugin.settings.read_cache_ttl)
    _keep(key, page)
    return page


def _keep(key: str, page: Any) -> None:
    pages = _local().pages
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
        if plugin.settings.read_cache_ttl <= 0:
            return
        # after the new generations are in the shared cache: a read that fetched the
        # old ones meanwhile started before this drop, so it keeps nothing
        _local().drop(keys)
        await plugin.kernel.hub.publish(TOPIC, {"keys": keys})

    await after_commit(bump)
