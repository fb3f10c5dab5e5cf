"""Cheers: recorded in the database, pushed to the user's websocket topic ``hello:{id}``
once the transaction commits. The routes, the event handler and :mod:`.api` come here."""

from __future__ import annotations

from uuid import UUID

import kernel

from .models import Cheer
from .schemas import CheerOut
from .settings import NAME, plugin


def topic(user_id: str) -> str:
    """The websocket topic where ``user_id`` hears about new cheers."""
    return f"{NAME}:{user_id}"


def out(cheer: Cheer) -> CheerOut:
    return CheerOut(
        id=cheer.id,
        user_id=cheer.user_id,
        message=cheer.message,
        lesson_id=cheer.lesson_id,
        created_at=cheer.created_at,
    )


async def record(user_id: str, message: str, lesson_id: UUID | str | None = None) -> CheerOut:
    """Save a cheer; its websocket message leaves only if the transaction commits."""
    cheer = out(await Cheer.create(user_id=user_id, message=message, lesson_id=lesson_id))
    hub = plugin.kernel.hub
    data = {"cheer": cheer.model_dump(mode="json")}
    await kernel.after_commit(lambda: hub.publish(topic(user_id), data))
    return cheer


async def export_user(user_id: str) -> dict[str, object] | None:
    """The cheers this user received: personal data, so exported and erased on request."""
    cheers = (
        await Cheer.filter(user_id=user_id)
        .order_by("id")
        .values("message", "lesson_id", "created_at")
    )
    return {"cheers": cheers} if cheers else None


async def erase_user(user_id: str) -> None:
    await Cheer.filter(user_id=user_id).delete()
