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

from collections.abc import AsyncGenerator
from typing import Any

from redis.asyncio import Redis
from taskiq import AckableMessage
from taskiq_redis import RedisStreamBroker


class ReclaimingStreamBroker(RedisStreamBroker):
    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        streams = [self.queue_name, *self.additional_streams]
        async with Redis(connection_pool=self.connection_pool) as redis:
            while True:
                fetched: Any = await redis.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    dict.fromkeys(streams, ">"),
                    block=self.block,
                    count=self.count,
                )
                for name, messages in fetched or []:
                    for message_id, fields in messages:
                        yield self._ackable(name, message_id, fields)
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
                            yield self._ackable(name, message_id, fields)

    def _ackable(
        self, stream: bytes | str, message_id: bytes | str, fields: dict
    ) -> AckableMessage:  # type: ignore[type-arg]
        name = stream.decode() if isinstance(stream, bytes) else stream
        ident = message_id.decode() if isinstance(message_id, bytes) else message_id
        return AckableMessage(
            data=fields[b"data"], ack=self._ack_generator(id=ident, queue_name=name)
        )
