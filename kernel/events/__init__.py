"""Events: typed, versioned, written to an outbox in the publisher's transaction and
delivered to durable handlers as tasks, at least once, effects exactly once.

An event exists if and only if its data was committed: :func:`publish` writes it to
``kernel_outbox_event`` inside the current :func:`kernel.db.transaction` (or its own).
A relay (in ``lyo worker``; in the API process with the in-memory broker) claims
undelivered rows with ``FOR UPDATE SKIP LOCKED``, woken by ``LISTEN/NOTIFY`` or a short
poll, and enqueues one ``kernel:deliver`` task per (handler, event). Delivery runs the
handler and records (handler id, event id) in one transaction, so a redelivery finds
it done. Failures retry with backoff and end in the dead-letter list
(``lyo events dead``, ``lyo events replay``). In-process handlers run after commit
for cheap reactions; no handler failure ever reaches the publisher.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import contextvars
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
import structlog
from pydantic import BaseModel, ConfigDict

from kernel.data.db import after_commit, connect_raw, orm_errors, transaction
from kernel.data.models import DeadLetter, HandledEvent, OutboxEvent, TaskRun
from kernel.errors import PluginError
from kernel.tasks import TaskContext, TaskSpec, _Call, task

if TYPE_CHECKING:
    from kernel.kernel import Kernel

log = structlog.get_logger("lyo.events")

_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v(\d+)$")
NOTIFY_CHANNEL = "lyo_outbox"
_current: contextvars.ContextVar[Events | None] = contextvars.ContextVar("lyo_events", default=None)


class Event(BaseModel):
    """Base of typed events: ``type = "learning.lesson_completed.v1"`` and fields."""

    type: ClassVar[str]


class Envelope(BaseModel):
    """What a handler receives. ``event`` is the payload validated into the handler's
    event model, when it declared one."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    request_id: str | None = None
    payload: dict[str, Any]
    event: Any = None


def check_type(type_: str) -> int:
    """The version of a type like ``plugin.thing_happened.v1``; PluginError if malformed."""
    match = _TYPE.match(type_)
    if not match:
        raise PluginError(f"event type {type_!r} must look like 'plugin.thing_happened.v1'")
    return int(match.group(2))


@dataclass(frozen=True)
class Handler:
    """A subscription: ``id`` is stable and explicit (``<plugin>:<name>``), since
    idempotency and dead letters are keyed on it."""

    id: str
    type: str
    func: Callable[[Envelope], Awaitable[Any]]
    model: builtins.type[Event] | None = None
    durable: bool = True
    retries: int = 5
    backoff: float = 1.0


def on(
    event: str | type[Event],
    *,
    id: str,
    durable: bool = True,
    retries: int = 5,
    backoff: float = 1.0,
) -> Callable[[Callable[[Envelope], Awaitable[Any]]], Handler]:
    """Subscribe ``async def handler(envelope)`` to an event type (a string, or an Event
    class whose payload is then validated into ``envelope.event``). ``durable=False``
    runs it in the publishing process after commit, best effort."""
    type_ = event if isinstance(event, str) else event.type
    check_type(type_)
    model = None if isinstance(event, str) else event

    def subscribe(func: Callable[[Envelope], Awaitable[Any]]) -> Handler:
        return Handler(id, type_, func, model, durable, retries, backoff)

    return subscribe


async def publish(event: Event) -> Envelope:
    """Publish ``event`` through the outbox of the current transaction (or its own)."""
    events = _current.get()
    if events is None:
        raise RuntimeError("no kernel is active here; call kernel.activate() first")
    return await events.publish(event)


