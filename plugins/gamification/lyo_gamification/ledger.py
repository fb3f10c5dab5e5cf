"""Writing the ledger: one entry with everything that moves with it, in as few
statements as the database allows.

On PostgreSQL an award is one statement (data-modifying CTEs): read the user's
exclusion and the content's moderation, insert the entry (``ON
CONFLICT DO NOTHING`` on the unique (rule, award_key): an award already made inserts
nothing, and nothing below moves), upsert the balance and the achievement counters,
and extend the streak. Row locks taken by the upserts keep concurrent awards exact.
SQLite, which has no data-modifying CTEs, runs the same steps one statement each (it
has a single writer, so the steps cannot interleave with another transaction's).
Raw statements, not ORM instances: an award is the hot path of every event. This is
one award (a grant, a withdrawal; every award on SQLite); a delivery's batch of events
goes through :mod:`.bulk`, the same statement over arrays, a wave at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from tortoise import BaseDBAsyncClient

from .models import Entry
from .settings import plugin


@dataclass(frozen=True)
class Award:
    """One ledger entry to append, and what moves with it."""

    user_id: str
    points: int
    reason: str
    rule: str
    award_key: str
    occurred_at: datetime
    event_id: uuid.UUID | None = None
    scope: str | None = None
    content: str | None = None
    granted_by: str | None = None
    reverses: int | None = None
    counts: Sequence[str] = ()  # achievements this entry counts toward
    step: int = 1  # what it adds to their counters: -1 for a withdrawal
    streak_day: date | None = None  # the user's local day, for a rule that counts it
    timezone: str = "UTC"


@dataclass(frozen=True)
class Journaled:
    """The event being journaled with the first award made from it."""

    event_id: uuid.UUID
    type: str
    user_id: str | None
    occurred_at: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Recorded:
    """An entry appended: its id, the new balance and counters, and the streak when
    its day extended it (``None`` otherwise)."""

    entry_id: int
    balance: int
    counts: dict[str, int]
    streak: tuple[int, int] | None  # (current, longest)
    excluded: str | None  # "deactivated": off the boards
    withheld: bool  # its content is hidden or deleted: withdraw at once


def connection() -> BaseDBAsyncClient:
    """The current transaction's connection (the pool's outside one)."""
    return Entry._meta.db


def is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


_PG_AWARD = """
WITH excluded AS (SELECT reason FROM gamification_exclusion WHERE user_id = $1),
entry AS (
    INSERT INTO gamification_entry (user_id, points, reason, rule, award_key, event_id, scope,
        content, granted_by, reverses, occurred_at, created_at)
    SELECT $1::text, $2::int, $3::text, $4::text, $5::text, $6::uuid, $7::text,
        $8::text, $9::text, $10::bigint, $11::timestamptz, now()
    WHERE NOT EXISTS (SELECT 1 FROM excluded WHERE reason = 'erased')
    ON CONFLICT (rule, award_key) DO NOTHING
    RETURNING id, user_id, points
),
balance AS (
    INSERT INTO gamification_balance AS b (user_id, points, updated_at)
    SELECT user_id, points, now() FROM entry
    ON CONFLICT (user_id) DO UPDATE
        SET points = b.points + EXCLUDED.points, updated_at = EXCLUDED.updated_at
    RETURNING b.points
),
progress AS (
    INSERT INTO gamification_progress AS p (user_id, achievement, count)
    SELECT entry.user_id, a, $13::int FROM entry, unnest($12::text[]) AS a
    ON CONFLICT (user_id, achievement) DO UPDATE SET count = p.count + EXCLUDED.count
    RETURNING p.achievement, p.count
),
streak AS (
    INSERT INTO gamification_streak AS s (user_id, current, longest, last_day, timezone,
        updated_at)
    SELECT user_id, 1, 1, $14::date, $15::text, now() FROM entry WHERE $14::date IS NOT NULL
    ON CONFLICT (user_id) DO UPDATE SET
        current = CASE WHEN EXCLUDED.last_day - s.last_day <= $16::int
            THEN s.current + 1 ELSE 1 END,
        longest = GREATEST(s.longest,
            CASE WHEN EXCLUDED.last_day - s.last_day <= $16::int THEN s.current + 1 ELSE 1 END),
        last_day = EXCLUDED.last_day, timezone = EXCLUDED.timezone,
        updated_at = EXCLUDED.updated_at
    WHERE EXCLUDED.last_day > s.last_day
    RETURNING s.current, s.longest
)
SELECT entry.id,
    (SELECT points FROM balance),
    (SELECT coalesce(array_agg(achievement), '{}') FROM progress),
    (SELECT coalesce(array_agg(count), '{}') FROM progress),
    (SELECT current FROM streak),
    (SELECT longest FROM streak),
    (SELECT reason FROM excluded),
    EXISTS (SELECT 1 FROM gamification_moderated m
        WHERE m.content = $8::text AND (m.hidden OR m.deleted))
