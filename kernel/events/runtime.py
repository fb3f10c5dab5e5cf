"""The :class:`Events` object a kernel holds (``kernel.events``): the handlers, the
outbox (:mod:`kernel.events.outbox`) and the relay (:mod:`kernel.events.relay`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

import structlog

from kernel.data.db import after_commit
from kernel.data.models import DeadLetter
from kernel.errors import PluginError
from kernel.events.model import Envelope, Event, Handler, prepare
from kernel.events.outbox import activate, new_envelope, write_many
from kernel.events.relay import Relay

if TYPE_CHECKING:
    from kernel.kernel import Kernel

log = structlog.get_logger("lyo.events")


class Events:
    """The kernel's event machinery (``kernel.events``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.handlers: dict[str, Handler] = {}
        #: Set to make the relay look at the outbox now.
        self.wake = asyncio.Event()
        self.relay = Relay(self)

    def activate(self) -> None:
        activate(self)

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
        """Write ``event`` to the outbox in the current transaction (or its own); after
        the commit, wake the relay and run the in-process handlers."""
        return (await self.publish_many([event]))[0]

    async def publish_many(self, events: Sequence[Event]) -> list[Envelope]:
        """:meth:`publish` for several events, in this order: their outbox rows in one
        statement (on PostgreSQL), one wake-up after the commit."""
        envelopes = [new_envelope(event) for event in events]
        if not envelopes:
            return []
        for before, after in pairwise(envelopes):
            # the relay delivers in occurred_at order: keep theirs strict, clock or not
            if after.occurred_at <= before.occurred_at:
                after.occurred_at = before.occurred_at + timedelta(microseconds=1)
        await write_many(envelopes)
        await after_commit(lambda: self._after_commit(*envelopes))
        return envelopes

    async def _after_commit(self, *envelopes: Envelope) -> None:
        self.wake.set()
        for envelope in envelopes:
            for handler in self.subscribers(envelope.type, durable=False):
                try:
                    await handler.func(prepare(handler, envelope))
                except Exception as exc:  # a failing handler never fails the publisher
                    log.error(
                        "in-process event handler failed", handler=handler.id, error=repr(exc)
                    )

    # -- the relay -----------------------------------------------------------------------

    async def relay_once(self, limit: int = 100) -> int:
        """Turn undelivered outbox rows into delivery tasks; returns how many rows."""
        return await self.relay.relay_once(limit)

    async def run_relay(self, stop: asyncio.Event, poll: float = 1.0) -> None:
        """Relay until ``stop``: at once when woken (NOTIFY or a local publish), else
        every ``poll`` seconds."""
        await self.relay.run(stop, poll)

    def start_relay(self) -> None:
        """Relay inside this process (the in-memory broker has no workers)."""
        self.relay.start()

    async def stop_relay(self) -> None:
        await self.relay.stop()

    async def dead(self) -> list[DeadLetter]:
        """Dead letters not replayed yet (``lyo events dead``)."""
        return await self.relay.dead()

    async def replay(self, ids: list[int] | None = None) -> int:
        """Deliver dead letters (all, or ``ids``) again (``lyo events replay``)."""
        return await self.relay.replay(ids)
