"""Events: typed, versioned, written to an outbox in the publisher's transaction and
delivered to durable handlers as tasks, at least once, effects exactly once.

An event exists if and only if its data was committed: :func:`publish` (or
:func:`publish_many`, several in one statement) writes it to
``kernel_outbox_event`` inside the current :func:`kernel.db.transaction` (or its own).
A relay (in ``lyo worker``; in the API process with the in-memory broker) claims
undelivered rows with ``FOR UPDATE SKIP LOCKED``, woken by ``LISTEN/NOTIFY`` or a short
poll, and enqueues one ``kernel:deliver`` task per (handler, event), or per batch of
up to N events for a handler subscribed with ``on(..., batch=N)``. Delivery runs the
handler and records (handler id, event id) in one transaction, so a redelivery finds
it done. Failures retry with backoff and end in the dead-letter list
(``lyo events dead``, ``lyo events replay``). In-process handlers run after commit
for cheap reactions; no handler failure ever reaches the publisher.

The parts: :mod:`~kernel.events.model` (:class:`Event`, :class:`Envelope`,
:class:`Handler`, :func:`on`), :mod:`~kernel.events.outbox` (:func:`publish`),
:mod:`~kernel.events.relay` (the relay, dead letters), :mod:`~kernel.events.delivery`
(the ``kernel:deliver`` task) and :mod:`~kernel.events.runtime` (:class:`Events`, the
object the kernel holds).
"""

from kernel.events.delivery import DELIVER
from kernel.events.model import Envelope, Event, Handler, on
from kernel.events.outbox import publish, publish_many
from kernel.events.runtime import Events
from kernel.tasks.retention import PURGE

#: The kernel's own tasks: event deliveries and the retention purge.
KERNEL_TASKS = (DELIVER, PURGE)

__all__ = ["Envelope", "Event", "Events", "Handler", "on", "publish", "publish_many"]
