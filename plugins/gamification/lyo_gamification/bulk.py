"""Writing the ledger for a batch of events: the awards of many events in a few
statements, with the results one award at a time would have given.

PostgreSQL's ``INSERT ... ON CONFLICT DO UPDATE`` cannot touch one row twice in a
statement, and a batch may award one user several times. So the awards are split into
**waves** (:func:`waves`): in a wave each user, hence each balance, counter and streak
row, appears at most once, and so does each (rule, award_key); a user's awards fall in
successive waves in event order. Each wave is one statement, :data:`_PG_WAVE`: the
award statement of :mod:`.ledger` over arrays (``unnest``), so the balance, counters
and streak returned for each entry are exactly those of applying the events one by one.
Before its first wave a batch locks the balance rows of all its users, in user order
(:func:`lock_balances`): a later wave, or the part after a withdrawal, may be the first
to move a user's rows (their first award in the batch was made already), so without it
two batches sharing users could lock them in opposite orders and deadlock. With it they
wait for each other. SQLite (the development default, a single writer) records award by award.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import UTC, datetime

import orjson

from .ledger import Award, Journaled, Recorded, connection, is_postgres, journal_sqlite, record
from .settings import plugin

_PG_JOURNAL = """
INSERT INTO gamification_journal (event_id, type, user_id, occurred_at, payload, received_at)
SELECT e, t, u, o, p::jsonb, now()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) AS j(e, t, u, o, p)
WHERE NOT EXISTS (SELECT 1 FROM gamification_exclusion x WHERE x.user_id = j.u
    AND x.reason = 'erased')
ON CONFLICT DO NOTHING
"""

_PG_WAVE = """
WITH input AS (
    SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[],
        $7::uuid[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::timestamptz[],
        $13::text[], $14::int[], $15::date[], $16::text[])
        AS i(n, user_id, points, reason, rule, award_key, event_id, scope, content,
            granted_by, reverses, occurred_at, counts, step, streak_day, timezone)
),
barred AS (SELECT user_id, reason FROM gamification_exclusion WHERE user_id = ANY($2::text[])),
entry AS (
    INSERT INTO gamification_entry (user_id, points, reason, rule, award_key, event_id, scope,
        content, granted_by, reverses, occurred_at, created_at)
    SELECT i.user_id, i.points, i.reason, i.rule, i.award_key, i.event_id, i.scope,
        i.content, i.granted_by, i.reverses, i.occurred_at, now()
    FROM input i
    WHERE NOT EXISTS (SELECT 1 FROM barred b WHERE b.user_id = i.user_id AND b.reason = 'erased')
    ORDER BY i.n
    ON CONFLICT (rule, award_key) DO NOTHING
    RETURNING id, rule, award_key
),
won AS (
    SELECT i.*, e.id AS entry_id FROM entry e
    JOIN input i ON i.rule = e.rule AND i.award_key = e.award_key
),
balance AS (
    INSERT INTO gamification_balance AS b (user_id, points, updated_at)
    SELECT user_id, points, now() FROM won ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
        SET points = b.points + EXCLUDED.points, updated_at = EXCLUDED.updated_at
    RETURNING b.user_id, b.points
),
progress AS (
    INSERT INTO gamification_progress AS p (user_id, achievement, count)
    SELECT w.user_id, a, w.step FROM won w, unnest(string_to_array(w.counts, ',')) AS a
    ORDER BY w.user_id, a
    ON CONFLICT (user_id, achievement) DO UPDATE SET count = p.count + EXCLUDED.count
    RETURNING p.user_id, p.achievement, p.count
),
streak AS (
    INSERT INTO gamification_streak AS s (user_id, current, longest, last_day, timezone,
        updated_at)
    SELECT user_id, 1, 1, streak_day, timezone, now() FROM won
    WHERE streak_day IS NOT NULL ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET
        current = CASE WHEN EXCLUDED.last_day - s.last_day <= $17::int
            THEN s.current + 1 ELSE 1 END,
        longest = GREATEST(s.longest,
            CASE WHEN EXCLUDED.last_day - s.last_day <= $17::int THEN s.current + 1 ELSE 1 END),
        last_day = EXCLUDED.last_day, timezone = EXCLUDED.timezone,
        updated_at = EXCLUDED.updated_at
    WHERE EXCLUDED.last_day > s.last_day
    RETURNING s.user_id, s.current, s.longest
)
SELECT w.n, w.entry_id, bal.points,
    (SELECT coalesce(array_agg(p.achievement ORDER BY p.achievement), '{}')
        FROM progress p WHERE p.user_id = w.user_id),
    (SELECT coalesce(array_agg(p.count ORDER BY p.achievement), '{}')
        FROM progress p WHERE p.user_id = w.user_id),
    st.current, st.longest, b.reason,
    EXISTS (SELECT 1 FROM gamification_moderated m
        WHERE m.content = w.content AND (m.hidden OR m.deleted))
