"""Where :class:`kernel.Cache` keeps its data: Redis, or one process's memory.

Both backends give the same answers to the same calls, return types included (the
cache's tests run every case on both). Keys arrive complete (prefixed by the cache).

Counters and sorted sets live beside plain values: a counter is stored as the text
of an integer (so ``get`` reads it as a number), a sorted set as a Redis sorted set.
Using a key as the wrong kind (``incr`` on a JSON value, ``zadd`` on a counter)
raises :class:`WrongKind` on both backends. A ``ttl`` given to a counter or sorted
set sets its expiry only when it has none, so the first write opens the window and
later writes never extend it (a fixed-window rate limit); ``None`` keeps what is
there (no expiry for a new key).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

import structlog
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

from kernel.breaker import CircuitBreaker
from kernel.data.batch import RedisPipe
from kernel.data.cache_scripts import EXPIRE_NEW, UNLOCK, ZINCRBY_MANY, ms, zincrby_many_args

log = structlog.get_logger("lyo.cache")

_LOG_EVERY = 30.0  # seconds between two warnings about the same outage
_SCAN_BATCH = 500

#: One sorted set's members and scores, in order: ``[(member, score), ...]``.
Scored = list[tuple[str, float]]


class WrongKind(TypeError):
    """A key was used as another kind of entry (a counter as a sorted set, ...)."""


class Backend(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float | None) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]: ...
    async def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None: ...
    async def delete_many(self, keys: Sequence[str]) -> None: ...
    async def delete_prefix(self, prefix: str) -> int: ...
    async def lock(self, key: str, token: str, ttl: float) -> bool: ...
    async def unlock(self, key: str, token: str) -> None: ...
    async def incr(self, key: str, amount: int, ttl: float | None) -> int: ...
    async def zadd(self, key: str, scores: Mapping[str, float], ttl: float | None) -> int: ...
    async def zincrby(self, key: str, member: str, amount: float, ttl: float | None) -> float: ...
    async def zincrby_many(
        self, increments: Mapping[str, Mapping[str, float]], ttls: Mapping[str, float | None]
    ) -> dict[str, dict[str, float]]: ...
    async def zscore(self, key: str, member: str) -> float | None: ...
    async def zrank(self, key: str, member: str, desc: bool) -> int | None: ...
    async def zrange(self, key: str, start: int, stop: int, desc: bool) -> Scored: ...
    async def zrem(self, key: str, members: Sequence[str]) -> int: ...
    async def zcard(self, key: str) -> int: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryBackend:
    """A bounded LRU with per-entry expiry; one process only. Counters and sorted
    sets are entries like the others (and, in development, evicted like them)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[bytes | dict[str, float], float | None]] = (
            OrderedDict()
        )

    def _live(self, key: str) -> tuple[bytes | dict[str, float], float | None] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] is not None and entry[1] <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def _put(self, key: str, value: bytes | dict[str, float], expires: float | None) -> None:
        self._entries[key] = (value, expires)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def _zset(self, key: str) -> dict[str, float] | None:
        entry = self._live(key)
        if entry is None:
            return None
        if not isinstance(entry[0], dict):
            raise WrongKind(f"{key!r} is not a sorted set")
        return entry[0]

    def _zset_for_write(self, key: str, ttl: float | None) -> dict[str, float]:
        entry = self._live(key)
        if entry is not None and not isinstance(entry[0], dict):
            raise WrongKind(f"{key!r} is not a sorted set")
        members: dict[str, float] = entry[0] if entry is not None else {}  # type: ignore[assignment]
        expires = entry[1] if entry is not None else None
        if expires is None and ttl is not None:
            expires = time.monotonic() + ttl
        self._put(key, members, expires)
        return members

    def _ordered(self, members: dict[str, float], desc: bool) -> Scored:
        # Redis's order: by score, then by member (bytewise, as UTF-8 code points sort)
        return sorted(members.items(), key=lambda item: (item[1], item[0]), reverse=desc)

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key)
        return entry[0] if entry is not None and isinstance(entry[0], bytes) else None

    async def set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._put(key, value, None if ttl is None else time.monotonic() + ttl)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        for key, value in items.items():
            await self.set(key, value, ttl)

    async def delete_many(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._entries.pop(key, None)

    async def delete_prefix(self, prefix: str) -> int:
        doomed = [key for key in self._entries if key.startswith(prefix)]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    # In one process, the per-key task in Cache.get_or_set already computes once.
    async def lock(self, key: str, token: str, ttl: float) -> bool:
        return True

    async def unlock(self, key: str, token: str) -> None:
        return None

    async def incr(self, key: str, amount: int, ttl: float | None) -> int:
        entry = self._live(key)
        current, expires = 0, None
        if entry is not None:
            value, expires = entry
            try:
                current = int(value) if isinstance(value, bytes) else None  # type: ignore[assignment]
            except ValueError:
                current = None  # type: ignore[assignment]
            if current is None:
                raise WrongKind(f"{key!r} does not hold a counter")
        if expires is None and ttl is not None:
            expires = time.monotonic() + ttl
        current += amount
        self._put(key, str(current).encode(), expires)
        return current

    async def zadd(self, key: str, scores: Mapping[str, float], ttl: float | None) -> int:
        members = self._zset_for_write(key, ttl)
        added = sum(1 for member in scores if member not in members)
        members.update({member: float(score) for member, score in scores.items()})
        return added

    async def zincrby(self, key: str, member: str, amount: float, ttl: float | None) -> float:
        members = self._zset_for_write(key, ttl)
        members[member] = members.get(member, 0.0) + amount
        return members[member]

    async def zincrby_many(
        self, increments: Mapping[str, Mapping[str, float]], ttls: Mapping[str, float | None]
    ) -> dict[str, dict[str, float]]:
        for key in increments:  # every kind first: all or nothing, as on Redis
            self._zset(key)
        return {
            key: {m: await self.zincrby(key, m, a, ttls.get(key)) for m, a in amounts.items()}
            for key, amounts in increments.items()
        }

    async def zscore(self, key: str, member: str) -> float | None:
        return (self._zset(key) or {}).get(member)

    async def zrank(self, key: str, member: str, desc: bool) -> int | None:
        members = self._zset(key) or {}
        if member not in members:
            return None
        return [m for m, _ in self._ordered(members, desc)].index(member)

    async def zrange(self, key: str, start: int, stop: int, desc: bool) -> Scored:
        ordered = self._ordered(self._zset(key) or {}, desc)
        n = len(ordered)
        start, stop = start + n if start < 0 else start, stop + n if stop < 0 else stop
        return ordered[max(start, 0) : stop + 1] if stop >= 0 else []

    async def zrem(self, key: str, members: Sequence[str]) -> int:
        zset = self._zset(key)
        if zset is None:
            return 0
        removed = sum(1 for member in set(members) if zset.pop(member, None) is not None)
        if not zset:
            del self._entries[key]  # Redis drops an emptied sorted set
        return removed

    async def zcard(self, key: str) -> int:
        return len(self._zset(key) or {})

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()


class RedisBackend:
    def __init__(self, url: str, timeout: float) -> None:
        # Fail fast: one immediate retry (a pooled connection may be stale after a
        # Redis restart), never redis-py's default of ten with back-off.
        self.redis = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )
        self._zincrby_many = self.redis.register_script(ZINCRBY_MANY)
        # concurrent reads share one pipelined round trip (a board's top, a rank, ...)
        self._reads = RedisPipe(self.redis)

    async def get(self, key: str) -> bytes | None:
        return cast("bytes | None", await self.redis.get(key))  # decode_responses is off

    async def set(self, key: str, value: bytes, ttl: float | None) -> None:
        await self.redis.set(key, value, px=None if ttl is None else ms(ttl))

    async def delete(self, key: str) -> None:
        await self.redis.unlink(key)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return cast("list[bytes | None]", await self.redis.mget(keys))

    async def set_many(self, items: Mapping[str, bytes], ttl: float | None) -> None:
        # one round trip: the SETs pipelined (not MSET, which takes no expiry)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(key, value, px=None if ttl is None else ms(ttl))
            await pipe.execute()

    async def delete_many(self, keys: Sequence[str]) -> None:
        await self.redis.unlink(*keys)

    async def delete_prefix(self, prefix: str) -> int:
        # SCAN, never KEYS: it does not block Redis. Keys written during the scan may stay.
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
        deleted, batch = 0, []
        async for key in self.redis.scan_iter(match=pattern, count=_SCAN_BATCH):
            batch.append(key)
            if len(batch) >= _SCAN_BATCH:
                deleted += await self.redis.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await self.redis.unlink(*batch)
        return deleted

    async def lock(self, key: str, token: str, ttl: float) -> bool:
        return bool(await self.redis.set(key, token, nx=True, px=ms(ttl)))

    async def unlock(self, key: str, token: str) -> None:
        await self.redis.eval(UNLOCK, 1, key, token)  # type: ignore[misc]

    async def _write(self, key: str, ttl: float | None, command: str, *args: object) -> object:
        """One write command, with the expiry of a new key in the same MULTI/EXEC."""
        try:
            if ttl is None:
                return await self.redis.execute_command(command, key, *args)  # type: ignore[no-untyped-call]
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.execute_command(command, key, *args)
                pipe.eval(EXPIRE_NEW, 1, key, ms(ttl))
                result, _ = await pipe.execute()
                return result  # type: ignore[no-any-return]
        except ResponseError as error:
            raise WrongKind(f"{key!r}: {error}") from None

    async def _read(self, command: str, key: str, *args: object) -> object:
        try:
            return await self._reads(lambda pipe: pipe.execute_command(command, key, *args))
        except ResponseError as error:
            raise WrongKind(f"{key!r}: {error}") from None

    async def incr(self, key: str, amount: int, ttl: float | None) -> int:
        return int(cast("int", await self._write(key, ttl, "INCRBY", amount)))

    async def zadd(self, key: str, scores: Mapping[str, float], ttl: float | None) -> int:
        flat = [item for member, score in scores.items() for item in (score, member)]
        return int(cast("int", await self._write(key, ttl, "ZADD", *flat)))

    async def zincrby(self, key: str, member: str, amount: float, ttl: float | None) -> float:
        return float(cast("bytes", await self._write(key, ttl, "ZINCRBY", amount, member)))

    async def zincrby_many(
        self, increments: Mapping[str, Mapping[str, float]], ttls: Mapping[str, float | None]
    ) -> dict[str, dict[str, float]]:
        args = zincrby_many_args(increments, ttls)
        try:  # EVALSHA, loading the script once if Redis lacks it
            replies = iter(await self._zincrby_many(keys=list(increments), args=args))
        except ResponseError as error:
            raise WrongKind(str(error)) from None
        return {
            key: {member: float(next(replies)) for member in amounts}
            for key, amounts in increments.items()
        }

    async def zscore(self, key: str, member: str) -> float | None:
        score = await self._read("ZSCORE", key, member)
        return None if score is None else float(cast("bytes", score))

    async def zrank(self, key: str, member: str, desc: bool) -> int | None:
        rank = await self._read("ZREVRANK" if desc else "ZRANK", key, member)
        return None if rank is None else int(cast("int", rank))

    async def zrange(self, key: str, start: int, stop: int, desc: bool) -> Scored:
        try:
            pairs = cast(
                "list[tuple[bytes, float]]",
                await self._reads(
                    lambda pipe: pipe.zrange(key, start, stop, desc=desc, withscores=True)
                ),
            )
        except ResponseError as error:
            raise WrongKind(f"{key!r}: {error}") from None
        return [(member.decode(), float(score)) for member, score in pairs]

    async def zrem(self, key: str, members: Sequence[str]) -> int:
        return int(cast("int", await self._write(key, None, "ZREM", *members)))

    async def zcard(self, key: str) -> int:
        return int(cast("int", await self._read("ZCARD", key)))

    async def ping(self) -> None:
        await self.redis.ping()  # type: ignore[misc]

    async def close(self) -> None:
        await self.redis.aclose()


class Shared:
    """What every view of one cache shares: the backend, its breaker, in-flight fills."""

    def __init__(
        self,
        backend: Backend,
        breaker: CircuitBreaker | None,
        namespace: str,
        default_ttl: float | None,
        lock_timeout: float,
    ) -> None:
        self.backend = backend
        self.breaker = breaker
        self.namespace = namespace
        self.default_ttl = default_ttl
        self.lock_timeout = lock_timeout
        self.inflight: dict[str, asyncio.Task[Any]] = {}
        self.failing = False
        self.last_warning = -_LOG_EVERY
        self.suppressed = 0

    def report(self, error: BaseException) -> None:
        now = time.monotonic()
        if now - self.last_warning < _LOG_EVERY:
            self.suppressed += 1
            return
        breaker = self.breaker
        last = breaker.last_error if breaker is not None else None
        log.warning(
            "cache backend unavailable, serving misses",
            error=last or f"{type(error).__name__}: {error}",
            suppressed=self.suppressed,
        )
        self.failing, self.last_warning, self.suppressed = True, now, 0

    def recovered(self) -> None:
        if self.failing:
            log.info("cache backend recovered")
            self.failing, self.last_warning, self.suppressed = False, -_LOG_EVERY, 0
