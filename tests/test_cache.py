"""The cache, against real Redis (127.0.0.1:6379) and the in-process backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY, generate_latest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from kernel.cache import Cache, create_cache

REDIS_URL = "redis://127.0.0.1:6379/0"
DOWN_URL = "redis://127.0.0.1:1/0"  # nothing listens there


@pytest.fixture
def namespace() -> str:
    return f"lyotest-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture
async def redis_keys(namespace: str) -> AsyncIterator[Redis]:
    """A plain client on the test Redis; drops the test's namespace afterwards."""
    client = Redis.from_url(REDIS_URL)
    yield client
    keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest_asyncio.fixture(params=["memory", "redis"])
async def cache(
    request: pytest.FixtureRequest, namespace: str, redis_keys: Redis
) -> AsyncIterator[Cache]:
    made = create_cache(REDIS_URL if request.param == "redis" else None, namespace=namespace)
    yield made
    await made.close()


def sample(name: str, plugin: str) -> float:
    return REGISTRY.get_sample_value(name, {"plugin": plugin}) or 0.0


class Counting:
    """An async factory that counts its calls and takes a moment, like a real query."""

    def __init__(self, value: object = "computed", delay: float = 0.05) -> None:
        self.calls = 0
        self.value = value
        self.delay = delay

    async def __call__(self) -> object:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.value


async def test_set_get_delete_round_trip_json(cache: Cache) -> None:
    value = {"title": "Algebra", "lessons": [1, 2, 3], "draft": False, "score": 1.5}
    await cache.set("course:1", value, ttl=60)
    assert await cache.get("course:1") == value
    assert await cache.get("nothing", default="fallback") == "fallback"
    await cache.delete("course:1")
    assert await cache.get("course:1") is None


async def test_values_must_be_json(cache: Cache) -> None:
    with pytest.raises(TypeError):
        await cache.set("bad", object())
    with pytest.raises(ValueError):
        await cache.set("bad", 1, ttl=0)


async def test_ttl_expires(cache: Cache) -> None:
    await cache.set("short", "soon gone", ttl=0.1)
    await cache.set("long", "stays", ttl=60)
    assert await cache.get("short") == "soon gone"
    await asyncio.sleep(0.25)
    assert await cache.get("short") is None
    assert await cache.get("long") == "stays"


async def test_incr_is_an_atomic_counter_with_a_fixed_window(cache: Cache) -> None:
    assert await cache.incr("hits", ttl=0.3) == 1
    results = await asyncio.gather(*(cache.incr("hits", ttl=60) for _ in range(50)))
    assert sorted(results) == list(range(2, 52))  # each increment saw its own value
    assert await cache.incr("hits", -2) == 49
    assert await cache.get("hits") == 49  # a plain int to get, too
    await asyncio.sleep(0.5)  # the first increment's ttl, not extended by the others
    assert await cache.get("hits") is None
    assert await cache.incr("hits", 5, ttl=60) == 5
    await cache.set("text", "not a counter", ttl=60)
    with pytest.raises(TypeError):
        await cache.incr("text")
    assert await cache.incr("hits") == 6  # a wrong key is the caller's bug, not an outage


async def test_delete_prefix_drops_only_matching_keys(cache: Cache) -> None:
    for key in ("user:1", "user:2", "user*x", "course:1"):
        await cache.set(key, key, ttl=60)
    assert await cache.delete_prefix("user*") == 1  # glob characters are literal
    assert await cache.delete_prefix("user:") == 2
    assert await cache.get("user:1") is None
    assert await cache.get("course:1") == "course:1"


async def test_plugins_are_isolated(cache: Cache, namespace: str) -> None:
    alpha, beta = cache.for_plugin("alpha"), cache.for_plugin("beta")
    assert alpha.key("k") == f"{namespace}:alpha:k"
    await alpha.set("k", "a", ttl=60)
    await beta.set("k", "b", ttl=60)
    assert (await alpha.get("k"), await beta.get("k"), await cache.get("k")) == ("a", "b", None)
    assert await alpha.delete_prefix() == 1
    assert await alpha.get("k") is None
    assert await beta.get("k") == "b"
    with pytest.raises(ValueError):
        cache.for_plugin("Not A Plugin")


async def test_concurrent_misses_compute_once(cache: Cache) -> None:
    factory = Counting({"n": 42})
    results = await asyncio.gather(*(cache.get_or_set("hot", factory, 60) for _ in range(50)))
    assert factory.calls == 1
    assert results == [{"n": 42}] * 50
    assert await cache.get_or_set("hot", factory, 60) == {"n": 42}
    assert factory.calls == 1


async def test_cached_none_is_a_hit(cache: Cache) -> None:
    factory = Counting(None, delay=0)
    assert await cache.get_or_set("none", factory, 60) is None
    assert await cache.get_or_set("none", factory, 60) is None
    assert factory.calls == 1


