"""The kernel's cache: Redis when configured, in-process memory otherwise.

``create_cache(settings.redis_url)`` gives the kernel's cache; ``cache.for_plugin("learning")``
a view whose keys live under ``<namespace>:learning:``, so plugins never collide and one
plugin's keys can be dropped at once with ``delete_prefix("")``.

- Values are stored as JSON (orjson): ``dict``, ``list``, ``str``, numbers, ``bool`` and
  ``None`` (also dataclasses, datetimes and UUIDs, which come back as dicts and strings).
  Anything else raises :class:`TypeError` on ``set``, whatever the backend, so code that
  works on the memory backend works on Redis too. A cached ``None`` is a hit.
- ``ttl`` is in seconds; ``None`` means the cache's ``default_ttl``.
- ``get_many``, ``set_many`` and ``delete_many`` do several keys in one Redis round trip
  (``MGET``, pipelined ``SET``s, ``UNLINK``): a request that needs three entries pays for
  one trip, not three.
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
- Counters (``incr``, ``get_counter``) and sorted sets (``zadd``, ``zincrby``,
  ``zincrby_many``, ``zscore``, ``zrank``, ``zrange``, ``zrem``, ``zcard``) are data,
  not cache entries: atomic on Redis, never given the default TTL (only the ``ttl``
  passed, which starts when the key is created and is never extended), and when Redis
  is down they raise :class:`kernel.ServiceUnavailable` (a 503 in a request) rather
  than answer 0 or an empty board, which would be wrong answers, not misses. The
  breaker and the error counter are the same as for values. A key used as another
  kind raises ``TypeError`` (:class:`kernel.cache_backends.WrongKind`); they live in
  :mod:`kernel.data.cache_data`. Backends: :mod:`kernel.cache_backends`.
- The memory backend serves one process (development and tests): a bounded LRU
  (``max_entries``) whose entries also expire by TTL.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, Literal, ParamSpec, TypeVar

import orjson
from redis.exceptions import RedisError

from kernel.breaker import CircuitBreaker
from kernel.data.cache_backends import (
    Backend,
    MemoryBackend,
    RedisBackend,
    Shared,
)
from kernel.data.cache_data import CACHE_ERRORS, CACHE_HITS, CACHE_MISSES, CacheData
from kernel.errors import CircuitOpen
from kernel.names import name_problem

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

_POLL = 0.05  # seconds between two looks for the value another process is computing


class Cache(CacheData):
    """A view of the cache whose keys are prefixed ``<namespace>:<plugin>:``.

    Make one with :func:`create_cache`, and one per plugin with :meth:`for_plugin`.
    """

    def __init__(self, shared: Shared, plugin: str) -> None:
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
        problem = name_problem(name, reserved=False)
        if problem is not None:
            raise ValueError(problem)
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

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """``{key: value}`` for the ``keys`` found (misses are left out), in one round trip
        (``MGET``); nothing is found when Redis is down."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        fallback: list[bytes | None] = [None] * len(wanted)
        found = await self._safely(
            fallback, self._shared.backend.get_many, [self.key(k) for k in wanted]
        )
        hits = sum(raw is not None for raw in found)
        CACHE_HITS.labels(self.plugin).inc(hits)
        CACHE_MISSES.labels(self.plugin).inc(len(wanted) - hits)
        return {
            k: orjson.loads(raw) for k, raw in zip(wanted, found, strict=True) if raw is not None
        }

    async def set_many(self, values: Mapping[str, Any], ttl: float | None = None) -> None:
        """Store several JSON-able values, each for ``ttl`` seconds, in one round trip."""
        if values:
            data = {self.key(k): orjson.dumps(v) for k, v in values.items()}
            await self._safely(None, self._shared.backend.set_many, data, self._ttl(ttl))

    async def delete_many(self, keys: Iterable[str]) -> None:
        """Forget several entries in one round trip."""
        full = [self.key(k) for k in dict.fromkeys(keys)]
        if full:
            await self._safely(None, self._shared.backend.delete_many, full)

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
    backend: Backend
    breaker = None
    if redis_url:
        backend = RedisBackend(redis_url, timeout)
        breaker = CircuitBreaker(
            "kernel:cache", failure_threshold=3, reset_timeout=5.0, expected=(RedisError, OSError)
        )
    else:
        backend = MemoryBackend(max_entries)
    return Cache(Shared(backend, breaker, namespace, default_ttl, lock_timeout), "kernel")