FROM won w
LEFT JOIN balance bal ON bal.user_id = w.user_id
LEFT JOIN streak st ON st.user_id = w.user_id
LEFT JOIN barred b ON b.user_id = w.user_id
"""


_PG_LOCK = """
SELECT user_id FROM gamification_balance WHERE user_id = ANY($1::text[])
ORDER BY user_id FOR UPDATE
"""


async def lock_balances(user_ids: set[str]) -> None:
    """Lock the balance rows of ``user_ids`` (those that exist) in the current
    transaction, in user order, so that concurrent batches sharing users queue behind
    each other rather than deadlock. PostgreSQL only (SQLite has a single writer)."""
    db = connection()
    if user_ids and is_postgres(db):
        await db.execute_query(_PG_LOCK, [sorted(user_ids)])


def waves(awards: Sequence[Award]) -> list[list[int]]:
    """The indexes of ``awards`` by wave: in each wave a user, and a (rule, award_key),
    at most once; each one's awards in successive waves, in order."""
    last: dict[Hashable, int] = {}
    out: list[list[int]] = []
    for index, award in enumerate(awards):
        keys = (award.user_id, (award.rule, award.award_key))
        wave = max(last.get(key, -1) for key in keys) + 1
        for key in keys:
            last[key] = wave
        if wave == len(out):
            out.append([])
        out[wave].append(index)
    return out


async def journal_many(journals: Sequence[Journaled]) -> None:
    """Journal the events of a batch (those already journaled are left as they are;
    those about an erased user are not kept)."""
    if not journals:
        return
    db = connection()
    if not is_postgres(db):
        now = datetime.now(UTC).isoformat(" ")
        for journal in journals:
            await journal_sqlite(db, journal, now)
        return
    await db.execute_query(
        _PG_JOURNAL,
        [
            [j.event_id for j in journals],
            [j.type for j in journals],
            [j.user_id for j in journals],
            [j.occurred_at for j in journals],
            [orjson.dumps(j.payload).decode() for j in journals],
        ],
    )


async def record_many(awards: Sequence[Award]) -> list[Recorded | None]:
    """:func:`.ledger.record` for each of ``awards``, in order, in the current
    transaction: what each recorded (``None``: awarded already, or an erased user)."""
    db = connection()
    if not is_postgres(db):
        return [await record(award) for award in awards]
    grace = 1 + plugin.settings.streak_grace_days
    found: list[Recorded | None] = [None] * len(awards)
    for wave in waves(awards):
        batch = [awards[i] for i in wave]
        _, rows = await db.execute_query(
            _PG_WAVE,
            [
                wave,
                [a.user_id for a in batch],
                [a.points for a in batch],
                [a.reason[:200] for a in batch],
                [a.rule for a in batch],
                [a.award_key for a in batch],
                [a.event_id for a in batch],
                [a.scope for a in batch],
                [a.content for a in batch],
                [a.granted_by for a in batch],
                [a.reverses for a in batch],
                [a.occurred_at for a in batch],
                [",".join(a.counts) for a in batch],
                [a.step for a in batch],
                [a.streak_day for a in batch],
                [a.timezone for a in batch],
                grace,
            ],
        )
        for n, entry_id, balance, names, counts, current, longest, excluded, withheld in rows:
            found[n] = Recorded(
                entry_id,
                int(balance),
                dict(zip(names, counts, strict=True)),
                (current, longest) if current is not None else None,
                excluded,
                bool(withheld),
            )
    return found
