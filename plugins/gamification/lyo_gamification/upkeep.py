"""Recomputing what is derived from the ledger (``lyo gamification rebuild``, the
periodic ``gamification:rebuild`` task) and applying a rule to past events from the
plugin's journal (``lyo gamification backfill RULE``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from tortoise.expressions import Q
from tortoise.functions import Sum

from kernel import ConfigError, transaction

from . import boards, engine
from .models import Balance, Entry, Journal
from .rules import current_rules

BATCH = 500


async def rebuild_balances() -> int:
    """Set every balance to the sum of its user's entries; how many users have one."""
    async with transaction():
        sums = (
            await Entry.all()
            .group_by("user_id")
            .annotate(total=Sum("points"))
            .values("user_id", "total")
        )
        await Balance.all().delete()
        await Balance.bulk_create(
            [Balance(user_id=row["user_id"], points=int(row["total"] or 0)) for row in sums],
            batch_size=BATCH,
        )
    return len(sums)


async def rebuild_boards(at: datetime | None = None) -> int:
    """Rebuild the global boards of the current periods now and drop the others (per
    course ones), which are rebuilt when next read. How many boards were rebuilt."""
    at = at or datetime.now(UTC)
    from .settings import plugin

    await plugin.cache.delete_prefix("board:")
    for window in boards.WINDOWS:
        await boards.rebuild(window, "global", at)
    return len(boards.WINDOWS)


async def backfill(rule_id: str, progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Apply rule ``rule_id`` to every journaled event of its type, oldest first, in
    batches of :data:`BATCH` (one transaction each). Idempotent: what was awarded stays
    awarded once. Returns (events read, entries added)."""
    rule = current_rules().rules.get(rule_id)
    if rule is None:
        raise ConfigError(f"no rule {rule_id!r}: rules are {', '.join(current_rules().rules)}")
    read = added = 0
    after: Journal | None = None
    while True:
        query = Journal.filter(type=rule.event)
        if after is not None:  # keyset on (occurred_at, event_id)
            query = query.filter(
                Q(occurred_at__gt=after.occurred_at)
                | Q(occurred_at=after.occurred_at, event_id__gt=after.event_id)
            )
        rows = await query.order_by("occurred_at", "event_id").limit(BATCH)
        if not rows:
            break
        async with transaction():
            for row in rows:
                outcome = await engine.apply(
                    row.event_id, row.payload, row.occurred_at, [rule], thorough=True
                )
                added += outcome.entries
        read += len(rows)
        if progress is not None:
            progress(len(rows))
        after = rows[-1]
    return read, added
