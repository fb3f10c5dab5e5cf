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

from kernel import ServiceUnavailable
from kernel.data.cache import Cache, create_cache

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


async def test_many_keys_in_one_call(cache: Cache) -> None:
    await cache.set_many({"a": {"n": 1}, "b": None, "c": [3]}, ttl=60)
    assert await cache.get_many(["a", "b", "missing", "c", "a"]) == {
        "a": {"n": 1},
        "b": None,  # a cached None is a hit
        "c": [3],
    }
    assert await cache.get_many([]) == {}
    await cache.delete_many(["a", "c", "missing"])
    assert await cache.get_many(["a", "b", "c"]) == {"b": None}
    await cache.set_many({"short": 1}, ttl=0.05)
    await asyncio.sleep(0.15)
    assert await cache.get_many(["short"]) == {}
    with pytest.raises(TypeError):
        await cache.set_many({"bad": object()})


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
    await cache.set_many({"k": "v"}, ttl=60)
    assert await cache.get_many(["k", "l"]) == {}
    await cache.delete_many(["k"])
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


# -- counters and sorted sets: the same answers on both backends -----------------------


async def test_counters_are_atomic_and_read_as_numbers(cache: Cache) -> None:
    view = cache.for_plugin("counting")
    assert await view.get_counter("views") == 0
    assert await view.incr("views") == 1
    assert await view.incr("views", 5) == 6
    assert await view.incr("views", -2) == 4
    results = await asyncio.gather(*(view.incr("views") for _ in range(50)))
    assert sorted(results) == list(range(5, 55))  # every increment seen, none lost
    assert await view.get_counter("views") == 54
    assert await view.get("views") == 54  # a counter reads as a number
    assert await cache.get_counter("views") == 0  # another view, another key
    await view.delete("views")
    assert await view.get_counter("views") == 0


async def test_a_counter_ttl_opens_a_window_that_later_increments_keep(cache: Cache) -> None:
    assert await cache.incr("window", ttl=0.3) == 1
    await asyncio.sleep(0.15)
    assert await cache.incr("window", ttl=0.3) == 2  # not extended by this one
    await asyncio.sleep(0.3)
    assert await cache.get_counter("window") == 0
    assert await cache.incr("forever") == 1  # no ttl: no default TTL either
    with pytest.raises(ValueError):
        await cache.incr("window", ttl=0)


async def test_sorted_sets_rank_by_descending_score_by_default(cache: Cache) -> None:
    board = cache.for_plugin("games")
    assert await board.zrange("board") == []
    assert await board.zcard("board") == 0
    assert await board.zadd("board", {"ana": 30, "bo": 10, "cy": 20, "di": 20}) == 4
    assert await board.zadd("board", {"bo": 15, "ed": 5}) == 1  # bo updated, ed new
    assert await board.zincrby("board", "ed", 2.5) == 7.5
    assert await board.zincrby("board", "fay") == 1.0
    assert await board.zscore("board", "cy") == 20.0
    assert await board.zscore("board", "nobody") is None
    # ties order by member: descending in the descending order, as ZREVRANGE does
    assert await board.zrange("board") == [
        ("ana", 30.0),
        ("di", 20.0),
        ("cy", 20.0),
        ("bo", 15.0),
        ("ed", 7.5),
        ("fay", 1.0),
    ]
    assert await board.zrange("board", 0, 1, with_scores=False) == ["ana", "di"]
    assert await board.zrange("board", -2, -1, with_scores=False) == ["ed", "fay"]
    assert await board.zrange("board", 0, 1, desc=False) == [("fay", 1.0), ("ed", 7.5)]
    assert await board.zrange("board", 4, 100, with_scores=False) == ["ed", "fay"]
    assert await board.zrange("board", 10, 20) == []
    assert [await board.zrank("board", m) for m in ("ana", "di", "cy", "fay")] == [0, 1, 2, 5]
    assert await board.zrank("board", "ana", desc=False) == 5
    assert await board.zrank("board", "nobody") is None
    assert await board.zcard("board") == 6
    assert await board.zrem("board", "ana", "nobody") == 1
    assert await board.zrem("board") == 0
    assert await board.zcard("board") == 5
    assert await board.zrem("board", "bo", "cy", "di", "ed", "fay") == 5
    assert await board.zcard("board") == 0  # gone, like an emptied Redis set
    results = await asyncio.gather(*(board.zincrby("race", "x", 1) for _ in range(50)))
    assert max(results) == 50.0 and await board.zscore("race", "x") == 50.0