async def test_a_failing_factory_fails_every_waiter_and_stores_nothing(cache: Cache) -> None:
    calls = 0

    async def broken() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise LookupError("upstream said no")

    results = await asyncio.gather(
        *(cache.get_or_set("flaky", broken, 60) for _ in range(10)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(result, LookupError) for result in results)
    assert await cache.get_or_set("flaky", Counting("fine", delay=0), 60) == "fine"


async def test_a_cancelled_caller_does_not_cancel_the_others(cache: Cache) -> None:
    factory = Counting("done", delay=0.1)
    first = asyncio.create_task(cache.get_or_set("k", factory, 60))
    await asyncio.sleep(0.02)
    second = asyncio.create_task(cache.get_or_set("k", factory, 60))
    await asyncio.sleep(0.02)
    first.cancel()
    assert await second == "done"
    assert factory.calls == 1


async def test_processes_sharing_redis_compute_once(namespace: str, redis_keys: Redis) -> None:
    # Two caches are two processes: they share Redis and nothing else.
    caches = [create_cache(REDIS_URL, namespace=namespace) for _ in range(2)]
    factory = Counting("shared", delay=0.2)
    results = await asyncio.gather(
        *(caches[i % 2].get_or_set("hot", factory, 60) for i in range(20))
    )
    assert results == ["shared"] * 20
    assert factory.calls == 1
    assert not [key async for key in redis_keys.scan_iter(match=f"{namespace}:-lock:*")]
    for made in caches:
        await made.close()


async def test_cached_decorator(cache: Cache) -> None:
    calls: list[tuple[int, str]] = []
    plugin = cache.for_plugin("deco")

    @plugin.cached(ttl=60)
    async def course(course_id: int, lang: str = "en") -> dict[str, object]:
        calls.append((course_id, lang))
        return {"id": course_id, "lang": lang}

    @plugin.cached(ttl=60, key=lambda user_id: f"profile:{user_id}")
    async def profile(user_id: int) -> str:
        calls.append((user_id, "profile"))
        return f"user {user_id}"

    assert await course(1) == {"id": 1, "lang": "en"}
    assert await course(1) == {"id": 1, "lang": "en"}
    assert await course(1, lang="fr") == {"id": 1, "lang": "fr"}
    assert course.__name__ == "course"
    assert await profile(7) == await profile(7) == "user 7"
    assert calls == [(1, "en"), (1, "fr"), (7, "profile")]

    await plugin.delete("profile:7")
    await profile(7)
    assert await plugin.delete_prefix(f"{course.__module__}.{course.__qualname__}:") == 2
    await course(1)
    assert calls[-2:] == [(7, "profile"), (1, "en")]


async def test_hits_and_misses_are_counted_in_metrics(cache: Cache) -> None:
    plugin = cache.for_plugin("metered")
    hits = sample("lyo_cache_hits_total", "metered")
    misses = sample("lyo_cache_misses_total", "metered")
    await plugin.get("absent")
    await plugin.set("present", 1, ttl=60)
    await plugin.get("present")
    await plugin.get("present")
    assert sample("lyo_cache_hits_total", "metered") == hits + 2
    assert sample("lyo_cache_misses_total", "metered") == misses + 1
    text = generate_latest(REGISTRY).decode()
    assert 'lyo_cache_hits_total{plugin="metered"}' in text
    assert 'lyo_cache_misses_total{plugin="metered"}' in text


async def test_memory_backend_is_a_bounded_lru() -> None:
    cache = create_cache(None, max_entries=3)
    assert cache.backend == "memory" and cache.breaker is None
    for key in ("a", "b", "c"):
        await cache.set(key, key)
    await cache.get("a")  # now the most recently used
    await cache.set("d", "d")
    assert [await cache.get(key) for key in ("a", "b", "c", "d")] == ["a", None, "c", "d"]


async def test_a_redis_outage_degrades_to_misses(namespace: str) -> None:
    cache = create_cache(DOWN_URL, namespace=namespace, timeout=0.2).for_plugin("outage")
    assert cache.backend == "redis"
    errors = sample("lyo_cache_errors_total", "outage")
    await cache.set("k", "v", ttl=60)
    assert await cache.get("k") is None
    assert await cache.incr("n") is None  # unknown, not an error
    assert await cache.delete_prefix("") == 0
    await cache.delete("k")
    factory = Counting("computed anyway")
    results = await asyncio.gather(*(cache.get_or_set("k", factory, 60) for _ in range(10)))
    assert results == ["computed anyway"] * 10
    assert factory.calls == 1  # in-process stampede protection still holds

    @cache.cached(ttl=60)
    async def double(n: int) -> int:
        return n * 2

    assert await double(21) == 42
    assert sample("lyo_cache_errors_total", "outage") > errors
    assert cache.breaker is not None and cache.breaker.state == "open"
    with pytest.raises(RedisConnectionError):
        await cache.ping()
    await cache.close()


async def test_a_redis_that_never_answers_times_out_into_misses(namespace: str) -> None:
    # A real TCP server that accepts connections and never replies: socket timeouts apply.
    connections: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cache = create_cache(f"redis://127.0.0.1:{port}/0", namespace=namespace, timeout=0.1)
    try:
        assert await cache.get("k") is None
        assert await cache.get_or_set("k", Counting("fresh", delay=0), 60) == "fresh"
    finally:
        await cache.close()
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()
