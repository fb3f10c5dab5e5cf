"""Recomputing what is derived from the ledger (``lyo gamification rebuild``, the
periodic ``gamification:rebuild`` task) and applying a rule to past events from the
plugin's journal (``lyo gamification backfill RULE``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from tortoise import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Sum

from kernel import ConfigError, transaction

from . import boards, engine, ledger
from .models import Balance, Entry, Journal, Progress
from .rules import current_rules

BATCH = 500


async def _hold(connection: BaseDBAsyncClient, table: str) -> None:
    """Make awards wait (PostgreSQL) until the rebuild of ``table`` commits, so none
    is counted by the rebuild and then lost with the row it replaces: the rebuild's
    reads, made after the lock, see every award committed before it; the awards
    waiting add theirs after. (SQLite runs one transaction at a time.)"""
    if ledger.is_postgres(connection):
        await connection.execute_script(f"LOCK TABLE {table} IN EXCLUSIVE MODE")


async def rebuild_balances() -> int:
    """Set every balance to the sum of its user's entries; how many users have one."""
    async with transaction() as connection:
        await _hold(connection, "gamification_balance")
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


_STANDING = (
    "SELECT e.user_id, e.rule, count(*) FROM gamification_entry e WHERE e.reverses IS NULL"
    " AND (SELECT count(*) FROM gamification_entry r WHERE r.reverses = e.id) % 2 = 0"
    " GROUP BY e.user_id, e.rule"
)


async def rebuild_progress() -> int:
    """Set every achievement counter to the user's awards of its rules that stand (not
    withdrawn); how many counters there are."""
    counting = current_rules().counting
    async with transaction() as connection:
        await _hold(connection, "gamification_progress")
        _, rows = await connection.execute_query(_STANDING)
        counts: dict[tuple[str, str], int] = {}
        for user_id, rule, count in (tuple(row) for row in rows):
            for achievement in counting.get(rule, []):
                counts[user_id, achievement.id] = counts.get((user_id, achievement.id), 0) + count
        await Progress.all().delete()
        await Progress.bulk_create(
            [Progress(user_id=u, achievement=a, count=n) for (u, a), n in counts.items()],
            batch_size=BATCH,
        )
    return len(counts)


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
        async with transaction():  # the page's awards set based, as a delivery's
            applied = [(row.event_id, row.payload, row.occurred_at, [rule]) for row in rows]
            outcome = await engine.award(await engine.awards_of(applied), thorough=True)
            added += outcome.entries
        read += len(rows)
        if progress is not None:
            progress(len(rows))
        after = rows[-1]
    return read, added
