"""Notices: the per-user websocket topic ``user:{id}`` and what plugins send to it.

``user:{id}`` is kernel-owned, like ``task:{id}``: only the identity whose ``id`` is
``{id}`` may subscribe (administrators included: a user's notices are theirs alone),
the subscription has no snapshot, and no plugin's ``authorize_topic`` is asked.
Plugins send to it with :meth:`kernel.Kernel.notify_user`::

    await kernel.notify_user(user.id, "community.reply", {"discussion_id": str(d.id)})

which publishes, once the current transaction commits (at once outside one), the
message ``{"kind": "community.reply", ...data}`` to ``user:{id}``. ``kind`` is
``"<plugin>.<what>"`` where ``<plugin>`` is a loaded plugin's name, so a client can
dispatch on it and tell who sent it. Delivery is the hub's: at most once, to the
user's connections open at that moment; anything a user must not miss is also
stored by the plugin (an inbox) and read over HTTP.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from kernel.data.db import after_commit
from kernel.errors import Forbidden
from kernel.identity import Identity
from kernel.realtime.hub import valid_topic

if TYPE_CHECKING:
    from kernel.kernel import Kernel

#: The prefix of per-user topics.
USER_PREFIX = "user:"

#: ``<plugin>.<what>``: a plugin's name, a dot, then letters, digits, ``_`` and dots.
KIND_PATTERN = re.compile(r"([a-z][a-z0-9_]*)\.([a-z0-9_][a-z0-9_.]*)", re.ASCII)


def user_topic(user_id: object) -> str:
    """The topic of user ``user_id`` (any id: it is written with ``str``)."""
    return f"{USER_PREFIX}{user_id}"


async def authorize_user_topic(identity: Identity, topic: str) -> None:
    """Authorizes websocket topic ``user:{id}`` for that user alone; no snapshot."""
    if identity.id is None or topic != user_topic(identity.id):
        raise Forbidden("A user's topic is for that user alone.")
    return None


def notice(kernel: Kernel, kind: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """The message of a notice, checked: ``kind`` names a loaded plugin, ``data`` is
    JSON-able and has no ``kind`` of its own. Raises :class:`ValueError` or
    :class:`TypeError` (a bug of the caller, found before anything is sent)."""
    match = KIND_PATTERN.fullmatch(kind) if isinstance(kind, str) else None
    if match is None:
        raise ValueError(f"notice kind {kind!r} must look like '<plugin>.<what>'")
    if match.group(1) not in kernel.plugins:
        raise ValueError(
            f"notice kind {kind!r} must start with a loaded plugin's name "
            f"(loaded: {', '.join(sorted(kernel.plugins)) or 'none'})"
        )
    data = dict(data or {})
    if "kind" in data:
        raise ValueError("a notice's data must not have its own 'kind'")
    message = {"kind": kind, **data}
    orjson.dumps(message)  # a TypeError here is the caller's bug: raise it now
    return message


async def notify_user(
    kernel: Kernel, user_id: object, kind: str, data: dict[str, Any] | None = None
) -> None:
    """Publish ``{"kind": kind, **data}`` to ``user:{user_id}`` after the current
    transaction commits (never if it rolls back; at once outside one). Sent as the
    hub's ``publish_soon``: the caller does not wait for Redis (a process's notices to
    one user still arrive in order), and a burst shares round trips."""
    topic, message = user_topic(user_id), notice(kernel, kind, data)
    if not valid_topic(topic):
        raise ValueError(f"user id {user_id!r} does not make a valid topic")

    async def send() -> None:
        kernel.hub.publish_soon(topic, message)

    await after_commit(send)
