"""The rules engine: an event in, ledger entries, achievement unlocks and streaks out.

Everything here runs in the caller's transaction (a durable handler's delivery of a
batch of events, a backfill batch, an admin grant): the entry, the balance, the unlocks, the events
published and the notices either all commit or none does. The ledger's unique (rule,
award_key) is what makes an award happen once: a second event rewarding the same thing
finds the entry and awards nothing; of two racing ones, the second waits for the
first to commit and then inserts nothing (see :mod:`.ledger`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kernel import Envelope, Event, publish_many

from . import bulk, effects, ledger, moderation
from .rules import Rule, current_rules
from .settings import plugin

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    entries: int = 0
    points: int = 0


#: One event to apply: its id, payload, time and the rules on its type.
Applied = tuple[uuid.UUID, Mapping[str, Any], datetime, list[Rule]]


async def handle(envelope: Envelope) -> Outcome:
    """Journal the event, then apply every rule on its type."""
    return await handle_many([envelope])


async def handle_many(envelopes: list[Envelope]) -> Outcome:
    """Journal the events (one statement), then apply every rule on their types, set
    based (:mod:`.bulk`): the entries, balances, counters, streaks, unlocks and events
    are those of handling the events one by one, in order."""
    by_event = current_rules().by_event
    journals: list[ledger.Journaled] = []
    applied: list[Applied] = []
    for envelope in envelopes:
        rules = by_event.get(envelope.type, [])
        if not rules:
            continue
        journals.append(
            ledger.Journaled(
                envelope.id,
                envelope.type,
                next((u for r in rules if (u := r.subject(envelope.payload))), None),
                envelope.occurred_at,
                envelope.payload,
            )
        )
        applied.append((envelope.id, envelope.payload, envelope.occurred_at, rules))
    await bulk.journal_many(journals)
    return await award(await awards_of(applied))


async def awards_of(applied: Sequence[Applied]) -> list[ledger.Award]:
    """The awards the rules make of these events, in order; the time zones of the
    users whose streaks they extend are looked up once for all."""
    counting = current_rules().counting
    matched = [
        (event_id, payload, occurred_at, rule, user_id)
        for event_id, payload, occurred_at, rules in applied
        for rule in rules
        if (user_id := rule.subject(payload)) is not None and rule.matches(payload)
    ]
    zones = await timezones(sorted({user for *_, rule, user in matched if rule.streak}))
    awards = []
    for event_id, payload, occurred_at, rule, user_id in matched:
        at = rule.time_of(payload, occurred_at)
        timezone = zones.get(user_id, "UTC") if rule.streak else "UTC"
        awards.append(
            ledger.Award(
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
                streak_day=local_day(at, timezone) if rule.streak else None,
                timezone=timezone,
            )
        )
    return awards


async def award(awards: list[ledger.Award], thorough: bool = False) -> Outcome:
    """Record ``awards`` and what follows each, publishing their events together. An
    award of a post moderation has hidden is withdrawn at once, before the awards after
    it are recorded, so their balances include the withdrawal, as one by one.
    Achievement tiers are checked when a count reaches one (counts move by one);
    ``thorough`` (backfills) checks every tier reached."""
    # every user's balance row first, in user order: no deadlock with another batch
    await bulk.lock_balances({a.user_id for a in awards})
    hidden = await moderation.hidden_among({a.content for a in awards if a.content})
    ends = [i + 1 for i, a in enumerate(awards) if a.content in hidden] + [len(awards)]
    entries = points = start = 0
    out: list[Event] = []
    unlocks = effects.Unlocks()
    for end in ends:
        part, start = awards[start:end], end
        made = [
            (each, recorded)
            for each, recorded in zip(part, await bulk.record_many(part), strict=True)
            if recorded is not None
        ]
        await unlocks.load({p for e, r in made for p in effects.reachable(e, r, thorough=thorough)})
        for each, recorded in made:
            entries += 1
            points += each.points
            await effects.announce(each, recorded, thorough=thorough, out=out, unlocks=unlocks)
            if recorded.withheld:  # a post moderated before its award arrived
                await publish_all(out)
                await moderation.withdraw_entry(recorded.entry_id, each, each.occurred_at)
    await unlocks.save()
    await publish_all(out)
    return Outcome(entries, points)


async def publish_all(events: list[Event]) -> None:
    """Publish what was collected so far, in order, and forget it."""
    if events:
        await publish_many(events)
        events.clear()


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
    return (await timezones([user_id])).get(user_id, "UTC")


async def timezones(user_ids: list[str]) -> dict[str, str]:
    """:func:`timezone_of` for several users at once (those without one left out)."""
    if not user_ids:
        return {}
    return {user: info.timezone for user, info in (await profiles(user_ids)).items()}


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
