"""The events this plugin publishes (through the outbox, in the transaction that made
the change) and the durable handlers it subscribes by type string.

Published: ``gamification.points_awarded.v1``, ``gamification.achievement_unlocked.v1``,
``gamification.streak_extended.v1``. Consumed: every type in
:data:`lyo_gamification.rules.CONSUMED` (one batch handler each,
``gamification:award_<type>``, up to :data:`AWARD_BATCH` events a delivery),
``auth.user_deactivated.v1`` and ``auth.user_erased.v1`` (the user leaves the boards),
``community.content_moderated.v1`` (awards of a hidden or deleted post are withdrawn).
"""

from __future__ import annotations

from datetime import date

from kernel import Envelope, Event, Handler, on

from . import engine, moderation, privacy
from .rules import CONSUMED


class PointsAwarded(Event):
    """An entry was added to the ledger (``points`` negative for a revocation)."""

    type = "gamification.points_awarded.v1"
    user_id: str
    entry_id: int
    points: int
    balance: int
    rule: str  # "admin" for grants and revocations
    reason: str
    scope: str | None  # a course id


class AchievementUnlocked(Event):
    type = "gamification.achievement_unlocked.v1"
    user_id: str
    achievement: str
    name: str
    tier: int
    final: bool  # the achievement's last tier


class StreakExtended(Event):
    """A new day (in the user's time zone) counted in the user's streak; ``current`` is
    1 when a streak (re)starts."""

    type = "gamification.streak_extended.v1"
    user_id: str
    current: int
    longest: int
    day: date


#: Events a delivery hands the rules engine at once (one transaction, a few statements).
AWARD_BATCH = 50


async def award(envelopes: list[Envelope]) -> None:
    await engine.handle_many(envelopes)


async def leave_boards(envelope: Envelope) -> None:
    user_id = str(envelope.payload.get("user_id") or "")
    if user_id:
        await privacy.exclude(user_id, "deactivated")


async def forget(envelope: Envelope) -> None:
    user_id = str(envelope.payload.get("user_id") or "")
    if user_id:
        await privacy.erase(user_id)


def _handler_id(type_: str) -> str:
    return "gamification:award_" + type_.removesuffix(".v1").replace(".", "_")


HANDLERS: list[Handler] = [
    *(on(type_, id=_handler_id(type_), batch=AWARD_BATCH)(award) for type_ in CONSUMED),
    on("auth.user_deactivated.v1", id="gamification:leave_boards")(leave_boards),
    on("auth.user_erased.v1", id="gamification:forget")(forget),
    on("community.content_moderated.v1", id="gamification:moderated")(moderation.moderated),
]
