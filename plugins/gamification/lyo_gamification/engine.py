"""The rules engine: an event in, ledger entries, achievement unlocks and streaks out.

Everything here runs in the caller's transaction (a durable handler's delivery, a
backfill batch, an admin grant): the entry, the balance, the unlocks, the events
published and the notices either all commit or none does. The ledger's unique (rule,
award_key) is what makes an award happen once: a second event rewarding the same thing
finds the entry and awards nothing; of two racing ones, the second waits for the
first to commit and then inserts nothing (see :mod:`.ledger`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kernel import Envelope

from . import effects, ledger, moderation
from .rules import Rule, current_rules
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
    journal = ledger.Journaled(
        envelope.id,
        envelope.type,
        next((u for r in rules if (u := r.subject(envelope.payload))), None),
        envelope.occurred_at,
        envelope.payload,
    )
    return await apply(envelope.id, envelope.payload, envelope.occurred_at, rules, journal)


async def apply(
    event_id: uuid.UUID,
    payload: Mapping[str, Any],
    occurred_at: datetime,
    rules: list[Rule],
    journal: ledger.Journaled | None = None,
    *,
    thorough: bool = False,
) -> Outcome:
    """Apply ``rules`` to one event, journaling it (``journal``) with the first award.
    Achievement tiers are checked when a count reaches one (counts move by one);
    ``thorough`` (backfills) checks every tier reached."""
    entries = points = 0
    counting = current_rules().counting
    for rule in rules:
        user_id = rule.subject(payload)
        if user_id is None or not rule.matches(payload):
            continue
        at = rule.time_of(payload, occurred_at)
        day, timezone = None, "UTC"
        if rule.streak:
            timezone = await timezone_of(user_id)
            day = local_day(at, timezone)
        award = ledger.Award(
            user_id=user_id,
            points=rule.points,
            reason=rule.label,
            rule=rule.id,
            award_key=rule.award_key(user_id, payload, event_id),
            occurred_at=at,
            event_id=event_id,
            scope=rule.scope_of(payload),
            content=rule.content_of(payload),
            counts=[a.id for a in counting.get(rule.id, [])],
            streak_day=day,
            timezone=timezone,
        )
        recorded = await ledger.record(award, journal)
        journal = None  # journaled with this statement, whatever it awarded
        if recorded is None:
            continue
        entries += 1
        points += rule.points
        await effects.announce(award, recorded, thorough=thorough)
        if recorded.withheld:  # a post moderated before its award arrived
            await moderation.withdraw_entry(recorded.entry_id, award, at)
    if journal is not None:
        await ledger.journal_only(journal)
    return Outcome(entries, points)


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


async def grant(
    user_id: str, points: int, reason: str, by: str | None, at: datetime
) -> ledger.Recorded | None:
    """An administrator's grant (or, negative, revocation): a ledger entry of its own;
    ``None`` for an erased user."""
    award = ledger.Award(
        user_id=user_id,
        points=points,
        reason=reason,
        rule="admin",
        award_key=f"{user_id}:{uuid.uuid4()}",
        occurred_at=at,
        granted_by=by,
    )
    recorded = await ledger.record(award)
    if recorded is not None:
        await effects.announce(award, recorded, thorough=False)
    return recorded
