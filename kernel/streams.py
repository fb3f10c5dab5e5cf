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

from kernel.batch import RedisPipe

log = structlog.get_logger("lyo.tasks")


class ReclaimingStreamBroker(RedisStreamBroker):
    def __init__(self, *args: Any, pipe: RedisPipe | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._own_pipe = pipe is None
        #: Sends and acknowledgements (shared with the result backend and the realtime
        #: hub in a kernel: one round trip carries a finished task's publish, its
        #: acknowledgement and its result).
        self.pipe = pipe or RedisPipe(Redis(connection_pool=self.connection_pool))

    async def shutdown(self) -> None:
        if self._own_pipe:
            await self.pipe.close()  # the pool is the broker's: super() closes it
        else:
            await self.pipe.settle()  # acknowledgements on their way go out
        await super().shutdown()

    async def kick(self, message: BrokerMessage) -> None:
        name = message.labels.get("queue_name") or self.queue_name
        await self.pipe(
            lambda p: p.xadd(
                name, {b"data": message.message}, maxlen=self.maxlen, approximate=self.approximate
            )
        )

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            # not awaited: a lost acknowledgement means a redelivery, which the kernel
            # recognises (the run is finished) and acknowledges again
            self.pipe.send(lambda p: p.xack(queue_name, self.consumer_group_name, id), _acked)

        return ack

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


def _acked(error: BaseException | None) -> None:
    if error is not None:
        log.warning("task acknowledgement failed; it will be redelivered", error=repr(error))


def _saved(error: BaseException | None) -> None:
    if error is not None:
        log.warning("task result not saved to Redis", error=repr(error))


class PipelinedResultBackend(RedisAsyncResultBackend):  # type: ignore[type-arg]
    """taskiq's Redis result backend, saving results through a :class:`RedisPipe` (with
    the finished task's acknowledgement and status publish, in a kernel)."""

    def __init__(self, *args: Any, pipe: RedisPipe | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._own_pipe = pipe is None
        self.pipe = pipe or RedisPipe(Redis(connection_pool=self.redis_pool))

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        name = self._task_name(task_id)
        value = self.serializer.dumpb(result.model_dump(mode="json"))
        ex, px = self.result_ex_time, None if self.result_ex_time else self.result_px_time
        # not awaited either: the run's row is its record, this copy can follow
        self.pipe.send(lambda p: p.set(name, value, ex=ex, px=px), _saved)

    async def shutdown(self) -> None:
        if self._own_pipe:
            await self.pipe.close()
        await super().shutdown()
