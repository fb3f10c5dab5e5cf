"""Personal data: export and erase (the kernel's privacy hooks), and keeping a user off
the boards once deactivated or erased."""

from __future__ import annotations

from typing import Any

from kernel import after_commit

from . import boards, bulk
from .models import Balance, Entry, Exclusion, Journal, Progress, Streak, Unlock


async def export(user_id: str) -> dict[str, Any] | None:
    entries = (
        await Entry.filter(user_id=user_id)
        .order_by("id")
        .values("id", "points", "reason", "rule", "scope", "occurred_at", "created_at")
    )
    unlocks = (
        await Unlock.filter(user_id=user_id)
        .order_by("id")
        .values("achievement", "tier", "unlocked_at")
    )
    balance = await Balance.get_or_none(user_id=user_id)
    streak = await Streak.filter(user_id=user_id).values(
        "current", "longest", "last_day", "timezone"
    )
    journal = await Journal.filter(user_id=user_id).count()
    if not (entries or unlocks or balance or streak):
        return None
    return {
        "balance": balance.points if balance else 0,
        "entries": entries,
        "achievements": unlocks,
        "streak": streak[0] if streak else None,
        "events_received": journal,
    }


async def _scopes(user_id: str) -> list[str]:
    rows = await Entry.filter(user_id=user_id, scope__not_isnull=True).distinct().values("scope")
    return [str(row["scope"]) for row in rows if row["scope"]]


async def exclude(user_id: str, reason: str) -> None:
    """Keep ``user_id`` off the boards from now on (rebuilds leave them out too)."""
    scopes = await _scopes(user_id)
    if not await Exclusion.filter(user_id=user_id).update(reason=reason):
        await Exclusion.create(user_id=user_id, reason=reason)
    await after_commit(lambda: boards.remove(user_id, scopes))


async def erase(user_id: str) -> None:
    """Delete everything about ``user_id``: the ledger's entries too (the one exception
    to append-only), and keep a bare tombstone so a late event awards nothing."""
    # first wait for the batches awarding them (they hold this lock), so that what they
    # commit is deleted below and later ones see the tombstone
    await bulk.lock_balances({user_id})
    scopes = await _scopes(user_id)
    for model in (Entry, Balance, Progress, Unlock, Streak, Journal):
        await model.filter(user_id=user_id).delete()
    if not await Exclusion.filter(user_id=user_id).update(reason="erased"):
        await Exclusion.create(user_id=user_id, reason="erased")
    await after_commit(lambda: boards.remove(user_id, scopes))
