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

import asyncio
import contextlib
import functools
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import limits
import structlog
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool

from kernel import TooManyRequests

log = structlog.get_logger("lyo.auth")
T = TypeVar("T")


#: Seconds a limit's storage may take to answer before the limits fail open.
TIMEOUT = 0.5
#: What a storage that cannot answer raises: its errors, or the :data:`TIMEOUT`.
_UNAVAILABLE = (StorageError, TimeoutError)


def create_storage(redis_url: str | None, prefix: str) -> tuple[Storage, Any]:
    """The limits storage, and the Redis connection pool it uses (``None`` in memory),
    which :meth:`Throttle.close` disconnects.

    The pool has no socket timeout: :class:`Throttle` bounds each call with one
    ``asyncio.timeout`` instead, because redis-py runs every socket write of a pool with
    a timeout through ``asyncio.wait_for``, a task per command on Python 3.11 (about a
    tenth of a sign-in's CPU beside its verify, measured)."""
    if not redis_url:
        return MemoryStorage(), None
    pool = ConnectionPool.from_url(redis_url, socket_timeout=None, socket_connect_timeout=TIMEOUT)
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
        counted, ``False`` when the storage is down (failing open: nothing to give back)."""
        item = _parse(rate)
        try:
            async with asyncio.timeout(TIMEOUT):
                if await self.limiter.hit(item, *key):
                    self.on_outage(None)
                    return True
                # over the limit: this attempt is refused, so it does not count
                await self.storage.incr(item.key_for(*key), item.get_expiry(), amount=-1)
                stats = await self.limiter.get_window_stats(item, *key)
        except _UNAVAILABLE as exc:
            self._outage(exc)
            return False
        raise TooManyRequests(detail, retry_after=_retry_after(stats.reset_time))

    async def give_back(self, rate: str, *key: str) -> None:
        """Uncount one attempt :meth:`take` counted (it turned out not to be a failure)."""
        item = _parse(rate)
        await self._bounded(self.storage.incr(item.key_for(*key), item.get_expiry(), amount=-1), 0)

    async def allow(self, rate: str, *key: str) -> bool:
        """Count one attempt; whether it was within ``rate`` (for silent limits)."""
        return await self._bounded(self.limiter.hit(_parse(rate), *key), True)

    async def clear(self, rate: str, *key: str) -> None:
        await self._bounded(self.limiter.clear(_parse(rate), *key), None)

    async def consume(self, rate: str, *key: str, detail: str) -> None:
        """Count one attempt, 429 when over: for limits on every attempt (registration)."""
        await self.take(rate, *key, detail=detail)

    async def _bounded(self, call: Awaitable[T], unavailable: T) -> T:
        """``call``'s answer, or ``unavailable`` when the storage cannot give one (logged,
        the plugin marked degraded) within :data:`TIMEOUT`."""
        try:
            async with asyncio.timeout(TIMEOUT):
                return await call
        except _UNAVAILABLE as exc:
            self._outage(exc)
            return unavailable

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
