"""Delivering an event to a durable handler: the ``kernel:deliver`` task.

One run per (handler, event). It runs the handler and marks the pair handled in one
transaction, so a redelivery finds it done (effects exactly once); its retries are the
handler's, and a delivery that failed its last try becomes a dead letter
(``lyo events dead``, ``lyo events replay``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from kernel.data.db import orm_errors, transaction
from kernel.data.models import DeadLetter, HandledEvent
from kernel.errors import PluginError
from kernel.events.model import Envelope, Handler, prepare
from kernel.tasks.client import TaskCall
from kernel.tasks.context import TaskContext
from kernel.tasks.spec import TaskSpec, task

_MARK_HANDLED = (
    "INSERT INTO kernel_handled_event (handler_id, event_id, handled_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (handler_id, event_id) DO NOTHING RETURNING id"
)


def delivery(handler: Handler, envelope: dict[str, Any]) -> TaskCall:
    """The delivery task run of ``envelope`` (as JSON) to ``handler``."""
    kwargs = {"handler_id": handler.id, "envelope": envelope}
    return TaskCall(
        DELIVER,
        kwargs,
        request_id=envelope.get("request_id"),
        retries=handler.retries,
        backoff=handler.backoff,
    )


async def deliver(ctx: TaskContext, handler_id: str, envelope: dict[str, Any]) -> str:
    """Run handler ``handler_id`` on ``envelope`` unless it has handled it already."""
    handler = ctx.kernel.events.handlers.get(handler_id)
    if handler is None:
        raise PluginError(f"no event handler {handler_id!r} in this process")
    received = Envelope.model_validate(envelope)
    async with transaction() as connection:
        if not await mark_handled(connection, handler_id, received.id):
            return "already handled"
        # the mark is undone with the effect if the handler fails
        await handler.func(prepare(handler, received))
        if connection.capabilities.dialect == "postgres":
            # a handler that caught a database error has left the transaction aborted,
            # and PostgreSQL answers COMMIT with a silent ROLLBACK: fail (and retry) here
            # rather than report as handled an effect and a mark that were both undone
            async with connection.acquire_connection() as raw, orm_errors():
                await raw.execute("SELECT 1")
    return "handled"


async def mark_handled(connection: Any, handler_id: str, event_id: uuid.UUID) -> bool:
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


async def dead_letter(kwargs: dict[str, Any], attempts: int, problem: dict[str, Any]) -> None:
    """Keep a delivery that failed its last try, for ``lyo events replay``."""
    envelope = kwargs["envelope"]
    await DeadLetter.create(
        handler_id=kwargs["handler_id"],
        event_id=envelope["id"],
        type=envelope["type"],
        envelope=envelope,
        error=str(problem.get("detail")),
        attempts=attempts,
    )


DELIVER: TaskSpec = task("kernel:deliver", kind="event")(deliver)
DELIVER.on_failure = dead_letter
