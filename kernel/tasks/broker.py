"""The brokers of tasks: :func:`make_broker` chooses one from configuration, and a
taskiq-redis stream broker that reclaims a dead worker's messages promptly.

taskiq-redis's ``RedisStreamBroker`` only looks for pending (unacknowledged) messages
after a read returns new ones, so a message held by a worker killed with SIGKILL waits
until some other message arrives, and its default idle timeout is ten minutes. Here
every read cycle, with or without new messages, claims entries idle for longer than
``idle_timeout`` (the task lease). Running tasks hold a lease in the database, so a
claimed message whose task is still running elsewhere is left alone (see
:mod:`kernel.tasks.worker`).

taskiq-redis also builds a Redis client object for every message it sends, every
acknowledgement and every result it saves, each its own round trip; here one client
serves them all, and concurrent calls of a kind share a pipeline (:mod:`kernel.data.batch`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, AsyncBroker, BrokerMessage, TaskiqResult
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from kernel.data.batch import RedisPipe

if TYPE_CHECKING:
    from kernel.config import Settings

log = structlog.get_logger("lyo.tasks")


def stream(prefix: str, queue: str) -> str:
    """The Redis stream of a queue."""
    return f"{prefix}:tasks:{queue}"


def make_broker(
    settings: Settings, queues: tuple[str, ...] | list[str], pipe: RedisPipe | None, lease: float
) -> AsyncBroker:
    """The broker of ``queues``: taskiq-redis streams with ``LYO_REDIS_URL`` (Redis
    commands through ``pipe``; a message idle past the ``lease`` is a dead worker's),
    an in-process broker otherwise."""
    if not settings.redis_url:
        from taskiq import InMemoryBroker

        return InMemoryBroker(max_async_tasks=settings.worker_concurrency)
    # taskiq's Redis result backend keeps each run's outcome for a day under the
    # run's id (kernel_task_run stays the record owners read)
    results = PipelinedResultBackend(
        settings.redis_url,
        result_ex_time=86400,
        prefix_str=f"{settings.redis_prefix}:result",
        pipe=pipe,
    )
    first, *rest = queues
    return ReclaimingStreamBroker(
        settings.redis_url,
        queue_name=stream(settings.redis_prefix, first),
        additional_streams={stream(settings.redis_prefix, q): ">" for q in rest},
        consumer_group_name="lyo",
        consumer_id="0",
        xread_block=1000,
        # live runs' entries are renewed with their leases (Worker._renew), so an
        # entry idle past the lease (and a margin for clocks) is a dead worker's
        idle_timeout=int((lease + 2) * 1000),
        unacknowledged_lock_timeout=5,
        pipe=pipe,
    ).with_result_backend(results)


class ReclaimingStreamBroker(RedisStreamBroker):
    def __init__(self, *args: Any, pipe: RedisPipe | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._own_pipe = pipe is None
        self._claimed = 0.0
        #: Sends and acknowledgements (shared with the result backend and the realtime
        #: hub in a kernel: one round trip carries a finished task's publish, its
        #: acknowledgement and its result).
        self.pipe = pipe or RedisPipe(Redis(connection_pool=self.connection_pool))
        #: Called with the time Redis was found to have lost the consumer group (it came
        #: back empty): messages accepted before then are gone.
        self.on_lost: Callable[[datetime], Awaitable[Any]] | None = None
        #: Entries this consumer holds, by task id: (stream, entry id).
        self.held: dict[str, tuple[str, str]] = {}
        #: Where the next XAUTOCLAIM of each stream goes on: Redis scans at most ten
        #: times its COUNT of pending entries per call, so a scan that always began at
        #: the start never reached a dead worker's entries behind a thousand live ones.
        self._cursors: dict[str, Any] = {}

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

    def _ack_generator(
        self, id: str, queue_name: str, task_id: str | None = None
    ) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            if task_id is not None and self.held.get(task_id, (None, None))[1] == id:
                del self.held[task_id]
            # not awaited: a lost acknowledgement means a redelivery, which the kernel
            # recognises (the run is finished) and acknowledges again
            self.pipe.send(lambda p: p.xack(queue_name, self.consumer_group_name, id), _acked)

        return ack

    async def touch(self, task_ids: set[str]) -> None:
        """Reset the idle clocks of the entries of runs this worker still executes (with
        their lease renewals), so only a dead worker's entries go idle."""
        by_stream: dict[str, list[str]] = {}
        for task_id in task_ids:
            if task_id in self.held:
                name, ident = self.held[task_id]
                by_stream.setdefault(name, []).append(ident)
        await asyncio.gather(*(self.pipe(self._claim(n, ids)) for n, ids in by_stream.items()))

    def _claim(self, name: str, ids: list[str]) -> Callable[[Any], object]:
        """XCLAIM of ``ids`` by this consumer, idle or not: their idle clocks restart."""
        group, consumer = self.consumer_group_name, self.consumer_name
        return lambda p: p.xclaim(name, group, consumer, 0, ids, justid=True)

    async def _recreate_groups(self, redis: Redis, streams: list[str]) -> None:
        """Redis came back without the consumer group (restarted empty): create it
        again, reading from the start (messages sent since are in the stream)."""
        lost = datetime.now(UTC)
        for name in streams:
            try:
                await redis.xgroup_create(name, self.consumer_group_name, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self.held.clear()
        self._cursors.clear()
        log.warning("task consumer group was missing (Redis lost its data); recreated")
        if self.on_lost is not None:
            try:
                await self.on_lost(lost)
            except Exception as exc:
                log.error("lost messages not marked for re-sending", error=repr(exc))

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        streams = [self.queue_name, *self.additional_streams]
        delay = 0.1
        while True:
            try:
                async with Redis(connection_pool=self.connection_pool) as redis:
                    while True:
                        try:
                            messages = await self._read(redis, streams)
                        except ResponseError as exc:
                            if "NOGROUP" not in str(exc):
                                raise
                            await self._recreate_groups(redis, streams)
                            continue
                        for message in messages:
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
        if time.monotonic() < self._claimed + 1.0:  # under load: once a second
            return found
        self._claimed = time.monotonic()
        for name in streams:
            reply: Any = await redis.xautoclaim(
                name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                count=self.unacknowledged_batch_size,
                start_id=self._cursors.get(name, "0-0"),
            )
            self._cursors[name] = reply[0]  # "0-0" once the scan has gone round
            for message_id, fields in reply[1]:
                if fields:  # trimmed entries come back empty
                    found.append(self._ackable(name, message_id, fields))
        return found

    def _ackable(
        self, stream: bytes | str, message_id: bytes | str, fields: dict
    ) -> AckableMessage:  # type: ignore[type-arg]
        name = stream.decode() if isinstance(stream, bytes) else stream
        ident = message_id.decode() if isinstance(message_id, bytes) else message_id
        data = fields[b"data"]
        try:
            task_id: str | None = str(orjson.loads(data)["task_id"])
        except Exception:
            task_id = None
        if task_id is not None:
            if len(self.held) > 10_000:  # entries left pending for another worker's run
                self.held.clear()  # (a live run's entry is then claimed, and left alone)
            self.held[task_id] = (name, ident)
        return AckableMessage(
            data=data, ack=self._ack_generator(id=ident, queue_name=name, task_id=task_id)
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
