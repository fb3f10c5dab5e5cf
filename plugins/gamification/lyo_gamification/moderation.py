"""Withdrawing what a moderated community post earned, and restoring it.

``community.content_moderated.v1`` says a post was hidden, unhidden, deleted or
rejected. The plugin keeps each post's state (:class:`Moderated`) and brings every
award deriving from the post (rules with a ``content`` field: the post's own award,
the reactions it received) in line with it by appending compensating entries, never
by editing: a withdrawal (``-points``, the achievement counters one back) while the
post is hidden or deleted, a restoration (``+points``) once it is public again. The
entries reversing an award are numbered (``reverses:{id}:{n}``, unique like any award
key): an odd count means withdrawn. So a redelivered or repeated moderation event
changes nothing, and of two racing ones the second waits for the first (the post's row
is locked) and then finds the state already reached.

Held posts are announced by the community plugin only once approved, so they never
earned anything; an award arriving after its post was hidden (a late delivery) is
withdrawn in the same transaction (see :func:`withdraw_entry`). Unlocked achievement
tiers and streak days stay: they record what was reached.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from kernel import Envelope

from . import effects, ledger
from .models import Entry, Moderated
from .rules import current_rules

HIDE = {"hidden": True, "unhidden": False}
GONE = {"deleted", "rejected"}


async def moderated(envelope: Envelope) -> None:
    """The handler of ``community.content_moderated.v1``."""
    payload = envelope.payload
    action = payload.get("action")
    content = str(payload.get("target_id") or "")
    if not content or (action not in HIDE and action not in GONE):
        return  # pinned, locked, moved...: nothing earned changes
    await Moderated.get_or_create(content=content, defaults={"changed_at": envelope.occurred_at})
    state = await Moderated.filter(content=content).select_for_update().get()
    if action in GONE:
        state.deleted = True  # final, whatever order events arrive in
    elif envelope.occurred_at >= state.changed_at:
        state.hidden = HIDE[action]
    else:
        return  # an older hide or unhide delivered after a newer one
    state.changed_at = max(state.changed_at, envelope.occurred_at)
    await state.save()
    withheld = state.hidden or state.deleted
    for entry in await Entry.filter(content=content, reverses=None):
        await settle(entry, withheld, envelope.id)


async def hidden_among(contents: set[str]) -> set[str]:
    """Those of the posts ``contents`` that moderation has hidden or deleted."""
    if not contents:
        return set()
    found = await Moderated.filter(content__in=sorted(contents)).values_list(
        "content", "hidden", "deleted"
    )
    return {content for content, hidden, deleted in found if hidden or deleted}


async def settle(entry: Entry, withheld: bool, event_id: uuid.UUID | None) -> None:
    """Withdraw ``entry`` if ``withheld`` and it stands, restore it if not and it was
    withdrawn; otherwise nothing."""
    reversals = await Entry.filter(reverses=entry.id).count()
    if withheld == (reversals % 2 == 1):
        return  # already where it should be
    await _reverse(
        entry.id,
        entry.user_id,
        entry.points,
        entry.rule,
        entry.reason,
        entry.scope,
        entry.occurred_at,
        reversals + 1,
        event_id,
    )


async def withdraw_entry(entry_id: int, award: ledger.Award, at: datetime) -> None:
    """Withdraw an award just made for a post already hidden or deleted."""
    await _reverse(
        entry_id,
        award.user_id,
        award.points,
        award.rule,
        award.reason,
        award.scope,
        at,
        1,
        award.event_id,
    )


async def _reverse(
    entry_id: int,
    user_id: str,
    points: int,
    rule: str,
    reason: str,
    scope: str | None,
    occurred_at: datetime,
    number: int,
    event_id: uuid.UUID | None,
) -> None:
    withdrawal = number % 2 == 1
    award = ledger.Award(
        user_id=user_id,
        points=-points if withdrawal else points,
        reason=f"{'Withdrawn' if withdrawal else 'Restored'}: {reason}",
        rule=rule,
        award_key=f"reverses:{entry_id}:{number}",
        # the period it was earned in: the boards of that period lose or regain it
        occurred_at=occurred_at,
        event_id=event_id,
        scope=scope,
        reverses=entry_id,
        counts=[a.id for a in current_rules().counting.get(rule, [])],
        step=-1 if withdrawal else 1,
    )
    recorded = await ledger.record(award)
    if recorded is not None:
        await effects.announce(award, recorded, thorough=False)
