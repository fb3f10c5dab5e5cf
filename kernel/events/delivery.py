"""Delivering events to a durable handler: the ``kernel:deliver`` task.

One run per (handler, event), or per (handler, up to ``batch`` events) for a batch
handler. It runs the handler and marks the pairs handled in one transaction, so a
redelivery finds them done (effects exactly once); its retries are the handler's. A
delivery of one event that failed its last try becomes a dead letter (``lyo events
dead``, ``lyo events replay``); a batch that did is split into deliveries of one event
each, so a poison event does not take its neighbours with it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from kernel.current import current
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
# ids sorted, so two deliveries sharing events lock their marks in one order
_MARK_MANY = (
    "INSERT INTO kernel_handled_event (handler_id, event_id, handled_at) "
    "SELECT $1, e, $3 FROM unnest($2::uuid[]) AS e ORDER BY e "
    "ON CONFLICT (handler_id, event_id) DO NOTHING RETURNING event_id"
)


def delivery(handler: Handler, envelope: dict[str, Any]) -> TaskCall:
    """The delivery task run of ``envelope`` (as JSON) to ``handler`` (a batch of one
    for a batch handler)."""
    if handler.batch is not None:
        return batch_delivery(handler, [envelope])
    kwargs = {"handler_id": handler.id, "envelope": envelope}
    return TaskCall(
        DELIVER,
        kwargs,
        request_id=envelope.get("request_id"),
        retries=handler.retries,
        backoff=handler.backoff,
    )


def batch_delivery(handler: Handler, envelopes: list[dict[str, Any]]) -> TaskCall:
    """The delivery task run of ``envelopes`` (as JSON, in outbox order) to the batch
    handler ``handler``."""
    kwargs = {"handler_id": handler.id, "envelopes": envelopes}
    return TaskCall(
        DELIVER,
        kwargs,
        request_id=envelopes[0].get("request_id"),
        retries=handler.retries,
        backoff=handler.backoff,
    )


async def deliver(
    ctx: TaskContext,
    handler_id: str,
    envelope: dict[str, Any] | None = None,
    envelopes: list[dict[str, Any]] | None = None,
) -> str:
    """Run handler ``handler_id`` on ``envelope`` (or, a batch handler, on those of
    ``envelopes``) unless it has handled it already.

    The handler's kind, not the run's, decides: a run queued before the handler took
    batches (``envelope``) reaches a batch handler as a batch of one, and one queued
    while it took them (``envelopes``) reaches a plain handler one envelope at a time,
    each in its own transaction with its mark."""
    handler = ctx.kernel.events.handlers.get(handler_id)
    if handler is None:
        raise PluginError(f"no event handler {handler_id!r} in this process")
    given = envelopes if envelopes is not None else [envelope] if envelope is not None else []
    received = [Envelope.model_validate(e) for e in given]
    if handler.batch is not None:
        return await _deliver_batch(handler, received)
    answers = [await _deliver_one(handler, each) for each in received]
    return (
        answers[0] if len(answers) == 1 else f"handled {answers.count('handled')} of {len(answers)}"
    )


async def _deliver_one(handler: Handler, received: Envelope) -> str:
    async with transaction() as connection:
        if not await mark_handled(connection, handler.id, received.id):
            return "already handled"
        # the mark is undone with the effect if the handler fails
        await handler.func(prepare(handler, received))
        await _check_not_aborted(connection)
    return "handled"


async def _deliver_batch(handler: Handler, received: list[Envelope]) -> str:
    # an envelope whose payload the handler's event model rejects is split out at once
    # (delivered alone, to fail its own tries), not left to fail its whole batch
    # through every try before the split
    valid: list[tuple[Envelope, Envelope]] = []
    invalid: dict[uuid.UUID, Envelope] = {}
    for envelope in received:
        try:
            valid.append((envelope, prepare(handler, envelope)))
        except ValidationError:
            if len(received) == 1:
                raise
            invalid[envelope.id] = envelope
    async with transaction() as connection:
        if invalid:  # with the marks: both or neither
            await current().tasks.enqueue_many(
                [
                    batch_delivery(handler, [e.model_dump(mode="json", exclude={"event"})])
                    for e in invalid.values()
                ]
            )
        fresh = await mark_many_handled(connection, handler.id, [e.id for e, _ in valid])
        todo = []
        for envelope, prepared in valid:
            if envelope.id in fresh:  # each once, even if the batch named it twice
                fresh.discard(envelope.id)
                todo.append(prepared)
        if not todo:
            return "already handled" if not invalid else f"split out {len(invalid)}"
        await handler.func(todo)  # the marks are undone with the effects if it fails
        await _check_not_aborted(connection)
    split = f", split out {len(invalid)}" if invalid else ""
    return f"handled {len(todo)} of {len(received)}{split}"


async def _check_not_aborted(connection: Any) -> None:
    if connection.capabilities.dialect == "postgres":
        # a handler that caught a database error has left the transaction aborted,
        # and PostgreSQL answers COMMIT with a silent ROLLBACK: fail (and retry) here
        # rather than report as handled an effect and a mark that were both undone
        async with connection.acquire_connection() as raw, orm_errors():
            await raw.execute("SELECT 1")


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


async def mark_many_handled(
    connection: Any, handler_id: str, event_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Mark (handler, event) handled for each of ``event_ids`` in the caller's
    transaction; the ids that were not marked yet. On PostgreSQL one statement."""
    if connection.capabilities.dialect != "postgres":
        return {e for e in event_ids if await mark_handled(connection, handler_id, e)}
    async with connection.acquire_connection() as raw, orm_errors():
        rows = await raw.fetch(_MARK_MANY, handler_id, event_ids, datetime.now(UTC))
    return {row[0] for row in rows}


async def dead_letter(kwargs: dict[str, Any], attempts: int, problem: dict[str, Any]) -> None:
    """Keep a delivery that failed its last try, for ``lyo events replay``; a batch of
    several events is split into deliveries of one instead, each with its own tries."""
    batch = kwargs.get("envelopes")
    if batch is not None and len(batch) > 1:
        handler = current().events.handlers.get(kwargs["handler_id"])
        if handler is not None:
            # in a transaction: their messages leave after the commit, and if Redis is
            # down they wait in the database for the reaper, as a dead letter would,
            # rather than fail the split and strand the batch's run
            async with transaction():
                await current().tasks.enqueue_many([delivery(handler, e) for e in batch])
            return
    for envelope in batch if batch is not None else [kwargs["envelope"]]:
        await _dead_letter(kwargs["handler_id"], envelope, attempts, problem)


async def _dead_letter(
    handler_id: str, envelope: dict[str, Any], attempts: int, problem: dict[str, Any]
) -> None:
    await DeadLetter.create(
        handler_id=handler_id,
        event_id=envelope["id"],
        type=envelope["type"],
        envelope=envelope,
        error=str(problem.get("detail")),
        attempts=attempts,
    )


DELIVER: TaskSpec = task("kernel:deliver", kind="event")(deliver)
DELIVER.on_failure = dead_letter
