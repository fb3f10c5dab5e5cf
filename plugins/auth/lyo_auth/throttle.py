"""Rate limits and lockouts with the ``limits`` library: fixed-window counters (the
window starts at the first attempt counted) in Redis, shared by every process, when
``LYO_REDIS_URL`` is set, in process memory otherwise.

Counting is atomic (one ``INCRBY`` in Redis): :meth:`Throttle.take` counts an attempt
*before* the work it guards and answers 429 when that went over the limit, so requests
arriving together cannot all pass a check made before any of them is counted; an
attempt that turns out fine is handed back with :meth:`Throttle.give_back`.

A limit that is exhausted answers 429 with ``Retry-After`` (seconds until it frees).
When Redis cannot be reached the limits fail open (logged, the plugin marked degraded):
sign-in keeps working during a Redis outage, unthrottled.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable
from typing import Any

import limits
import structlog
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool

from kernel import TooManyRequests

log = structlog.get_logger("lyo.auth")


def create_storage(redis_url: str | None, prefix: str) -> tuple[Storage, Any]:
    """The limits storage, and the Redis connection pool it uses (``None`` in memory),
    which :meth:`Throttle.close` disconnects."""
    if not redis_url:
        return MemoryStorage(), None
    pool = ConnectionPool.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    storage = RedisStorage(
        f"async+{redis_url}",
        implementation="redispy",
        key_prefix=f"{prefix}:auth:limits",
        wrap_exceptions=True,
        connection_pool=pool,  # type: ignore[arg-type]
    )
    return storage, pool


class Throttle:
    """Named limits (``"5/15 minutes"``) counted per identifier (account digest, IP)."""

    def __init__(
        self,
        storage: Storage,
        on_outage: Callable[[str | None], None],
        pool: Any = None,
    ) -> None:
        self.storage = storage
        self.pool = pool
        self.limiter = FixedWindowRateLimiter(storage)
        self.on_outage = on_outage

    async def take(self, rate: str, *key: str, detail: str) -> bool:
        """Count one attempt against ``rate`` atomically; raise 429 with Retry-After,
        the attempt not counted, if that exhausted it. ``True`` when the attempt was
        counted, ``False`` when the storage is down (failing open: nothing to give back).

        A call that fails is tried once more before failing open: a request holding the
        event loop past the socket timeout makes an answer that arrived meanwhile look
        like an outage, and a lock must not open for that. (The first try may have been
        counted: the attempt then counts twice, erring towards the lock.)"""
        item = _parse(rate)
        for retry in (True, False):
            try:
                if await self.limiter.hit(item, *key):
                    self.on_outage(None)
                    return True
                # over the limit: this attempt is refused, so it does not count
                await self.storage.incr(item.key_for(*key), item.get_expiry(), amount=-1)
                stats = await self.limiter.get_window_stats(item, *key)
                break
            except StorageError as exc:
                if not retry:
                    self._outage(exc)
                    return False
        raise TooManyRequests(detail, retry_after=_retry_after(stats.reset_time))

    async def give_back(self, rate: str, *key: str) -> None:
        """Uncount one attempt :meth:`take` counted (it turned out not to be a failure)."""
        item = _parse(rate)
        try:
            await self.storage.incr(item.key_for(*key), item.get_expiry(), amount=-1)
        except StorageError as exc:
            self._outage(exc)

    async def allow(self, rate: str, *key: str) -> bool:
        """Count one attempt; whether it was within ``rate`` (for silent limits)."""
        try:
            return await self.limiter.hit(_parse(rate), *key)
        except StorageError as exc:
            self._outage(exc)
            return True

    async def clear(self, rate: str, *key: str) -> None:
        try:
            await self.limiter.clear(_parse(rate), *key)
        except StorageError as exc:
            self._outage(exc)

    async def consume(self, rate: str, *key: str, detail: str) -> None:
        """Count one attempt, 429 when over: for limits on every attempt (registration)."""
        await self.take(rate, *key, detail=detail)

    def _outage(self, exc: BaseException) -> None:
        log.warning("rate limit storage unavailable; not throttling", error=repr(exc))
        self.on_outage("rate limit storage unavailable; sign-in is not throttled")

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.disconnect()
        timer = getattr(self.storage, "timer", None)  # MemoryStorage's expiry task
        if timer is not None:
            timer.cancel()
            with contextlib.suppress(BaseException):
                await timer


@functools.cache
def _parse(rate: str) -> limits.RateLimitItem:
    """``limits.parse``, once per rate (the settings' few): parsing costs more than the
    rest of a sign-in's count."""
    return limits.parse(rate)


def _retry_after(reset_time: float) -> int:
    return max(1, math.ceil(reset_time - time.time()))
