"""What follows a new ledger entry, in its transaction: the points event and the
user's notice, the boards (after commit), the streak's event, and the achievement
tiers the entry's counters reached.

The events go to ``out`` when given (the caller publishes a batch's events together,
in order, with :func:`kernel.publish_many`), else they are published at once. With
``unlocks`` (:class:`Unlocks`), a batch reads the tiers its users had in one query and
writes those it unlocks in one, instead of a query and an insert per tier."""

from __future__ import annotations

from kernel import Event, publish_many

from . import boards, ledger
from . import events as published
from .models import Unlock
from .rules import Achievement, current_rules
from .settings import plugin


class Unlocks:
    """A batch's achievement tiers: those its users had (:meth:`load`, before the
    announcements) and those it unlocks (:meth:`save`, after them)."""

    def __init__(self) -> None:
        self.have: dict[tuple[str, str], set[int]] = {}
        self.made: list[Unlock] = []

    async def load(self, pairs: set[tuple[str, str]]) -> None:
        """Read the tiers of these (user, achievement) pairs not read yet."""
        pairs = {pair for pair in pairs if pair not in self.have}
        if not pairs:
            return
        found = await Unlock.filter(
            user_id__in=sorted({user for user, _ in pairs}),
            achievement__in=sorted({achievement for _, achievement in pairs}),
        ).values_list("user_id", "achievement", "tier")
        for pair in pairs:
            self.have[pair] = set()
        for user_id, achievement, tier in found:
            if (user_id, achievement) in pairs:
                self.have[(user_id, achievement)].add(tier)

    async def save(self) -> None:
        if self.made:
            await Unlock.bulk_create(self.made)
            self.made = []


def reachable(
    award: ledger.Award, recorded: ledger.Recorded, *, thorough: bool
) -> set[tuple[str, str]]:
    """The (user, achievement) pairs whose tiers :func:`announce` will check."""
    rules = current_rules()
    pairs = set()
    if award.step > 0:
        for achievement_id, count in recorded.counts.items():
            if thorough or count in rules.achievements[achievement_id].tiers:
                pairs.add((award.user_id, achievement_id))
    if recorded.streak is not None and award.streak_day is not None:
        for achievement in rules.streaks:
            if thorough or recorded.streak[1] in achievement.tiers:
                pairs.add((award.user_id, achievement.id))
    return pairs


async def announce(
    award: ledger.Award,
    recorded: ledger.Recorded,
    *,
    thorough: bool,
    out: list[Event] | None = None,
    unlocks: Unlocks | None = None,
) -> None:
    """What follows a new entry: its event and notice, the boards (after commit), the
    streak's event, and the achievement tiers its counters reached."""
    events: list[Event] = [] if out is None else out
    user_id = award.user_id
    if award.points and recorded.excluded is None:  # first: see boards.add
        await boards.add(
            boards.Award(user_id, award.points, award.scope, award.occurred_at, recorded.entry_id)
        )
    if award.points:
        events.append(
            published.PointsAwarded(
                user_id=user_id,
                entry_id=recorded.entry_id,
                points=award.points,
                balance=recorded.balance,
                rule=award.rule,
                reason=award.reason[:200],
                scope=award.scope,
            )
        )
        await plugin.notify_user(
            user_id,
            "points",
            {"points": award.points, "balance": recorded.balance, "reason": award.reason[:200]},
        )
    rules = current_rules()
    if award.step > 0:  # a withdrawal takes progress back, never unlocks
        for achievement_id, count in recorded.counts.items():
            achievement = rules.achievements[achievement_id]
            await unlock_reached(
                user_id, achievement, count, thorough=thorough, out=events, unlocks=unlocks
            )
    if recorded.streak is not None and award.streak_day is not None:
        current, longest = recorded.streak
        events.append(
            published.StreakExtended(
                user_id=user_id, current=current, longest=longest, day=award.streak_day
            )
        )
        for achievement in rules.streaks:
            await unlock_reached(
                user_id, achievement, longest, thorough=thorough, out=events, unlocks=unlocks
            )
    if out is None:
        await publish_many(events)


async def unlock_reached(
    user_id: str,
    achievement: Achievement,
    value: int,
    *,
    thorough: bool = True,
    out: list[Event] | None = None,
    unlocks: Unlocks | None = None,
) -> None:
    """Unlock every tier of ``achievement`` that ``value`` reaches, once each. Values
    move one at a time, so unless ``thorough`` only a value equal to a tier is checked."""
    if not thorough and value not in achievement.tiers:
        return
    reached = [tier for tier in achievement.tiers if tier <= value]
    if not reached:
        return
    pair = (user_id, achievement.id)
    if unlocks is not None and pair in unlocks.have:
        have = unlocks.have[pair]
    else:
        have = {
            unlock.tier
            for unlock in await Unlock.filter(user_id=user_id, achievement=achievement.id)
        }
    for tier in reached:
        if tier in have:
            continue
        if unlocks is not None and pair in unlocks.have:
            have.add(tier)  # unlocks.have's own set
            unlocks.made.append(Unlock(user_id=user_id, achievement=achievement.id, tier=tier))
        else:
            await Unlock.create(user_id=user_id, achievement=achievement.id, tier=tier)
        unlocked = published.AchievementUnlocked(
            user_id=user_id,
            achievement=achievement.id,
            name=achievement.name,
            tier=tier,
            final=tier == achievement.tiers[-1],
        )
        if out is None:
            await publish_many([unlocked])
        else:
            out.append(unlocked)
        await plugin.notify_user(
            user_id,
            "unlocked",
            {"achievement": achievement.id, "name": achievement.name, "tier": tier},
        )
