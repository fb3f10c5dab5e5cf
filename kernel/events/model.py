"""What events are: :class:`Event` types, the :class:`Envelope` handlers receive, and
:class:`Handler` subscriptions made with :func:`on`."""

from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, overload

from pydantic import BaseModel, ConfigDict

from kernel.errors import PluginError

_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v(\d+)$")


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
    idempotency and dead letters are keyed on it. With ``batch`` (durable handlers
    only), ``func`` takes a list of up to ``batch`` envelopes instead of one."""

    id: str
    type: str
    func: Callable[[Any], Awaitable[Any]]
    model: builtins.type[Event] | None = None
    durable: bool = True
    retries: int = 5
    backoff: float = 1.0
    batch: int | None = None


def prepare(handler: Handler, envelope: Envelope) -> Envelope:
    """The envelope ``handler`` receives: the payload validated into its event model, if
    it declared one."""
    event = handler.model.model_validate(envelope.payload) if handler.model else None
    return envelope.model_copy(update={"event": event})


@overload
def on(
    event: str | type[Event],
    *,
    id: str,
    durable: bool = True,
    retries: int = 5,
    backoff: float = 1.0,
    batch: None = None,
) -> Callable[[Callable[[Envelope], Awaitable[Any]]], Handler]: ...


@overload
def on(
    event: str | type[Event],
    *,
    id: str,
    durable: bool = True,
    retries: int = 5,
    backoff: float = 1.0,
    batch: int,
) -> Callable[[Callable[[list[Envelope]], Awaitable[Any]]], Handler]: ...


def on(
    event: str | type[Event],
    *,
    id: str,
    durable: bool = True,
    retries: int = 5,
    backoff: float = 1.0,
    batch: int | None = None,
) -> Callable[[Callable[[Any], Awaitable[Any]]], Handler]:
    """Subscribe ``async def handler(envelope)`` to an event type (a string, or an Event
    class whose payload is then validated into ``envelope.event``). ``durable=False``
    runs it in the publishing process after commit, best effort.

    ``batch=N`` (durable only) subscribes ``async def handler(envelopes)`` instead: it
    receives up to N envelopes of one relay round at once, in outbox order, in one
    transaction with their handled marks, and only those it has not handled yet. A
    batch that fails its last try is split into deliveries of one envelope each, so
    only the events that fail alone become dead letters; an envelope whose payload the
    event model rejects is split out at once, its batch handled without it."""
    type_ = event if isinstance(event, str) else event.type
    check_type(type_)
    model = None if isinstance(event, str) else event
    if batch is not None and (
        not isinstance(batch, int) or isinstance(batch, bool) or batch < 1 or not durable
    ):
        # checked here: a batch the relay cannot slice by would fail every relay round
        raise PluginError(
            f"handler {id!r}: batch must be a whole number >= 1, on a durable handler"
        )

    def subscribe(func: Callable[[Any], Awaitable[Any]]) -> Handler:
        return Handler(id, type_, func, model, durable, retries, backoff, batch)

    return subscribe