async def test_many_increments_in_one_call_are_all_or_nothing(cache: Cache) -> None:
    boards = cache.for_plugin("games")
    assert await boards.zincrby_many({}) == {}
    await boards.zadd("week", {"ana": 10})
    assert await boards.zincrby_many(
        {"week": {"ana": 5, "bo": 2.5}, "all": {"ana": 1}}, ttl={"week": 60}
    ) == {"week": {"ana": 15.0, "bo": 2.5}, "all": {"ana": 1.0}}
    assert await boards.zrange("week") == [("ana", 15.0), ("bo", 2.5)]
    results = await asyncio.gather(
        *(boards.zincrby_many({"race": {"x": 1}, "all": {"x": 2}}) for _ in range(20))
    )
    assert max(r["race"]["x"] for r in results) == 20.0
    assert await boards.zscore("all", "x") == 40.0
    await boards.set("plain", {"a": 1})
    with pytest.raises(TypeError):  # a key of another kind: nothing is written
        await boards.zincrby_many({"week": {"ana": 100}, "plain": {"a": 1}})
    assert await boards.zscore("week", "ana") == 15.0
    with pytest.raises(ValueError):
        await boards.zincrby_many({"week": {"ana": 1}}, ttl=0)
    # the expiry of a key without one (for each key as given); later calls keep it
    await boards.zincrby_many({"day": {"a": 1}, "kept": {"a": 1}}, ttl={"day": 0.2})
    await boards.zincrby_many({"day": {"a": 1}}, ttl=60)
    await asyncio.sleep(0.3)
    assert await boards.zcard("day") == 0
    assert await boards.zcard("kept") == 1


async def test_sorted_set_ttl_and_kinds_do_not_mix(cache: Cache) -> None:
    await cache.zadd("daily", {"a": 1}, ttl=0.2)
    await cache.zincrby("daily", "a", 1, ttl=60)  # the window stays the first one
    await asyncio.sleep(0.3)
    assert await cache.zcard("daily") == 0
    await cache.set("plain", {"a": 1})
    await cache.incr("count")
    for call in (
        cache.incr("plain"),
        cache.zadd("plain", {"a": 1}),
        cache.zadd("count", {"a": 1}),
        cache.zscore("count", "a"),
    ):
        with pytest.raises(TypeError):
            await call
    await cache.zadd("set", {"a": 1})
    with pytest.raises(TypeError):
        await cache.incr("set")
    assert await cache.get("set") is None


async def test_counters_and_sorted_sets_raise_when_redis_is_down(namespace: str) -> None:
    cache = create_cache(DOWN_URL, namespace=namespace, timeout=0.2).for_plugin("outage")
    before = sample("lyo_cache_errors_total", "outage")
    try:
        for call in (
            cache.incr("n"),
            cache.get_counter("n"),
            cache.zadd("b", {"a": 1}),
            cache.zincrby("b", "a"),
            cache.zincrby_many({"b": {"a": 1}}),
            cache.zscore("b", "a"),
            cache.zrank("b", "a"),
            cache.zrange("b"),
            cache.zrem("b", "a"),
            cache.zcard("b"),
        ):
            with pytest.raises(ServiceUnavailable):
                await call
        assert sample("lyo_cache_errors_total", "outage") == before + 10
        assert await cache.get("v", default="miss") == "miss"  # values still degrade
    finally:
        await cache.close()