FROM entry
"""


async def record(award: Award) -> Recorded | None:
    """Append ``award`` to the ledger in the current transaction; ``None`` when (rule,
    award_key) was already awarded or the user is erased. (A batch of events goes
    through :func:`.bulk.record_many`, which journals them first.)"""
    db = connection()
    grace = 1 + plugin.settings.streak_grace_days
    if is_postgres(db):
        _, rows = await db.execute_query(
            _PG_AWARD,
            [
                award.user_id,
                award.points,
                award.reason[:200],
                award.rule,
                award.award_key,
                award.event_id,
                award.scope,
                award.content,
                award.granted_by,
                award.reverses,
                award.occurred_at,
                list(award.counts),
                award.step,
                award.streak_day,
                award.timezone,
                grace,
            ],
        )
        if not rows:
            return None
        entry_id, balance, names, counts, current, longest, excluded, withheld = rows[0]
        return Recorded(
            entry_id,
            int(balance),
            dict(zip(names, counts, strict=True)),
            (current, longest) if current is not None else None,
            excluded,
            bool(withheld),
        )
    return await _record_sqlite(db, award, grace)


def _time(value: datetime) -> str:
    """A datetime as Tortoise writes it in SQLite (compared as text)."""
    return value.astimezone(UTC).isoformat(" ")


async def _one(db: BaseDBAsyncClient, sql: str, values: list[Any]) -> Any:
    _, rows = await db.execute_query(sql, values)
    return tuple(rows[0]) if rows else None


async def _record_sqlite(db: BaseDBAsyncClient, award: Award, grace: int) -> Recorded | None:
    now = _time(datetime.now(UTC))
    found = await _one(
        db, "SELECT reason FROM gamification_exclusion WHERE user_id = ?", [award.user_id]
    )
    excluded = found[0] if found else None
    if excluded == "erased":
        return None
    inserted = await _one(
        db,
        "INSERT INTO gamification_entry (user_id, points, reason, rule, award_key, event_id,"
        " scope, content, granted_by, reverses, occurred_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (rule, award_key) DO NOTHING RETURNING id",
        [
            award.user_id,
            award.points,
            award.reason[:200],
            award.rule,
            award.award_key,
            str(award.event_id) if award.event_id else None,
            award.scope,
            award.content,
            award.granted_by,
            award.reverses,
            _time(award.occurred_at),
            now,
        ],
    )
    if inserted is None:
        return None
    (balance,) = await _one(
        db,
        "INSERT INTO gamification_balance (user_id, points, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET points = points + excluded.points,"
        " updated_at = excluded.updated_at RETURNING points",
        [award.user_id, award.points, now],
    )
    counts = {}
    for achievement in award.counts:
        (counts[achievement],) = await _one(
            db,
            "INSERT INTO gamification_progress (user_id, achievement, count) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, achievement) DO UPDATE SET count = count + excluded.count"
            " RETURNING count",
            [award.user_id, achievement, award.step],
        )
    streak = None
    if award.streak_day is not None:
        gap = "julianday(excluded.last_day) - julianday(last_day)"
        streak = await _one(
            db,
            "INSERT INTO gamification_streak (user_id, current, longest, last_day, timezone,"
            " updated_at) VALUES (?, 1, 1, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            f" current = CASE WHEN {gap} <= ? THEN current + 1 ELSE 1 END,"
            f" longest = max(longest, CASE WHEN {gap} <= ? THEN current + 1 ELSE 1 END),"
            " last_day = excluded.last_day, timezone = excluded.timezone,"
            " updated_at = excluded.updated_at WHERE excluded.last_day > last_day"
            " RETURNING current, longest",
            [award.user_id, award.streak_day.isoformat(), award.timezone, now, grace, grace],
        )
    withheld = award.content is not None and bool(
        await _one(
            db,
            "SELECT 1 FROM gamification_moderated WHERE content = ? AND (hidden OR deleted)",
            [award.content],
        )
    )
    return Recorded(inserted[0], int(balance), counts, streak, excluded, withheld)


async def journal_sqlite(db: BaseDBAsyncClient, journal: Journaled, now: str) -> None:
    await db.execute_query(
        "INSERT INTO gamification_journal (event_id, type, user_id, occurred_at, payload,"
        " received_at) SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM"
        " gamification_exclusion WHERE user_id = ? AND reason = 'erased')"
        " ON CONFLICT DO NOTHING",
        [
            str(journal.event_id),
            journal.type,
            journal.user_id,
            _time(journal.occurred_at),
            orjson.dumps(journal.payload).decode(),
            now,
            journal.user_id,
        ],
    )
