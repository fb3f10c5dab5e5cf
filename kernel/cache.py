"""The kernel's cache: Redis when configured, in-process memory otherwise.

``create_cache(settings.redis_url)`` gives the kernel's cache; ``cache.for_plugin("learning")``
a view whose keys live under ``<namespace>:learning:``, so plugins never collide and one
plugin's keys can be dropped at once with ``delete_prefix("")``.

- Values are stored as JSON (orjson): ``dict``, ``list``, ``str``, numbers, ``bool`` and
  ``None`` (also dataclasses, datetimes and UUIDs, which come back as dicts and strings).
  Anything else raises :class:`TypeError` on ``set``, whatever the backend, so code that
  works on the memory backend works on Redis too. A cached ``None`` is a hit.
- ``ttl`` is in seconds; ``None`` means the cache's ``default_ttl``.
- ``incr(key, amount, ttl)`` is an atomic counter (``INCRBY`` in Redis): the new
  value, a plain int that ``get`` also reads. ``ttl`` starts when the counter is
  created and is not extended by later increments (a fixed window), so
  ``incr(f"hits:{minute}", ttl=60)`` counts per window. During an outage it answers
  ``None`` (unknown), never an error.
- ``get_or_set`` and ``@cache.cached`` protect against stampedes: concurrent misses on one
  key in a process share one computation, and with Redis a short lock (``SET NX PX``)
  lets one process compute while the others poll for its result, computing themselves
  only if it does not come within ``lock_timeout``. The factory runs in its own task
  (with a copy of the caller's context), so a caller that is cancelled does not cancel
  it for the others waiting on it.
- A Redis outage degrades to misses and no-ops, never to errors: failures are counted in
  ``lyo_cache_errors_total``, logged at most every 30 s, and after a few in a row a
  circuit breaker skips Redis for a few seconds, so requests do not each wait for a
  timeout. ``lyo_cache_hits_total`` and ``lyo_cache_misses_total`` count lookups; all
  three are labelled by plugin (``kernel`` for the kernel's own view).
- The memory backend serves one process (development and tests): a bounded LRU
  (``max_entries``) whose entries also expire by TTL.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, ParamSpec, Protocol, TypeVar, cast

import orjson
import structlog
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from kernel.breaker import CircuitBreaker
from kernel.errors import CircuitOpen
from kernel.manifest import NAME_PATTERN

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

CACHE_HITS = Counter("lyo_cache_hits", "Cache lookups that found a value.", ["plugin"])
CACHE_MISSES = Counter("lyo_cache_misses", "Cache lookups that found nothing.", ["plugin"])
CACHE_ERRORS = Counter(
    "lyo_cache_errors",
    "Cache operations that could not use Redis and fell back to a miss or a no-op.",
    ["plugin"],
)

log = structlog.get_logger("lyo.cache")

_LOG_EVERY = 30.0  # seconds between two warnings about the same outage
_POLL = 0.05  # seconds between two looks for the value another process is computing
_SCAN_BATCH = 500
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
# INCRBY, and an expiry for a counter it just created (a fixed window from then)
_INCR = """
local fresh = redis.call('exists', KEYS[1]) == 0
local value = redis.call('incrby', KEYS[1], ARGV[1])
if fresh and tonumber(ARGV[2]) > 0 then
  redis.call('pexpire', KEYS[1], ARGV[2])
