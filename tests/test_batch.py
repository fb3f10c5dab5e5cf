"""Group commit (kernel.batch): shared statements and shared Redis round trips."""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from kernel.data.batch import Batch, RedisPipe

REDIS_URL = os.environ.get("LYO_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def test_a_failing_shared_statement_fails_only_its_bad_item() -> None:
    statements: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        statements.append(items)
        await asyncio.sleep(0)
        if -1 in items:
            raise ValueError("bad item")
        return [item * 2 for item in items]

    batch = Batch(flush)
    answers = await asyncio.gather(*(batch(i) for i in (1, 2, -1, 3)), return_exceptions=True)
    assert answers[:2] == [2, 4] and answers[3] == 6
    assert isinstance(answers[2], ValueError)
    # one statement for all, then one each in their order (a run's finish before its lease)
    assert statements == [[1, 2, -1, 3], [1], [2], [-1], [3]]


async def test_a_cancelled_flush_or_a_wrong_answer_never_leaves_a_caller_waiting() -> None:
    started = asyncio.Event()

    async def hang(items: list[int]) -> list[int]:
        started.set()
        await asyncio.sleep(3600)
        return items

    batch = Batch(hang)
    waiting = batch.submit(1)
    await started.wait()
    assert batch._flusher is not None
    batch._flusher.cancel()  # the loop closing under a flush in flight
    await asyncio.wait([waiting], timeout=5)
    assert waiting.cancelled()

    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    wrong = Batch(short, singly=False)
    with pytest.raises(RuntimeError, match="1 answers to 2 items"):
        await asyncio.gather(*(wrong(i) for i in (1, 2)))


async def test_calls_made_during_a_flush_share_the_next_one() -> None:
    flushes: list[list[int]] = []

    async def flush(items: list[int]) -> list[Any]:
        flushes.append(items)
        await asyncio.sleep(0.01)
        # an answer that is an exception goes to its caller alone
        return [KeyError(item) if item == 5 else item for item in items]

    batch = Batch(flush, singly=False)
    first = batch.submit(1)
    await asyncio.sleep(0)  # the first flush is in flight
    rest = [batch.submit(n) for n in (2, 3, 4, 5)]
    await batch.settle()
    assert flushes == [[1], [2, 3, 4, 5]]
    assert [f.result() for f in (first, *rest[:3])] == [1, 2, 3, 4]
    assert isinstance(rest[3].exception(), KeyError)


@pytest.mark.parametrize(
    ("linger", "expected"),
    [(0, [[1], [2, 3], [11], [12, 13]]), (2, [[1], [2, 3, 11], [12, 13]])],
)
async def test_with_linger_callers_a_flush_answered_join_the_next(
    linger: int, expected: list[list[int]]
) -> None:
    flushes: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushes.append(sorted(items))
        await asyncio.sleep(0.01)
        return items

    batch = Batch(flush, linger=linger)

    async def twice(n: int) -> None:  # a task's lease, then its finish
        await batch(n)
        await batch(n + 10)

    first = asyncio.ensure_future(twice(1))
    await asyncio.sleep(0)  # [1] in flight
    await asyncio.gather(first, twice(2), twice(3))
    assert flushes == expected


async def test_without_singly_a_failed_flush_fails_all_at_once() -> None:
    flushes: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushes.append(items)
        raise ConnectionError("down")

    batch = Batch(flush, singly=False)
    answers = await asyncio.gather(*(batch(i) for i in (1, 2, 3)), return_exceptions=True)
    assert all(isinstance(a, ConnectionError) for a in answers)
    assert flushes == [[1, 2, 3]]  # not retried one by one: each would wait for a timeout


async def test_settle_waits_for_what_was_submitted_not_for_what_follows() -> None:
    async def flush(items: list[int]) -> list[int]:
        await asyncio.sleep(0.01)
        return items

    batch = Batch(flush)
    first = [batch.submit(n) for n in range(3)]

    async def keep_submitting() -> None:
        while True:
            batch.submit(0)
            await asyncio.sleep(0.001)

    stream = asyncio.ensure_future(keep_submitting())
    try:
        await asyncio.wait_for(batch.settle(), 1)
        assert all(f.done() for f in first)
    finally:
        stream.cancel()
        await batch.settle()


async def test_with_a_delay_items_wait_to_share_a_flush_and_settle_cuts_it_short() -> None:
    flushes: list[list[int]] = []

    async def flush(items: list[int]) -> list[int]:
        flushes.append(items)
        return items

    batch = Batch(flush, singly=False, delay=3600)
    waiting = [batch.submit(n) for n in (1, 2)]
    await asyncio.sleep(0.01)
    waiting.append(batch.submit(3))  # joins the group still waiting
    assert flushes == [] and not any(f.done() for f in waiting)
    await asyncio.wait_for(batch.settle(), 5)
    assert flushes == [[1, 2, 3]] and [f.result() for f in waiting] == [1, 2, 3]
    later = batch.submit(4)  # after the settle, the next group waits again
    await asyncio.sleep(0.01)
    assert not later.done()
    await asyncio.wait_for(batch.settle(), 5)
    assert flushes == [[1, 2, 3], [4]]


async def test_redis_commands_share_a_pipeline_and_fail_alone() -> None:
    pipe = RedisPipe(Redis.from_url(REDIS_URL))
    key = f"lyo-test-{uuid.uuid4().hex}"
    round_trips = 0
    execute = pipe._flush

    async def counted(commands: list[Any]) -> list[Any]:
        nonlocal round_trips
        round_trips += 1
        return await execute(commands)

    pipe._batch._flush = counted
    try:
        await pipe(lambda p: p.set(key, "x"))
        got, pushed, bad, deleted = await asyncio.gather(
            pipe(lambda p: p.get(key)),
            pipe(lambda p: p.lpush(key, 1)),  # WRONGTYPE: a string, not a list
            pipe(lambda p: p.set(key, "y", ex=-1)),  # refused before it reaches Redis
            pipe(lambda p: p.delete(key)),
            return_exceptions=True,
        )
        assert got == b"x" and deleted == 1
        assert isinstance(pushed, ResponseError) and isinstance(bad, Exception)
        assert round_trips == 2  # the SET, then the four together
        errors: list[BaseException | None] = []
        pipe.send(lambda p: p.set(key, "y"), errors.append)
        pipe.send(lambda p: p.lpush(key, 1), errors.append)
        await pipe.settle()
        assert errors[0] is None and isinstance(errors[1], ResponseError)
        assert await pipe(lambda p: p.get(key)) == b"y"
    finally:
        await pipe(lambda p: p.delete(key))
        await pipe.close()


async def test_a_sent_command_that_fails_raises_nowhere() -> None:
    loop = asyncio.get_running_loop()
    escaped: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: escaped.append(context))
    try:
        pipe = RedisPipe.from_url("redis://127.0.0.1:1/0", timeout=0.2)  # nothing listens
        pipe.send(lambda p: p.set("k", "v"))  # logged; nobody waits
        await pipe.settle()
        with pytest.raises(RedisConnectionError):  # an awaited command gets the error
            await pipe(lambda p: p.set("k", "v"))
        await pipe.close()
        gc.collect()  # an unretrieved exception would be reported now
        await asyncio.sleep(0)
        assert escaped == []
    finally:
        loop.set_exception_handler(None)
