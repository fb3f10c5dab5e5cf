"""Personal data (the ``export_user`` and ``erase_user`` hooks): the user's course
generations (the courses themselves are the learning plugin's)."""

from __future__ import annotations

from .models import Generation


async def export_user(user_id: str) -> dict[str, object] | None:
    """The user's course generations: the topic they asked for, the model, the cost."""
    generations = (
        await Generation.filter(owner_id=user_id)
        .order_by("created_at")
        .values("task_id", "course_id", "topic", "model", "tokens", "seconds", "created_at")
    )
    return {"generations": generations} if generations else None


async def erase_user(user_id: str) -> None:
    """Delete the user's generation records."""
    await Generation.filter(owner_id=user_id).delete()
