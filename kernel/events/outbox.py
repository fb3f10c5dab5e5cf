"""Publishing: an event is a row of ``kernel_outbox_event`` written in the publisher's
transaction, so it exists if and only if the publisher's data was committed. On
PostgreSQL the row's ``NOTIFY`` (sent at commit) wakes the relay."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson
import structlog

from kernel.data.db import current_transaction, orm_errors, transaction
from kernel.data.models import OutboxEvent
from kernel.events.model import Envelope, Event, check_type

if TYPE_CHECKING:
    from tortoise import BaseDBAsyncClient

    from kernel.events.runtime import Events

NOTIFY_CHANNEL = "lyo_outbox"
_current: contextvars.ContextVar[Events | None] = contextvars.ContextVar("lyo_events", default=None)
_PUBLISH = (
    "WITH written AS (INSERT INTO kernel_outbox_event (id, type, occurred_at, request_id, "
    "payload) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id) "
    f"SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM written"
)
_PUBLISH_MANY = (
    "WITH written AS (INSERT INTO kernel_outbox_event (id, type, occurred_at, request_id, "
    "payload) SELECT i, t, o, r, p::jsonb FROM unnest($1::uuid[], $2::text[], "
    "$3::timestamptz[], $4::text[], $5::text[]) AS e(i, t, o, r, p) RETURNING id) "
    f"SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM (SELECT 1 FROM written LIMIT 1) AS w"
)


async def publish(event: Event) -> Envelope:
    """Publish ``event`` through the outbox of the current transaction (or its own)."""
    events = _current.get()
    if events is None:
        raise RuntimeError("no kernel is active here; call kernel.activate() first")
    return await events.publish(event)


async def publish_many(events: Sequence[Event]) -> list[Envelope]:
    """Publish ``events``, in this order, through the outbox of the current transaction
    (or their own): on PostgreSQL one statement for all of them."""
    kernel_events = _current.get()
    if kernel_events is None:
        raise RuntimeError("no kernel is active here; call kernel.activate() first")
    return await kernel_events.publish_many(events)


def activate(events: Events) -> None:
    """Make ``events`` the one :func:`publish` goes to in this context."""
    _current.set(events)


def new_envelope(event: Event) -> Envelope:
    """A new envelope of ``event``: its id, version, time and the current request id."""
    return Envelope(
        id=uuid.uuid4(),
        type=event.type,
        version=check_type(event.type),
        occurred_at=datetime.now(UTC),
        request_id=structlog.contextvars.get_contextvars().get("request_id"),
        payload=event.model_dump(mode="json"),
    )


async def write_many(envelopes: list[Envelope]) -> None:
    """Write ``envelopes`` to the outbox in the current transaction (or their own), on
    PostgreSQL in one statement (and one ``NOTIFY``). Inside one, no savepoint: it would
    cost two round trips, and a failed write fails the publisher's transaction either
    way."""
    if not envelopes:
        return
    connection = current_transaction()
    if connection is None:
        async with transaction() as connection:
            await _insert_many(connection, envelopes)
    else:
        await _insert_many(connection, envelopes)


async def _insert_many(connection: BaseDBAsyncClient, envelopes: list[Envelope]) -> None:
    if len(envelopes) == 1 or connection.capabilities.dialect != "postgres":
        for envelope in envelopes:
            await _insert(connection, envelope)
        return
    async with connection.acquire_connection() as raw, orm_errors():
        await raw.execute(
            _PUBLISH_MANY,
            [e.id for e in envelopes],
            [e.type for e in envelopes],
            [e.occurred_at for e in envelopes],
            [e.request_id for e in envelopes],
            [orjson.dumps(e.payload, option=orjson.OPT_NON_STR_KEYS).decode() for e in envelopes],
        )


async def _insert(connection: BaseDBAsyncClient, envelope: Envelope) -> None:
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
