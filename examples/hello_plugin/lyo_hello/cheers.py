"""Cheers: recorded in the database, pushed to the user's websocket topic ``hello:{id}``
once the transaction commits. Routes and the event handler both come here."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

import kernel
from kernel import Envelope

from .config import NAME, running_kernel, settings
from .models import Cheer


class CheerOut(BaseModel):
    id: int
    user_id: str
    message: str
    lesson_id: UUID | None
    created_at: datetime


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
    hub = running_kernel().hub
    data = {"cheer": cheer.model_dump(mode="json")}
    await kernel.after_commit(lambda: hub.publish(topic(user_id), data))
    return cheer


@kernel.on("learning.lesson_completed.v1", id="hello:cheer_lesson")
async def cheer_lesson(envelope: Envelope) -> None:
    """Cheer a learner who completed a lesson.

    Subscribed by type string: this plugin needs no dependency on ``lyo-learning`` and
    reads only the payload (``user_id``, ``lesson_id``, ``course_id``, ...). Durable: it
    runs as a task, at least once, its effect once per event.
    """
    user_id = str(envelope.payload["user_id"])
    message = f"{settings().cheer}, {user_id}! Lesson complete."
    await record(user_id, message, lesson_id=envelope.payload.get("lesson_id"))
