"""The events the plugin handles (it publishes none).

``hello:cheer_lesson`` is subscribed by type string: this plugin needs no dependency on
``lyo-learning`` and reads only the payload (``user_id``, ``lesson_id``, ...).
"""

from __future__ import annotations

import kernel
from kernel import Envelope

from . import cheers
from .settings import plugin


@kernel.on("learning.lesson_completed.v1", id="hello:cheer_lesson")
async def cheer_lesson(envelope: Envelope) -> None:
    """Cheer a learner who completed a lesson. Durable: it runs as a task, at least once,
    its effect once per event."""
    user_id = str(envelope.payload["user_id"])
    message = f"{plugin.settings.cheer}, {user_id}! Lesson complete."
    await cheers.record(user_id, message, lesson_id=envelope.payload.get("lesson_id"))
