"""A taskiq-redis stream broker that reclaims a dead worker's messages promptly.

taskiq-redis's ``RedisStreamBroker`` only looks for pending (unacknowledged) messages
after a read returns new ones, so a message held by a worker killed with SIGKILL waits
until some other message arrives, and its default idle timeout is ten minutes. Here
every read cycle, with or without new messages, claims entries idle for longer than
``idle_timeout`` (the task lease). Running tasks hold a lease in the database, so a
claimed message whose task is still running elsewhere is left alone (see
:mod:`kernel.tasks`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage
from taskiq_redis import RedisStreamBroker

log = structlog.get_logger("lyo.tasks")


class ReclaimingStreamBroker(RedisStreamBroker):
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
