"""The relay: outbox rows become delivery tasks; dead letters are replayed.

A relay (in ``lyo worker``; in the API process with the in-memory broker) claims
undelivered rows with ``FOR UPDATE SKIP LOCKED``, woken by ``LISTEN/NOTIFY`` or a short
poll, and enqueues one ``kernel:deliver`` run per (handler, event), or per (batch
handler, up to its ``batch`` events of the round, in outbox order), all of a round's in
one INSERT (:meth:`kernel.tasks.Tasks.enqueue_many`).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from kernel.data.db import connect_raw, transaction
from kernel.data.models import DeadLetter, OutboxEvent
from kernel.events.delivery import batch_delivery, delivery
from kernel.events.model import check_type
from kernel.events.outbox import NOTIFY_CHANNEL

if TYPE_CHECKING:
    from kernel.events.model import Handler
    from kernel.events.runtime import Events
    from kernel.tasks.client import TaskCall

log = structlog.get_logger("lyo.events")


class Relay:
    """Turns outbox rows into delivery runs; replays dead letters."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self.kernel = events.kernel
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

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
            deliveries: list[TaskCall] = []
            batches: dict[str, tuple[Handler, list[dict[str, Any]]]] = {}
            for row in rows:
                envelope = {
                    "id": str(row.id),
                    "type": row.type,
                    "version": check_type(row.type),
                    "occurred_at": row.occurred_at.isoformat(),
                    "request_id": row.request_id,
                    "payload": row.payload,
                }
                for handler in self.events.subscribers(row.type, durable=True):
                    if handler.batch is None:
                        deliveries.append(delivery(handler, envelope))
                    else:
                        batches.setdefault(handler.id, (handler, []))[1].append(envelope)
            for handler, envelopes in batches.values():
                size = handler.batch or 1
                for start in range(0, len(envelopes), size):
                    deliveries.append(batch_delivery(handler, envelopes[start : start + size]))
            if deliveries:  # one INSERT for all their runs
                await self.kernel.tasks.enqueue_many(deliveries)
            if rows:
                await OutboxEvent.filter(id__in=[r.id for r in rows]).update(
                    dispatched_at=datetime.now(UTC)
                )
        return len(rows)

    async def run(self, stop: asyncio.Event, poll: float = 1.0) -> None:
        """Relay until ``stop``: at once when woken (NOTIFY or a local publish), else
        every ``poll`` seconds."""
        wake = self.events.wake
        listener = None
        try:
            while not stop.is_set():
                if listener is None or listener.is_closed():
                    # (re)opened each round it is missing: a database restart closes it
                    listener = await self._relisten(listener)
                wake.clear()
                try:
                    while await self.relay_once() > 0:
                        pass
                except Exception as exc:
                    log.error("outbox relay failed; retrying", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), poll)
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
        await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self.events.wake.set())
        return connection

    def start(self) -> None:
        """Relay inside this process (the in-memory broker has no workers)."""
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self.run(self._stop, poll=0.5))

    async def stop(self) -> None:
        if self._task is not None:
            self._stop.set()
            self.events.wake.set()
            await asyncio.wait([self._task], timeout=5)
            self._task = None

    # -- dead letters --------------------------------------------------------------------

    async def dead(self) -> list[DeadLetter]:
        return await DeadLetter.filter(replayed_at__isnull=True).order_by("id")

    async def replay(self, ids: list[int] | None = None) -> int:
        """Deliver dead letters (all, or ``ids``) again."""
        query = DeadLetter.filter(replayed_at__isnull=True)
        if ids:
            query = query.filter(id__in=ids)
        async with transaction():
            replayed: list[int] = []
            deliveries: list[TaskCall] = []
            for letter in await query:
                handler = self.events.handlers.get(letter.handler_id)
                if handler is None:
                    log.warning(
                        "dead letter for an unknown handler kept", handler=letter.handler_id
                    )
                    continue
                replayed.append(letter.id)
                deliveries.append(delivery(handler, letter.envelope))
            if deliveries:  # as the relay: one INSERT for all their runs
                await self.kernel.tasks.enqueue_many(deliveries)
                await DeadLetter.filter(id__in=replayed).update(replayed_at=datetime.now(UTC))
        return len(replayed)
