"""The rules engine: an event in, ledger entries, achievement unlocks and streaks out.

Everything here runs in the caller's transaction (a durable handler's delivery, a
backfill batch, an admin grant): the entry, the balance, the unlocks, the events
published and the notices either all commit or none does. The ledger's unique (rule,
award_key) is what makes an award happen once: a second event rewarding the same thing
finds the entry and awards nothing; two racing ones collide on the constraint, and the
loser's delivery is retried, then finds the entry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.expressions import F

from kernel import Envelope, after_commit, publish

from . import boards
from . import events as published
from .models import Balance, Entry, Exclusion, Journal, Streak, Unlock
from .rules import Achievement, Rule, current_rules
from .settings import plugin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    entries: int = 0
    points: int = 0


async def handle(envelope: Envelope) -> Outcome:
    """Journal the event, then apply every rule on its type."""
    rules = current_rules().by_event.get(envelope.type, [])
    if not rules:
        return Outcome()
    await journal(envelope.id, envelope.type, envelope.payload, envelope.occurred_at, rules)
    return await apply(envelope.id, envelope.payload, envelope.occurred_at, rules)


async def journal(
    event_id: uuid.UUID,
    type_: str,
    payload: Mapping[str, Any],
    occurred_at: datetime,
    rules: list[Rule],
) -> None:
    row = Journal(
        event_id=event_id,
        type=type_,
        user_id=next((u for r in rules if (u := r.subject(payload))), None),
        occurred_at=occurred_at,
        payload=dict(payload),
    )
    await Journal.bulk_create([row], ignore_conflicts=True)  # once per event


async def apply(
    event_id: uuid.UUID,
    payload: Mapping[str, Any],
    occurred_at: datetime,
    rules: list[Rule],
    *,
    thorough: bool = False,
) -> Outcome:
    """Apply ``rules`` to one event. Achievement tiers are checked when a count reaches
    one (counts grow by one); ``thorough`` (backfills) checks every tier reached."""
    entries = points = 0
    subjects = {u for rule in rules if (u := rule.subject(payload))}
    excluded = dict(
        await Exclusion.filter(user_id__in=list(subjects)).values_list("user_id", "reason")
    )
    for rule in rules:
        user_id = rule.subject(payload)
        if user_id is None or not rule.matches(payload):
            continue
        if excluded.get(user_id) == "erased":
            continue  # a late event about an erased user brings nothing back
        at = rule.time_of(payload, occurred_at)
        entry = await record(
            user_id,
            rule.points,
            rule.label,
            rule.id,
            rule.award_key(user_id, payload, event_id),
            event_id=event_id,
            scope=rule.scope_of(payload),
            occurred_at=at,
            on_boards=user_id not in excluded,
        )
        if entry is None:
            continue
        entries += 1
        points += entry.points
        if rule.streak:
            await extend_streak(user_id, at, thorough=thorough)
        await check_counts(user_id, current_rules().counting.get(rule.id, []), thorough=thorough)
    return Outcome(entries, points)


async def record(
    user_id: str,
    points: int,
    reason: str,
    rule: str,
    award_key: str,
    *,
    event_id: uuid.UUID | None = None,
    scope: str | None = None,
    occurred_at: datetime,
    granted_by: str | None = None,
    on_boards: bool | None = None,
) -> Entry | None:
    """Append one entry and move the balance; ``None`` when (rule, award_key) was
    already awarded."""
    if await Entry.exists(rule=rule, award_key=award_key):
        return None
    entry = await Entry.create(
        user_id=user_id,
        points=points,
        reason=reason[:200],
        rule=rule,
        award_key=award_key,
        event_id=event_id,
        scope=scope,
        occurred_at=occurred_at,
        granted_by=granted_by,
    )
    if not await Balance.filter(user_id=user_id).update(points=F("points") + points):
        await Balance.create(user_id=user_id, points=points)
    balance = (await Balance.get(user_id=user_id)).points
    if points:
        await publish(
            published.PointsAwarded(
                user_id=user_id,
                entry_id=entry.id,
                points=points,
                balance=balance,
                rule=rule,
                reason=entry.reason,
                scope=scope,
            )
        )
        await plugin.notify_user(
            user_id, "points", {"points": points, "balance": balance, "reason": entry.reason}
        )
        if on_boards if on_boards is not None else not await Exclusion.exists(user_id=user_id):
            award = boards.Award(user_id, points, scope, occurred_at)
            await after_commit(lambda: boards.add([award]))
    return entry


async def check_counts(
    user_id: str, achievements: list[Achievement], *, thorough: bool = False
) -> None:
    for achievement in achievements:
        count = await Entry.filter(user_id=user_id, rule__in=achievement.rules).count()
        await unlock_reached(user_id, achievement, count, thorough=thorough)


async def unlock_reached(
    user_id: str, achievement: Achievement, value: int, *, thorough: bool = True
) -> None:
    """Unlock every tier of ``achievement`` that ``value`` reaches, once each. Values
    grow one at a time, so unless ``thorough`` only a value equal to a tier is checked."""
    if not thorough and value not in achievement.tiers:
        return
    reached = [tier for tier in achievement.tiers if tier <= value]
    if not reached:
        return
    have = {
        unlock.tier for unlock in await Unlock.filter(user_id=user_id, achievement=achievement.id)
    }
    for tier in reached:
        if tier in have:
            continue
        await Unlock.create(user_id=user_id, achievement=achievement.id, tier=tier)
        await publish(
            published.AchievementUnlocked(
                user_id=user_id,
                achievement=achievement.id,
                name=achievement.name,
                tier=tier,
                final=tier == achievement.tiers[-1],
            )
        )
        await plugin.notify_user(
            user_id,
            "unlocked",
            {"achievement": achievement.id, "name": achievement.name, "tier": tier},
        )


async def profiles(user_ids: list[str]) -> dict[str, Any]:
    """``{id: UserInfo}`` from the auth plugin's public api, for the ids with an account;
    empty where the auth plugin is not loaded (ids that are not UUIDs are left out)."""
    loaded = plugin.kernel.plugins.get("auth")
    if loaded is None or not loaded.usable:
        return {}
    try:
        from lyo_auth.api import users_by_id  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # an auth plugin other than lyo-auth
        return {}
    valid = []
    for user_id in user_ids:
        try:
            valid.append(str(uuid.UUID(user_id)))
        except ValueError:
            continue
    found = await users_by_id(valid)
    return {str(key): info for key, info in found.items()}


async def timezone_of(user_id: str) -> str:
    """The user's IANA time zone from their profile, or ``UTC`` where the auth plugin
    is not loaded or the user has no account."""
    info = (await profiles([user_id])).get(user_id)
    return info.timezone if info is not None else "UTC"


def local_day(at: datetime, timezone: str) -> date:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).date()


async def extend_streak(user_id: str, at: datetime, *, thorough: bool = False) -> None:
    """Count ``at``'s day (in the user's time zone) in their streak. The next day
    extends it; up to ``streak_grace_days`` missed days in between are forgiven; a
    longer gap starts a new streak; a day already counted (or an older one, from an
    event delivered late) changes nothing."""
    timezone = await timezone_of(user_id)
    day = local_day(at, timezone)
    streak = await Streak.filter(user_id=user_id).select_for_update().first()
    if streak is None:
        streak = await Streak.create(
            user_id=user_id, current=1, longest=1, last_day=day, timezone=timezone
        )
    else:
        last = (
            streak.last_day
            if isinstance(streak.last_day, date)
            else date.fromisoformat(str(streak.last_day))
        )
        gap = (day - last).days
        if gap <= 0:
            return
        streak.current = streak.current + 1 if gap <= 1 + plugin.settings.streak_grace_days else 1
        streak.longest = max(streak.longest, streak.current)
        streak.last_day = day
        streak.timezone = timezone
        await streak.save(
            update_fields=["current", "longest", "last_day", "timezone", "updated_at"]
        )
    await publish(
        published.StreakExtended(
            user_id=user_id, current=streak.current, longest=streak.longest, day=day
        )
    )
    for achievement in current_rules().streaks:
        await unlock_reached(user_id, achievement, streak.longest, thorough=thorough)


async def grant(user_id: str, points: int, reason: str, by: str, at: datetime) -> Entry:
    """An administrator's grant (or, negative, revocation): a ledger entry of its own."""
    entry = await record(
        user_id,
        points,
        reason,
        "admin",
        f"{user_id}:{uuid.uuid4()}",
        occurred_at=at,
        granted_by=by,
    )
    assert entry is not None  # a fresh key is never taken
    return entry
