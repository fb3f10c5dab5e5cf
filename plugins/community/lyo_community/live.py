"""What leaves after commit: messages on websocket topic ``community:discussion:{id}``
and per-user notices on ``user:{id}`` (``kind`` ``community.reply``, ...), honouring
blocks. Events for other plugins go through the outbox (:mod:`.events`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from kernel import after_commit

from .models import Block, Subscription
from .settings import NAME, plugin


def topic(discussion_id: UUID | str) -> str:
    return f"{NAME}:discussion:{discussion_id}"


async def broadcast(discussion_id: UUID, what: str, data: dict[str, Any]) -> None:
    """Send ``{"type": what, **data}`` to the discussion's subscribers once the current
    transaction commits (never if it rolls back)."""
    message = {"type": what, **data}

    async def send() -> None:
        await plugin.kernel.hub.publish(topic(discussion_id), message)

    await after_commit(send)


async def blockers_of(actor_id: str, user_ids: Iterable[str]) -> set[str]:
    """Which of ``user_ids`` blocked ``actor_id``."""
    ids = {u for u in user_ids if u}
    if not ids:
        return set()
    rows = await Block.filter(blocked_id=actor_id, blocker_id__in=ids).values_list(
        "blocker_id", flat=True
    )
    return set(rows)


async def notify(
    actor_id: str, user_ids: Iterable[str], what: str, data: dict[str, Any]
) -> list[str]:
    """Notify each of ``user_ids`` (but the actor and those who blocked them) on
    ``user:{id}``, after commit; who was notified."""
    wanted = {u for u in user_ids if u and u != actor_id}
    wanted -= await blockers_of(actor_id, wanted)
    for user_id in sorted(wanted):
        await plugin.notify_user(user_id, what, data)
    return sorted(wanted)


async def subscribers(discussion_id: UUID) -> list[str]:
    return list(
        await Subscription.filter(discussion_id=discussion_id).values_list("user_id", flat=True)
    )
