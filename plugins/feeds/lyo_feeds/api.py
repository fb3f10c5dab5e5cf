"""What other plugins may call (import it inside ``try/except ImportError``: feeds is
optional). All ids are the text form of ``Identity.id`` / the publishers' ids."""

from __future__ import annotations

from .activity import visibility_of
from .models import Follow

__all__ = ["followers", "follows", "visibility_of"]


async def follows(user_id: str, kind: str, target_id: str) -> bool:
    """Whether ``user_id`` follows the user or course (``kind``) ``target_id``."""
    return await Follow.exists(user_id=user_id, kind=kind, target_id=target_id)


async def followers(kind: str, target_id: str, limit: int = 1000) -> list[str]:
    """Up to ``limit`` ids of the users following the user or course ``target_id``."""
    rows = await Follow.filter(kind=kind, target_id=target_id).limit(limit)
    return [row.user_id for row in rows]
