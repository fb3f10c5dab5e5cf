"""A taskiq-redis stream broker that reclaims a dead worker's messages promptly.

taskiq-redis's ``RedisStreamBroker`` only looks for pending (unacknowledged) messages
after a read returns new ones, so a message held by a worker killed with SIGKILL waits
until some other message arrives, and its default idle timeout is ten minutes. Here
every read cycle, with or without new messages, claims entries idle for longer than
``idle_timeout`` (the task lease). Running tasks hold a lease in the database, so a
claimed message whose task is still running elsewhere is left alone (see
:mod:`kernel.tasks`).

taskiq-redis also builds a Redis client object for every message it sends, every
acknowledgement and every result it saves, each its own round trip; here one client
serves them all, and concurrent calls of a kind share a pipeline (:mod:`kernel.batch`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, BrokerMessage, TaskiqResult
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from kernel.batch import Batch, pipelined

log = structlog.get_logger("lyo.tasks")


class ReclaimingStreamBroker(RedisStreamBroker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis: Redis | None = None
        self._adds: Batch[tuple[str, bytes], Any] = Batch(self._add_many, singly=False)
        self._acks: Batch[tuple[str, str], Any] = Batch(self._ack_many, singly=False)

    @property
    def redis(self) -> Redis:
        """The client for sending and acknowledging (on the broker's connection pool)."""
        if self._redis is None:
            self._redis = Redis(connection_pool=self.connection_pool)
        return self._redis

    async def shutdown(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()  # the pool is the broker's: super() closes it
            self._redis = None
        await super().shutdown()

    async def kick(self, message: BrokerMessage) -> None:
        await self._adds((message.labels.get("queue_name") or self.queue_name, message.message))

    async def _add_many(self, messages: list[tuple[str, bytes]]) -> list[Any]:
        return await pipelined(
            self.redis,
            lambda pipe: [
                pipe.xadd(name, {b"data": data}, maxlen=self.maxlen, approximate=self.approximate)
                for name, data in messages
            ],
        )

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            await self._acks((queue_name, id))

        return ack

    async def _ack_many(self, entries: list[tuple[str, str]]) -> list[Any]:
        return await pipelined(
            self.redis,
            lambda pipe: [pipe.xack(name, self.consumer_group_name, id) for name, id in entries],
        )

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        streams = [self.queue_name, *self.additional_streams]
        delay = 0.1
        while True:
            try:
                async with Redis(connection_pool=self.connection_pool) as redis:
                    while True:
                        for message in await self._read(redis, streams):
                            yield message
                        delay = 0.1
            except (RedisConnectionError, RedisTimeoutError) as exc:
                # a stalled loop or a Redis restart must not end the worker: reconnect
                log.warning("task stream read failed; retrying", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _read(self, redis: Redis, streams: list[str]) -> list[AckableMessage]:
        """New messages, then entries idle past the lease (a dead worker's)."""
        found: list[AckableMessage] = []
        fetched: Any = await redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            dict.fromkeys(streams, ">"),
            block=self.block,
            count=self.count,
        )
        for name, messages in fetched or []:
            for message_id, fields in messages:
                found.append(self._ackable(name, message_id, fields))
        for name in streams:
            reply: Any = await redis.xautoclaim(
                name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                count=self.unacknowledged_batch_size,
            )
            for message_id, fields in reply[1]:
                if fields:  # trimmed entries come back empty
                    found.append(self._ackable(name, message_id, fields))
        return found

    def _ackable(
        self, stream: bytes | str, message_id: bytes | str, fields: dict
    ) -> AckableMessage:  # type: ignore[type-arg]
        name = stream.decode() if isinstance(stream, bytes) else stream
        ident = message_id.decode() if isinstance(message_id, bytes) else message_id
        return AckableMessage(
            data=fields[b"data"], ack=self._ack_generator(id=ident, queue_name=name)
        )


class PipelinedResultBackend(RedisAsyncResultBackend):  # type: ignore[type-arg]
    """taskiq's Redis result backend, saving concurrent results in one round trip."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis: Redis | None = None
        self._sets: Batch[tuple[str, bytes], Any] = Batch(self._set_many, singly=False)

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        value = self.serializer.dumpb(result.model_dump(mode="json"))
        await self._sets((self._task_name(task_id), value))

    async def _set_many(self, results: list[tuple[str, bytes]]) -> list[Any]:
        if self._redis is None:
            self._redis = Redis(connection_pool=self.redis_pool)
        ex, px = self.result_ex_time, None if self.result_ex_time else self.result_px_time
        return await pipelined(
            self._redis,
            lambda pipe: [pipe.set(name, value, ex=ex, px=px) for name, value in results],
        )

    async def shutdown(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
        await super().shutdown()