end
return value
"""


class _Backend(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float | None) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def incr(self, key: str, amount: int, ttl: float | None) -> int: ...
    async def delete_prefix(self, prefix: str) -> int: ...
    async def lock(self, key: str, token: str, ttl: float) -> bool: ...
    async def unlock(self, key: str, token: str) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class _MemoryBackend:
    """A bounded LRU with per-entry expiry; one process only."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[bytes, float | None]] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float | None) -> None:
        self._entries[key] = (value, None if ttl is None else time.monotonic() + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def incr(self, key: str, amount: int, ttl: float | None) -> int:
        raw = await self.get(key)  # no await between this and the store: atomic
        if raw is None:
            value = amount
            await self.set(key, orjson.dumps(value), ttl)
            return value
        value = _counter(raw) + amount
        self._entries[key] = (orjson.dumps(value), self._entries[key][1])  # keeps its expiry
        return value

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

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()


class _RedisBackend:
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

    async def get(self, key: str) -> bytes | None:
        return cast("bytes | None", await self.redis.get(key))  # decode_responses is off

    async def set(self, key: str, value: bytes, ttl: float | None) -> None:
        await self.redis.set(key, value, px=None if ttl is None else max(1, round(ttl * 1000)))

    async def delete(self, key: str) -> None:
        await self.redis.unlink(key)

    async def incr(self, key: str, amount: int, ttl: float | None) -> int:
        px = 0 if ttl is None else max(1, round(ttl * 1000))
        try:
            return int(await self.redis.eval(_INCR, 1, key, amount, px))  # type: ignore[misc]
        except ResponseError as error:  # not an integer: the caller's bug, not an outage
            raise TypeError("the cache key does not hold a counter") from error

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
        return bool(await self.redis.set(key, token, nx=True, px=max(1, round(ttl * 1000))))

    async def unlock(self, key: str, token: str) -> None:
        await self.redis.eval(_UNLOCK, 1, key, token)  # type: ignore[misc]

    async def ping(self) -> None:
        await self.redis.ping()  # type: ignore[misc]

    async def close(self) -> None:
        await self.redis.aclose()


class _Shared:
    """What every view of one cache shares: the backend, its breaker, in-flight fills."""

    def __init__(
        self,
        backend: _Backend,
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


class Cache:
    """A view of the cache whose keys are prefixed ``<namespace>:<plugin>:``.

    Make one with :func:`create_cache`, and one per plugin with :meth:`for_plugin`.
    """

    def __init__(self, shared: _Shared, plugin: str) -> None:
        self._shared = shared
        self.plugin = plugin
        self.prefix = f"{shared.namespace}:{plugin}:"

    @property
    def backend(self) -> Literal["redis", "memory"]:
        return "redis" if self._shared.breaker is not None else "memory"

    @property
    def breaker(self) -> CircuitBreaker | None:
        """The breaker around Redis (``None`` for the memory backend)."""
        return self._shared.breaker

    def for_plugin(self, name: str) -> Cache:
        """The view of plugin ``name``: keys under ``<namespace>:<name>:``."""
        if not NAME_PATTERN.match(name):
            raise ValueError(f"invalid plugin name {name!r}: expected {NAME_PATTERN.pattern}")
        return Cache(self._shared, name)

    def key(self, key: str) -> str:
        """The full key in the backend."""
        return self.prefix + key

    async def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key``, or ``default`` on a miss (or when Redis is down)."""
        raw = await self._lookup(self.key(key))
        return default if raw is None else orjson.loads(raw)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store a JSON-able ``value`` for ``ttl`` seconds (``None``: the default TTL)."""
        await self._store(self.key(key), value, ttl)

    async def delete(self, key: str) -> None:
        await self._safely(None, self._shared.backend.delete, self.key(key))

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int | None:
        """Add ``amount`` (negative: subtract) to the counter under ``key``, atomically
        across processes with Redis; the new value. A missing key counts from 0 and
        expires ``ttl`` seconds (``None``: the default TTL) after this first increment;
        later increments keep that expiry. ``None`` when Redis cannot be reached.
        Raises :class:`TypeError` if ``key`` holds something other than an int."""
        return await self._safely(
            None, self._shared.backend.incr, self.key(key), amount, self._ttl(ttl)
        )

    async def delete_prefix(self, prefix: str = "") -> int:
        """Drop every key of this view starting with ``prefix`` (all of them for ``""``);
        returns how many were dropped."""
        return await self._safely(0, self._shared.backend.delete_prefix, self.key(prefix))

    async def get_or_set(
        self, key: str, factory: Callable[[], Awaitable[T]], ttl: float | None = None
    ) -> T:
        """The cached value, or ``await factory()`` stored for ``ttl`` seconds.

        Concurrent misses on ``key`` call ``factory`` once (per cluster, with Redis); if
        it raises, every waiter gets the exception and nothing is stored.
        """
        full, ttl = self.key(key), self._ttl(ttl)
        raw = await self._lookup(full)
        if raw is not None:
            return orjson.loads(raw)  # type: ignore[no-any-return]
        inflight = self._shared.inflight
        task = inflight.get(full)
        if task is None:
            task = asyncio.create_task(self._fill(full, factory, ttl))
            inflight[full] = task
            task.add_done_callback(functools.partial(_forget, inflight, full))
        return await asyncio.shield(task)  # type: ignore[no-any-return]

    def cached(
        self, ttl: float | None = None, *, key: Callable[..., str] | None = None
    ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Coroutine[Any, Any, R]]]:
        """Cache an async function's results through :meth:`get_or_set`.

        ``key(*args, **kwargs)`` names the entry; by default it is
        ``<module>.<qualname>:<hash of the JSON of the arguments>``, so
        ``delete_prefix("<module>.<qualname>:")`` forgets every result of the function.
        Arguments that are not JSON-able need an explicit ``key``.
        """

        def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
            name = f"{fn.__module__}.{fn.__qualname__}"

            @functools.wraps(fn)
            async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                entry = key(*args, **kwargs) if key is not None else _call_key(name, args, kwargs)
                return await self.get_or_set(entry, lambda: fn(*args, **kwargs), ttl)

            return wrapper

        return decorate

    async def ping(self) -> None:
        """Raise if the backend cannot be reached (a health check; skips the breaker)."""
        await self._shared.backend.ping()

    async def close(self) -> None:
        """Cancel fills in flight and close the backend; the cache is unusable after."""
        for task in list(self._shared.inflight.values()):
            task.cancel()
        await self._shared.backend.close()

    # -- internals -------------------------------------------------------------------------

    async def _lookup(self, full: str) -> bytes | None:
        raw = await self._safely(None, self._shared.backend.get, full)
        (CACHE_MISSES if raw is None else CACHE_HITS).labels(self.plugin).inc()
        return raw

    async def _store(self, full: str, value: Any, ttl: float | None) -> None:
        data = orjson.dumps(value)  # a TypeError here is the caller's bug: raise it
        await self._safely(None, self._shared.backend.set, full, data, self._ttl(ttl))

    def _ttl(self, ttl: float | None) -> float | None:
        ttl = self._shared.default_ttl if ttl is None else ttl
        if ttl is not None and ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl}")
        return ttl

    async def _fill(
        self, full: str, factory: Callable[[], Awaitable[Any]], ttl: float | None
    ) -> Any:
        shared, backend = self._shared, self._shared.backend
        lock_key = f"{shared.namespace}:-lock:{full.removeprefix(shared.namespace + ':')}"
        token = uuid.uuid4().hex
        locked = False
        if shared.breaker is not None:
            deadline = time.monotonic() + shared.lock_timeout
            while True:
                # A fallback True (Redis down) means: compute here, without a lock.
                locked = await self._safely(
                    True, backend.lock, lock_key, token, shared.lock_timeout
                )
                # Checked again under the lock: another process may just have stored it.
                raw = await self._safely(None, backend.get, full)
                if raw is not None:
                    if locked:
                        await self._safely(None, backend.unlock, lock_key, token)
                    return orjson.loads(raw)
                if locked or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(_POLL)
        try:
            value = await factory()
            await self._store(full, value, ttl)
        finally:
            if locked:
                await self._safely(None, backend.unlock, lock_key, token)
        return value

    async def _safely(self, fallback: T, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)``, or ``fallback`` when Redis fails or its breaker is open."""
        shared = self._shared
        if shared.breaker is None:
            return await fn(*args)
        try:
            async with shared.breaker:
                result = await fn(*args)
        except (RedisError, OSError, CircuitOpen) as error:
            CACHE_ERRORS.labels(self.plugin).inc()
            shared.report(error)
            return fallback
        shared.recovered()
        return result


def _counter(raw: bytes) -> int:
    value = orjson.loads(raw)
    if type(value) is not int:
        raise TypeError("the cache key does not hold a counter")
    return value


def _forget(inflight: dict[str, asyncio.Task[Any]], full: str, task: asyncio.Task[Any]) -> None:
    if inflight.get(full) is task:
        del inflight[full]
    if not task.cancelled():
        task.exception()  # retrieved: waiters got it, or nobody was left to care


def _call_key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    try:
        data = orjson.dumps([args, kwargs], option=orjson.OPT_SORT_KEYS)
    except TypeError as error:
        raise TypeError(f"{name}: arguments are not JSON-able; pass cached(key=...)") from error
    return f"{name}:{hashlib.blake2b(data, digest_size=16).hexdigest()}"


def create_cache(
    redis_url: str | None,
    *,
    namespace: str = "lyo",
    default_ttl: float | None = 300.0,
    max_entries: int = 10_000,
    timeout: float = 0.5,
    lock_timeout: float = 10.0,
) -> Cache:
    """The kernel's cache (its own view, plugin label ``kernel``).

    With ``redis_url``, Redis, with ``timeout`` seconds to connect and to answer;
    without, a per-process LRU of ``max_entries``. ``lock_timeout`` bounds how long a
    stampede lock is held and how long other processes wait for its result.
    Redis connections are made on first use and belong to that event loop: use one
    cache from one loop, and :meth:`Cache.close` it when the process stops.
    """
    backend: _Backend
    breaker = None
    if redis_url:
        backend = _RedisBackend(redis_url, timeout)
        breaker = CircuitBreaker(
            "kernel:cache", failure_threshold=3, reset_timeout=5.0, expected=(RedisError, OSError)
        )
    else:
        backend = _MemoryBackend(max_entries)
    return Cache(_Shared(backend, breaker, namespace, default_ttl, lock_timeout), "kernel")