class Events:
    """The kernel's event machinery (``kernel.events``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.handlers: dict[str, Handler] = {}
        self.wake = asyncio.Event()
        self._relay: asyncio.Task[None] | None = None

    def activate(self) -> None:
        _current.set(self)

    def register(self, handler: Handler, owner: str) -> None:
        if not handler.id.startswith(owner + ":"):
            raise PluginError(
                f"plugin {owner!r}: handler id {handler.id!r} must start with '{owner}:'"
            )
        if handler.id in self.handlers:
            raise PluginError(f"event handler {handler.id!r} is declared twice")
        self.handlers[handler.id] = handler

    def subscribers(self, type_: str, *, durable: bool) -> list[Handler]:
        return [h for h in self.handlers.values() if h.type == type_ and h.durable is durable]

    async def publish(self, event: Event) -> Envelope:
        version = check_type(event.type)
        envelope = Envelope(
            id=uuid.uuid4(),
            type=event.type,
            version=version,
            occurred_at=datetime.now(UTC),
            request_id=structlog.contextvars.get_contextvars().get("request_id"),
            payload=event.model_dump(mode="json"),
        )
        async with transaction() as connection:
            if connection.capabilities.dialect == "postgres":
                # the row and its NOTIFY (sent at commit) in one statement
                async with connection.acquire_connection() as raw, orm_errors():
                    await raw.execute(
                        _PUBLISH,
                        envelope.id,
                        envelope.type,
                        envelope.occurred_at,
                        envelope.request_id,
                        orjson.dumps(envelope.payload, option=orjson.OPT_NON_STR_KEYS).decode(),
                    )
            else:
                await OutboxEvent.create(
                    id=envelope.id,
                    type=envelope.type,
                    occurred_at=envelope.occurred_at,
                    request_id=envelope.request_id,
                    payload=envelope.payload,
                    using_db=connection,
                )
        await after_commit(lambda: self._after_commit(envelope))
        return envelope

    async def _after_commit(self, envelope: Envelope) -> None:
        self.wake.set()
        for handler in self.subscribers(envelope.type, durable=False):
            try:
                await handler.func(self._prepare(handler, envelope))
            except Exception as exc:  # a failing handler never fails the publisher
                log.error("in-process event handler failed", handler=handler.id, error=repr(exc))

    @staticmethod
    def _prepare(handler: Handler, envelope: Envelope) -> Envelope:
        event = handler.model.model_validate(envelope.payload) if handler.model else None
        return envelope.model_copy(update={"event": event})

    # -- relay ---------------------------------------------------------------------------

    async def relay_once(self, limit: int = 100) -> int:
        """Turn undelivered outbox rows into delivery tasks; returns how many rows."""
        postgres = self.kernel.db is not None and self.kernel.db.dialect == "postgres"
        async with transaction():
            query = (
                OutboxEvent.filter(dispatched_at__isnull=True).order_by("occurred_at").limit(limit)
            )
            if postgres:
                query = query.select_for_update(skip_locked=True)
            rows = await query
            deliveries = []
            for row in rows:
                envelope = {
                    "id": str(row.id),
                    "type": row.type,
                    "version": check_type(row.type),
                    "occurred_at": row.occurred_at.isoformat(),
                    "request_id": row.request_id,
                    "payload": row.payload,
                }
                for handler in self.subscribers(row.type, durable=True):
                    deliveries.append(self._delivery(handler, envelope))
            if deliveries:  # one INSERT for all their runs
                await self.kernel.tasks._enqueue(deliveries)
            if rows:
                await OutboxEvent.filter(id__in=[r.id for r in rows]).update(
                    dispatched_at=datetime.now(UTC)
                )
        return len(rows)

    @staticmethod
    def _delivery(handler: Handler, envelope: dict[str, Any]) -> _Call:
        """The delivery task run of ``envelope`` to ``handler``."""
        kwargs = {"handler_id": handler.id, "envelope": envelope}
        return (DELIVER, None, envelope.get("request_id"), handler.retries, handler.backoff, kwargs)

    async def run_relay(self, stop: asyncio.Event, poll: float = 1.0) -> None:
        """Relay until ``stop``: at once when woken (NOTIFY or a local publish), else
        every ``poll`` seconds."""
        listener = None
        try:
            while not stop.is_set():
                if listener is None or listener.is_closed():
                    # (re)opened each round it is missing: a database restart closes it
                    listener = await self._relisten(listener)
                self.wake.clear()
                try:
                    while await self.relay_once() > 0:
                        pass
                except Exception as exc:
                    log.error("outbox relay failed; retrying", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), poll)
        finally:
            if listener is not None and not listener.is_closed():
                with contextlib.suppress(Exception):
                    await listener.close()

    async def _relisten(self, old: Any) -> Any:
        if old is not None:
            log.warning("outbox LISTEN connection lost; reopening")
            with contextlib.suppress(Exception):
                old.terminate()
        try:
            return await asyncio.wait_for(self._listen(), 5)
        except Exception as exc:  # polling goes on meanwhile
            log.warning("outbox LISTEN connection failed; retrying", error=repr(exc))
            return None

    async def _listen(self) -> Any:
        if self.kernel.db is None or self.kernel.db.dialect != "postgres":
            return None
        connection = await connect_raw(self.kernel.settings.database_url)
        await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self.wake.set())
        return connection

    def start_relay(self) -> None:
        """Relay inside this process (the in-memory broker has no workers)."""
        self._stop = asyncio.Event()
        self._relay = asyncio.create_task(self.run_relay(self._stop, poll=0.5))

    async def stop_relay(self) -> None:
        if self._relay is not None:
            self._stop.set()
            self.wake.set()
            await asyncio.wait([self._relay], timeout=5)
            self._relay = None

    # -- dead letters --------------------------------------------------------------------

    async def dead(self) -> list[DeadLetter]:
        return await DeadLetter.filter(replayed_at__isnull=True).order_by("id")

    async def replay(self, ids: list[int] | None = None) -> int:
        """Deliver dead letters (all, or ``ids``) again."""
        query = DeadLetter.filter(replayed_at__isnull=True)
        if ids:
            query = query.filter(id__in=ids)
        async with transaction():
            replayed, deliveries = [], []
            for letter in await query:
                handler = self.handlers.get(letter.handler_id)
                if handler is None:
                    log.warning(
                        "dead letter for an unknown handler kept", handler=letter.handler_id
                    )
                    continue
                replayed.append(letter.id)
                deliveries.append(self._delivery(handler, letter.envelope))
            if deliveries:  # as the relay: one INSERT for all their runs
                await self.kernel.tasks._enqueue(deliveries)
                await DeadLetter.filter(id__in=replayed).update(replayed_at=datetime.now(UTC))
        return len(replayed)


async def _deliver(ctx: TaskContext, handler_id: str, envelope: dict[str, Any]) -> str:
    events = ctx.kernel.events
    handler = events.handlers.get(handler_id)
    if handler is None:
        raise PluginError(f"no event handler {handler_id!r} in this process")
    received = Envelope.model_validate(envelope)
    async with transaction() as connection:
        if not await _mark_handled(connection, handler_id, received.id):
            return "already handled"
        # the mark is undone with the effect if the handler fails
        await handler.func(events._prepare(handler, received))
        if connection.capabilities.dialect == "postgres":
            # a handler that caught a database error has left the transaction aborted,
            # and PostgreSQL answers COMMIT with a silent ROLLBACK: fail (and retry) here
            # rather than report as handled an effect and a mark that were both undone
            async with connection.acquire_connection() as raw, orm_errors():
                await raw.execute("SELECT 1")
    return "handled"


async def _mark_handled(connection: Any, handler_id: str, event_id: uuid.UUID) -> bool:
    """Mark (handler, event) handled in the caller's transaction; ``False`` if it was.
    On PostgreSQL one statement, which also makes a concurrent delivery of the same pair
    wait (holding its connection) until the first commits, then skip, instead of running
    the effect twice; SQLite checks, then inserts."""
    if connection.capabilities.dialect != "postgres":
        if await HandledEvent.filter(handler_id=handler_id, event_id=event_id).exists():
            return False
        await HandledEvent.create(handler_id=handler_id, event_id=event_id, using_db=connection)
        return True
    async with connection.acquire_connection() as raw, orm_errors():
        inserted = await raw.fetchval(_MARK_HANDLED, handler_id, event_id, datetime.now(UTC))
    return inserted is not None


_PUBLISH = (
    "WITH written AS (INSERT INTO kernel_outbox_event (id, type, occurred_at, request_id, "
    "payload) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id) "
    f"SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM written"
)
_MARK_HANDLED = (
    "INSERT INTO kernel_handled_event (handler_id, event_id, handled_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (handler_id, event_id) DO NOTHING RETURNING id"
)


async def _dead_letter(kwargs: dict[str, Any], attempts: int, problem: dict[str, Any]) -> None:
    envelope = kwargs["envelope"]
    await DeadLetter.create(
        handler_id=kwargs["handler_id"],
        event_id=envelope["id"],
        type=envelope["type"],
        envelope=envelope,
        error=str(problem.get("detail")),
        attempts=attempts,
    )


DELIVER: TaskSpec = task("kernel:deliver", kind="event")(_deliver)
DELIVER.on_failure = _dead_letter


async def _purge(ctx: TaskContext) -> dict[str, int]:
    """Delete finished task runs, delivered outbox rows, handled marks and dead letters
    older than ``LYO_RETENTION_DAYS``."""
    cutoff = datetime.now(UTC) - timedelta(days=ctx.kernel.settings.retention_days)
    return {
        "task_runs": await TaskRun.filter(finished_at__lt=cutoff).delete(),
        "outbox": await OutboxEvent.filter(dispatched_at__lt=cutoff).delete(),
        "handled": await HandledEvent.filter(handled_at__lt=cutoff).delete(),
        "dead_letters": await DeadLetter.filter(created_at__lt=cutoff).delete(),
    }


PURGE: TaskSpec = task("kernel:purge", queue="low", kind="maintenance", every=3600)(_purge)
KERNEL_TASKS = (DELIVER, PURGE)

__all__ = ["Envelope", "Event", "Events", "Handler", "on", "publish"]
