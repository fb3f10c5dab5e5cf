"""Counters and sorted sets of :class:`kernel.Cache`: data, not cache entries.

Atomic on Redis, never given the default TTL (only the ``ttl`` passed, which starts when
the key is created and is never extended), and when Redis is down they raise
:class:`kernel.ServiceUnavailable` rather than answer 0 or an empty board, which would
be wrong answers, not misses (the module docstring of :mod:`kernel.data.cache`).
A mixin of :class:`kernel.Cache`, which sets ``_shared``, ``plugin`` and ``prefix``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from prometheus_client import Counter
from redis.exceptions import RedisError

from kernel.data.cache_backends import Scored, WrongKind
from kernel.errors import CircuitOpen, ServiceUnavailable

if TYPE_CHECKING:
    from kernel.data.cache_backends import Shared

T = TypeVar("T")

CACHE_HITS = Counter("lyo_cache_hits", "Cache lookups that found a value.", ["plugin"])
CACHE_MISSES = Counter("lyo_cache_misses", "Cache lookups that found nothing.", ["plugin"])
CACHE_ERRORS = Counter(
    "lyo_cache_errors",
    "Cache operations that could not use Redis and fell back to a miss or a no-op.",
    ["plugin"],
)


class CacheData:
    """The counter and sorted-set operations of :class:`kernel.Cache`."""

    _shared: Shared
    plugin: str
    prefix: str

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` to the counter ``key`` (a missing one counts from 0), atomically
        across processes; the new value. ``ttl`` sets the expiry of a counter without
        one, so the window opens at the first increment; ``None``: no expiry."""
        return await self._strict(
            self._shared.backend.incr, self.prefix + key, amount, self._window(ttl)
        )

    async def get_counter(self, key: str) -> int:
        """The counter ``key``'s value, 0 when there is none."""
        raw = await self._strict(self._shared.backend.get, self.prefix + key)
        return 0 if raw is None else int(raw)

    async def zadd(self, key: str, scores: Mapping[str, float], ttl: float | None = None) -> int:
        """Set the scores of members (``{member: score}``) of sorted set ``key``; how many
        members are new. ``ttl`` as for :meth:`incr`."""
        return await self._strict(
            self._shared.backend.zadd, self.prefix + key, scores, self._window(ttl)
        )

    async def zincrby(
        self, key: str, member: str, amount: float = 1, ttl: float | None = None
    ) -> float:
        """Add ``amount`` to ``member``'s score (from 0), atomically; the new score."""
        return await self._strict(
            self._shared.backend.zincrby, self.prefix + key, member, amount, self._window(ttl)
        )

    async def zincrby_many(
        self,
        increments: Mapping[str, Mapping[str, float]],
        ttl: float | Mapping[str, float] | None = None,
    ) -> dict[str, dict[str, float]]:
        """Add to the scores of several members of several sorted sets (``{key: {member:
        amount}}``) atomically, all or nothing, in one Redis round trip; the new scores,
        in the same shape. ``ttl`` as for :meth:`incr`: one for every key, or ``{key:
        ttl}`` (a key left out gets none)."""
        if not increments:
            return {}
        if ttl is None or isinstance(ttl, int | float):
            ttls = dict.fromkeys(increments, self._window(ttl))
        else:
            ttls = {key: self._window(ttl.get(key)) for key in increments}
        prefix = self.prefix
        scores = await self._strict(
            self._shared.backend.zincrby_many,
            {prefix + key: amounts for key, amounts in increments.items()},
            {prefix + key: each for key, each in ttls.items()},
        )
        return {key[len(prefix) :]: each for key, each in scores.items()}

    async def zscore(self, key: str, member: str) -> float | None:
        """``member``'s score, ``None`` when it is not in the set."""
        return await self._strict(self._shared.backend.zscore, self.prefix + key, member)

    async def zrank(self, key: str, member: str, desc: bool = True) -> int | None:
        """``member``'s 0-based rank, ``None`` when absent. ``desc`` (the default, for
        leaderboards): rank 0 has the highest score; ties rank by member, descending
        (Redis's ``ZREVRANK``). ``desc=False``: rank 0 has the lowest (``ZRANK``)."""
        return await self._strict(self._shared.backend.zrank, self.prefix + key, member, desc)

    @overload
    async def zrange(
        self,
        key: str,
        start: int = 0,
        stop: int = -1,
        desc: bool = True,
        with_scores: Literal[True] = True,
    ) -> Scored: ...
    @overload
    async def zrange(
        self, key: str, start: int, stop: int, desc: bool, with_scores: Literal[False]
    ) -> list[str]: ...
    @overload
    async def zrange(
        self,
        key: str,
        start: int = 0,
        stop: int = -1,
        desc: bool = True,
        *,
        with_scores: Literal[False],
    ) -> list[str]: ...
    async def zrange(
        self,
        key: str,
        start: int = 0,
        stop: int = -1,
        desc: bool = True,
        with_scores: bool = True,
    ) -> Scored | list[str]:
        """Members from rank ``start`` to rank ``stop``, both included (negative counts
        from the end: ``0, 9`` is the top ten, ``0, -1`` all), in the order of
        :meth:`zrank`; ``[(member, score), ...]``, or members alone without
        ``with_scores``."""
        scored = await self._strict(
            self._shared.backend.zrange, self.prefix + key, start, stop, desc
        )
        return scored if with_scores else [member for member, _ in scored]

    async def zrem(self, key: str, *members: str) -> int:
        """Remove ``members``; how many were there. An emptied set disappears."""
        if not members:
            return 0
        return await self._strict(self._shared.backend.zrem, self.prefix + key, members)

    async def zcard(self, key: str) -> int:
        """How many members sorted set ``key`` has (0 when there is none)."""
        return await self._strict(self._shared.backend.zcard, self.prefix + key)

    # -- internals

    def _window(self, ttl: float | None) -> float | None:
        if ttl is not None and ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        return ttl

    async def _strict(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)``; raises :class:`kernel.ServiceUnavailable` when Redis
        fails or its breaker is open (counters and sorted sets have no fallback), and
        :class:`WrongKind` (a TypeError) for a key of another kind."""
        shared = self._shared
        if shared.breaker is None:
            return await fn(*args)
        try:
            async with shared.breaker:
                try:
                    result = await fn(*args)
                except WrongKind as error:
                    wrong: WrongKind | None = error  # the caller's bug, not an outage
                else:
                    wrong = None
        except (RedisError, OSError, CircuitOpen) as error:
            CACHE_ERRORS.labels(self.plugin).inc()
            shared.report(error)
            raise ServiceUnavailable("The cache is unavailable; retry shortly.") from error
        shared.recovered()
        if wrong is not None:
            raise wrong
        return result
