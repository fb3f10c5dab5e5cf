"""Real-time fan-out: the :class:`Hub` carries JSON messages to websocket topics.

Any process publishes (an API process, a worker, a CLI command)::

    await kernel.hub.publish("task:42", {"status": "running", "progress": 0.5})

and every websocket subscribed to ``task:42`` on any API process receives
``{"type": "message", "topic": "task:42", "id": "...", "data": {...}}``. The frame is
encoded once, by the publisher, and travels unchanged to each connection's
:class:`Inbox`. Delivery is at most once: a message published while Redis is down,
or while a connection is being re-established, is lost. Clients that need state
rather than a stream (task status) get it from the ``subscribed`` snapshot, and
resubscribing resynchronises them.

:func:`create_hub` picks the backend: :class:`Hub` (in-process, one development
process only) without a Redis URL, :class:`RedisHub` (Redis pub/sub) with one.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from kernel.breaker import CircuitBreaker
from kernel.data.batch import RedisPipe
from kernel.errors import CircuitOpen, ServiceUnavailable
from kernel.identity import Identity

log = structlog.get_logger("lyo.realtime")

#: Topic names: letters, digits and ``_ . : / @ + = # -``, at most 200 characters.
TOPIC_PATTERN = re.compile(r"[\w.:/@+=#-]{1,200}", re.ASCII)

#: Called with the ``data`` of each message of a topic listened to (:meth:`Hub.listen`).
Listener = Callable[[Any], None]

#: Authorizes a kernel-owned topic and returns its snapshot (any JSON value, ``None``
#: for none); raises a :class:`kernel.KernelError` (``Forbidden``, ``NotFound``) to refuse.
TopicHandler = Callable[[Identity, str], Awaitable[Any]]


def valid_topic(topic: object) -> bool:
    return isinstance(topic, str) and TOPIC_PATTERN.fullmatch(topic) is not None


def encode_message(topic: str, data: dict[str, Any], id: str | None = None) -> str:
    """The ``message`` frame a subscriber receives, as JSON text."""
    if not valid_topic(topic):
        raise ValueError(f"invalid topic {topic!r}: use {TOPIC_PATTERN.pattern}")
    frame = {"type": "message", "topic": topic, "id": id or uuid.uuid4().hex, "data": data}
    return orjson.dumps(frame).decode()


class HubUnavailable(ServiceUnavailable):
    """The hub cannot promise delivery now (Redis is unreachable)."""


class Inbox(asyncio.Queue[tuple[str, str]]):
    """One connection's bounded queue of ``(topic, frame)`` pairs.

    Publishing never waits for a reader: when the inbox is full the frame is dropped,
    the inbox is marked ``overflowed`` and ``on_overflow`` runs once (the websocket then
    closes that slow consumer), so one stalled client never slows the publisher or the
    other subscribers.
    """

    def __init__(self, maxsize: int, on_overflow: Callable[[], None] | None = None) -> None:
        if maxsize < 1:
            raise ValueError("an inbox must be bounded (maxsize >= 1)")
        super().__init__(maxsize)
        self.overflowed = False
        self._on_overflow = on_overflow

    def offer(self, topic: str, frame: str) -> None:
        if self.overflowed:
            return
        try:
            self.put_nowait((topic, frame))
        except asyncio.QueueFull:
            self.overflowed = True
            if self._on_overflow is not None:
                self._on_overflow()

    def discard(self, topic: str) -> None:
        """Forget frames of ``topic`` still waiting (after unsubscribing from it)."""
        kept = [
            item for item in (self.get_nowait() for _ in range(self.qsize())) if item[0] != topic
        ]
        for item in kept:
            self.put_nowait(item)


class Hub:
    """In-process fan-out: publishers and subscribers must share this one process.

    It is the development default; messages published by a separate worker process
    never arrive. :class:`RedisHub` keeps the same interface across processes.

    ``topic_handlers`` maps kernel-owned topic prefixes (``"task:"``) to the
    :data:`TopicHandler` that authorizes them and gives their snapshot; plugins'
    ``authorize_topic`` hooks are never asked about those prefixes.
    """

    def __init__(self) -> None:
        self.topic_handlers: dict[str, TopicHandler] = {}
        self.started = False
        self._subscribers: dict[str, set[Inbox]] = {}
        self._listeners: dict[str, list[Listener]] = {}

    async def start(self) -> None:
        """Begin serving local subscribers (publishing needs no start)."""
        self.started = True

    async def stop(self) -> None:
        self.started = False
        self._subscribers.clear()

    async def publish(self, topic: str, data: dict[str, Any], *, id: str | None = None) -> None:
        """Send ``data`` to every subscriber of ``topic``; ``id`` defaults to a new UUID.

        Never raises for delivery problems (they are logged and the message dropped);
        an invalid topic or data that is not JSON-serialisable raises.
        """
        self._deliver(topic, encode_message(topic, data, id))

    def publish_soon(self, topic: str, data: dict[str, Any], *, id: str | None = None) -> None:
        """:meth:`publish` without waiting for it to go out; a process's messages to one
        topic still arrive in order (a task's status changes use this)."""
        self._deliver(topic, encode_message(topic, data, id))

    async def subscribe(self, topic: str, inbox: Inbox) -> None:
        """Deliver ``topic`` to ``inbox`` from now on.

        Returns once delivery is guaranteed for every message published afterwards;
        raises :class:`HubUnavailable` if that cannot be promised.
        """
        if not self.started:
            raise RuntimeError("the hub is not started: await hub.start() first")
        self._subscribers.setdefault(topic, set()).add(inbox)

    def unsubscribe(self, topic: str, inbox: Inbox) -> None:
        """Stop delivering ``topic`` to ``inbox``; unknown pairs are ignored."""
        inboxes = self._subscribers.get(topic)
        if inboxes is not None:
            inboxes.discard(inbox)
            if not inboxes:
                del self._subscribers[topic]

    def listen(self, topic: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(data)`` in this process for every message published to
        ``topic`` (by any process, with Redis) from now on, while the hub is started;
        returns the function that stops it. For process-local state kept in step across
        processes (an in-process cache dropping entries another process changed):
        delivery is at most once, so such state also needs a bound of its own (a TTL).
        The listener runs on the event loop and must not block; what it raises is
        logged. Listening opens nothing to websocket clients (``authorize_topic`` still
        decides)."""
        if not valid_topic(topic):
            raise ValueError(f"invalid topic {topic!r}: use {TOPIC_PATTERN.pattern}")
        self._listeners.setdefault(topic, []).append(listener)

        def stop() -> None:
            listeners = self._listeners.get(topic, [])
            if listener in listeners:
                listeners.remove(listener)

        return stop

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    def add_topic_handler(self, prefix: str, handler: TopicHandler) -> None:
        """Make the kernel the authority for topics starting with ``prefix`` (``"task:"``)."""
        if not prefix.endswith(":") or prefix in self.topic_handlers:
            raise ValueError(f"topic prefix {prefix!r} must end with ':' and be unclaimed")
        self.topic_handlers[prefix] = handler

    def handler_for(self, topic: str) -> TopicHandler | None:
        """The handler of the longest registered prefix of ``topic``, if any."""
        matches = [p for p in self.topic_handlers if topic.startswith(p)]
        return self.topic_handlers[max(matches, key=len)] if matches else None

    def _deliver(self, topic: str, frame: str) -> None:
        for inbox in tuple(self._subscribers.get(topic, ())):
            inbox.offer(topic, frame)
        listeners = self._listeners.get(topic)
        if listeners and self.started:
            data = orjson.loads(frame)["data"]
            for listener in tuple(listeners):
                try:
                    listener(data)
                except Exception:
                    log.exception("hub listener failed", topic=topic)


class RedisHub(Hub):
    """Fan-out across processes through Redis pub/sub, channel ``<prefix><topic>``.

    Publishing is one ``PUBLISH``; a process that only publishes (a worker) never
    needs :meth:`start`. A failed publish is logged and dropped, never raised, and a
    circuit breaker then drops publishes for a second instead of waiting on a dead
    Redis each time.

    Each started process holds one subscriber connection with a single pattern
    subscription, ``PSUBSCRIBE <prefix>*``, and routes messages to local inboxes by
    topic. Chosen over one ``SUBSCRIBE`` per topic because subscribing then costs no
    Redis round trip and has no ordering races between a topic's last unsubscribe and
    its next subscribe, and reconnecting means restoring one subscription, not
    thousands. The price is that every API process receives every message, whether or
    not it has a subscriber: fine for a handful of API processes and task-progress
    rates (a few messages a second per task); with dozens of processes and heavy
    topics, switch to per-topic (or sharded) subscriptions. Prefixes of different
    deployments sharing one Redis must not be prefixes of one another.

    The listener pings Redis when the connection is quiet, and reconnects with
    backoff (0.1 s doubling to 5 s) after any error; :meth:`subscribe` waits (up to
    ``ready_timeout``) until the pattern subscription is live.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "lyo:rt:",
        connect_timeout: float = 2.0,
        ready_timeout: float = 5.0,
        health_interval: float = 10.0,
        pipe: RedisPipe | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.prefix = prefix
        #: ``CLIENT SETNAME`` of the subscriber connection, to find it in ``CLIENT LIST``.
        self.client_name = f"lyo-rt-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.ready_timeout = ready_timeout
        self.health_interval = health_interval
        self._connect_timeout = connect_timeout
        self._pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
        # publishes share round trips with each other (and, given the kernel's pipe, with
        # task acknowledgements and results)
        self._own_pipe = pipe is None
        self.pipe = pipe or RedisPipe.from_url(url, timeout=connect_timeout)
        self._breaker = CircuitBreaker("realtime:redis", failure_threshold=1, reset_timeout=1.0)
        self._listener: asyncio.Task[None] | None = None
        self._stopping = False
        self._live = asyncio.Event()

    @property
    def live(self) -> bool:
        """Whether the subscriber connection is up and subscribed."""
        return self._live.is_set()

    async def start(self) -> None:
        if self._listener is None:
            self._stopping = False
            self._listener = asyncio.create_task(self._listen(), name="lyo-realtime-listener")
        self.started = True

    async def stop(self) -> None:
        await super().stop()
        self._stopping = True
        if self._listener is not None:
            self._listener.cancel()
            # redis-py can hang closing a pub/sub connection that was cancelled mid-read
            await asyncio.wait([self._listener], timeout=2)
            self._listener = None
        if self._own_pipe:
            await asyncio.wait([asyncio.ensure_future(self.pipe.close())], timeout=2)

    async def publish(self, topic: str, data: dict[str, Any], *, id: str | None = None) -> None:
        frame, channel = encode_message(topic, data, id), self.prefix + topic
        failing = self._breaker.failures > 0
        try:
            async with self._breaker:
                await self.pipe(lambda p: p.publish(channel, frame))
        except CircuitOpen:
            return  # Redis failed moments ago; already logged
        except Exception as exc:
            log.warning("realtime publish failed; message dropped", topic=topic, error=str(exc))
            return
        if failing:
            log.info("realtime publishing recovered")

    def publish_soon(self, topic: str, data: dict[str, Any], *, id: str | None = None) -> None:
        frame, channel = encode_message(topic, data, id), self.prefix + topic
        if self._breaker.state == "open":
            return  # Redis failed moments ago; already logged

        def done(error: BaseException | None) -> None:
            if error is None:
                if self._breaker.failures:
                    self._breaker.record_success()
                    log.info("realtime publishing recovered")
                return
            log.warning("realtime publish failed; message dropped", topic=topic, error=str(error))
            self._breaker.record_failure(error)

        self.pipe.send(lambda p: p.publish(channel, frame), done)

    async def subscribe(self, topic: str, inbox: Inbox) -> None:
        await super().subscribe(topic, inbox)
        try:
            await asyncio.wait_for(self._live.wait(), self.ready_timeout)
        except TimeoutError:
            self.unsubscribe(topic, inbox)
            raise HubUnavailable("Real-time delivery is unavailable; retry shortly.") from None

    async def _listen(self) -> None:
        delay = 0.1
        while not self._stopping:
            client = Redis.from_url(
                self.url,
                client_name=self.client_name,
                socket_connect_timeout=self._connect_timeout,
                retry=Retry(NoBackoff(), 0),  # this loop reconnects, nobody else
            )
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(self._pattern)
                delay = 0.1
                await self._pump(pubsub)
            except Exception as exc:
                log.warning(
                    "realtime listener lost Redis; reconnecting",
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in=delay,
                )
            finally:
                self._live.clear()
                closing = (pubsub.aclose(), client.aclose())  # type: ignore[no-untyped-call]
                await asyncio.wait([asyncio.ensure_future(c) for c in closing], timeout=1)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _pump(self, pubsub: PubSub) -> None:
        """Route messages to inboxes until the connection fails (then raise)."""
        skip = len(self.prefix.encode())
        awaiting_pong = False
        quiet = 0.0
        # short reads, so stop() is noticed: redis-py may swallow a cancellation mid-read
        while not self._stopping:
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                quiet += 1.0
                if quiet < self.health_interval:
                    continue
                quiet = 0.0
                if awaiting_pong:
                    raise ConnectionError("Redis did not answer a ping")
                await pubsub.ping()
                awaiting_pong = True
                continue
            awaiting_pong = False
            quiet = 0.0
            if message["type"] == "pmessage":
                try:
                    self._deliver(message["channel"][skip:].decode(), message["data"].decode())
                except UnicodeDecodeError:
                    log.warning(
                        "realtime message is not UTF-8; dropped", channel=message["channel"]
                    )
            elif message["type"] == "psubscribe":
                self._live.set()
                log.info("realtime listener subscribed", pattern=self._pattern)


def create_hub(
    redis_url: str | None, *, prefix: str = "lyo:rt:", pipe: RedisPipe | None = None
) -> Hub:
    """The hub for this configuration: Redis pub/sub with a URL, in-process without."""
    return RedisHub(redis_url, prefix=prefix, pipe=pipe) if redis_url else Hub()
