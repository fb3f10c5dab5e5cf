"""What other plugins may call: read-only facts about a user's points and achievements.

::

    from lyo_gamification.api import points_of, achievements_of

Call these in a request, a task or a handler (the database is current). Changes are
announced as events (``gamification.points_awarded.v1``,
``gamification.achievement_unlocked.v1``, ``gamification.streak_extended.v1``), which
is how a plugin should react to them.
"""

from __future__ import annotations

from .models import Balance, Unlock

__all__ = ["achievements_of", "points_of"]


async def points_of(user_ids: list[str]) -> dict[str, int]:
    """``{user_id: balance}``; users without points are absent."""
    rows = await Balance.filter(user_id__in=list(user_ids)).values_list("user_id", "points")
    return {user_id: int(points) for user_id, points in rows}


async def achievements_of(user_id: str) -> dict[str, int]:
    """``{achievement id: highest tier unlocked}``."""
    best: dict[str, int] = {}
    for achievement, tier in await Unlock.filter(user_id=user_id).values_list(
        "achievement", "tier"
    ):
        best[achievement] = max(best.get(achievement, 0), tier)
    return best
