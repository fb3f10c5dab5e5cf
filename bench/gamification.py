"""Benchmark of the gamification plugin, each figure against a baseline in the same run.

1. Events through the rules engine as the kernel delivers them to the award handlers:
   the ``kernel:deliver`` task's function on batches of ``AWARD_BATCH`` (50) envelopes as
   the relay hands them over (JSON), one transaction per batch holding the handled marks
   and ``engine.handle_many`` (journal, rules, ledger entries, balances, achievements,
   streaks, outbox events, the board increments queued after commit, waited for at the
   end), against raw ledger inserts of the same rows (one ``INSERT INTO
   gamification_entry`` per transaction on a bare asyncpg connection); also this
   process's CPU per event. For comparison, the old way: ``engine.handle`` in one
   transaction per event (without the handled mark), and the same raw inserts each
   inside ``BEGIN``/``COMMIT`` (the ceiling of anything running a transaction per event).
2. A leaderboard read with 100,000 users (``boards.read``: top 10, the caller's rank and
   2 neighbours each side, through the kernel cache) against a bare redis-py client doing
   ``ZREVRANGE 0 9 WITHSCORES`` + ``ZREVRANK`` on the same key.

    python bench/gamification.py       # PostgreSQL (LYO_TEST_POSTGRES) + Redis (--redis)
    python bench/gamification.py --events 600 --reads 300 --users 20000   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(
        0
    )  # run as ``python bench/gamification.py``: bench/http.py would hide the stdlib's
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import redis.asyncio as aioredis
from lyo_gamification import boards, engine
from lyo_gamification import plugin as gamification
from lyo_gamification.events import AWARD_BATCH
from lyo_gamification.models import Entry
from lyo_gamification.settings import plugin
from lyo_learning.events import LessonCompleted

from kernel import ANONYMOUS, Envelope, Kernel, Settings, TaskContext, create_app, transaction
from kernel.events.delivery import deliver
from kernel.testing import temporary_database


def events(count: int, users: int) -> list[Envelope]:
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        event = LessonCompleted(
            user_id=f"user-{i % users}",
            lesson_id=uuid.uuid4(),
            course_id=uuid.UUID(int=i % 7),
            seconds_spent=60,
            completed_at=now,
        )
        out.append(
            Envelope(
                id=uuid.uuid4(),
                type=event.type,
                version=1,
                occurred_at=now,
                payload=event.model_dump(mode="json"),
            )
        )
    return out


CPU: dict[str, list[float]] = {"delivered": [], "engine": [], "raw": []}  # CPU s per event
BARE: list[float] = []  # raw inserts each in BEGIN/COMMIT, per autocommitted raw insert
HANDLER = "gamification:award_learning_lesson_completed"


async def delivered_rate(kernel: Kernel, batch: list[Envelope]) -> float:
    """As the kernel delivers them: ``kernel:deliver`` on each batch of the handler's
    size (the envelopes as JSON, as the relay enqueues them), one transaction each."""
    jsons = [e.model_dump(mode="json", exclude={"event"}) for e in batch]
    ctx = TaskContext(uuid.uuid4(), "kernel:deliver", 1, ANONYMOUS, None, kernel)
    cpu = time.process_time()
    started = time.perf_counter()
    for start in range(0, len(jsons), AWARD_BATCH):
        answer = await deliver(ctx, HANDLER, envelopes=jsons[start : start + AWARD_BATCH])
        assert answer.startswith("handled"), answer
    await boards.settle()  # the board increments are part of the work
    rate = len(batch) / (time.perf_counter() - started)
    CPU["delivered"].append((time.process_time() - cpu) / len(batch))
    return rate


async def engine_rate(batch: list[Envelope], together: bool = False) -> float:
    """One transaction per event (the old delivery), or (``together``) one
    ``handle_many`` for the whole batch in one transaction (a backfill page's way)."""
    cpu = time.process_time()
    started = time.perf_counter()
    if together:
        async with transaction():
            await engine.handle_many(batch)
    else:
        for envelope in batch:
            async with transaction():
                await engine.handle(envelope)
    await boards.settle()  # the board increments are part of the work
    rate = len(batch) / (time.perf_counter() - started)
    if not together:
        CPU["engine"].append((time.process_time() - cpu) / len(batch))
    return rate


async def raw_rate(
    url: str, batch: list[Envelope], together: bool = False, wrapped: bool = False
) -> float:
    """Autocommitted inserts, or (``together``) one transaction for the batch, or
    (``wrapped``) each in ``BEGIN``/``COMMIT``."""
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    sql = (
        "INSERT INTO gamification_entry (user_id, points, reason, rule, award_key, event_id,"
        " scope, occurred_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())"
    )
    try:
        cpu = time.process_time()
        started = time.perf_counter()
        if together:
            await connection.execute("BEGIN")
        for envelope in batch:
            p = envelope.payload
            if wrapped:
                await connection.execute("BEGIN")
            await connection.execute(
                sql,
                p["user_id"],
                10,
                "Completed a lesson",
                "raw",
                f"{p['user_id']}:{p['lesson_id']}",
                envelope.id,
                p["course_id"],
                envelope.occurred_at,
            )
            if wrapped:
                await connection.execute("COMMIT")
        if together:
            await connection.execute("COMMIT")
        rate = len(batch) / (time.perf_counter() - started)
        if not together and not wrapped:
            CPU["raw"].append((time.process_time() - cpu) / len(batch))
        return rate
    finally:
        await connection.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return (
        statistics.median(ordered) * 1000,
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    )


async def reads(redis_url: str, prefix: str, users: int, count: int) -> dict[str, Any]:
    at = datetime.now(UTC)
    scores = {f"user-{i}": float(random.randrange(1_000_000)) for i in range(users)}
    cache = plugin.cache
    await boards.rebuild("all", "global", at)  # empty board with its sentinel
    board = boards.key("all", at)
    items = list(scores.items())
    for start in range(0, len(items), 10_000):
        await cache.zadd(board, dict(items[start : start + 10_000]))
    targets = random.sample(list(scores), count)
    ours: list[float] = []
    for user in targets:
        started = time.perf_counter()
        top, me, _ = await boards.read("all", "global", user, 10, 2, at)
        ours.append(time.perf_counter() - started)
        assert me is not None and len(top) == 10
    client = aioredis.Redis.from_url(redis_url)
    full = cache.key(board)
    bare: list[float] = []
    try:
        for user in targets:
            started = time.perf_counter()
            await client.zrevrange(full, 0, 9, withscores=True)
            await client.zrevrank(full, user)
            bare.append(time.perf_counter() - started)
    finally:
        await client.aclose()
    return {"ours": percentiles(ours), "bare": percentiles(bare)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--event-users", type=int, default=200)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    async with temporary_database() as url:
        prefix = f"lyo-bench-{uuid.uuid4().hex[:8]}"
        settings = Settings(
            env="test",
            database_url=url,
            access_log=False,
            redis_url=args.redis,
            redis_prefix=prefix,
            log_level="WARNING",
        )
        app = create_app(settings, [gamification], discover=False)
        load = [os.getloadavg()]
        try:
            async with app.test_app():
                app.kernel.activate()
                kernel = app.kernel
                size = args.events // 3
                warm = events(100, args.event_users)
                await engine_rate(warm)
                await delivered_rate(kernel, events(100, args.event_users))
                await raw_rate(url, events(100, args.event_users))
                delivered, rounds, batched = [], [], []
                for _ in range(3):
                    ours = await delivered_rate(kernel, events(size, args.event_users))
                    raw = await raw_rate(url, events(size, args.event_users))
                    delivered.append((ours, raw))
                    ours = await engine_rate(events(size, args.event_users))
                    raw = await raw_rate(url, events(size, args.event_users))
                    rounds.append((ours, raw))
                    bare = await raw_rate(
                        url, events(args.events // 3, args.event_users), False, True
                    )
                    BARE.append(bare / raw)
                    ours = await engine_rate(events(args.events // 3, args.event_users), True)
                    raw = await raw_rate(url, events(args.events // 3, args.event_users), True)
                    batched.append((ours, raw))
                entries = await Entry.filter(rule="lesson_completed").count()
                load.append(os.getloadavg())
                result = await reads(args.redis, prefix, args.users, args.reads)
        finally:
            client = aioredis.Redis.from_url(args.redis)
            keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await client.unlink(*keys)
            await client.aclose()
    (start1, start5, _), (end1, end5, _) = load
    print(
        f"events through the rules engine vs raw ledger inserts ({entries} events,"
        f" PostgreSQL + Redis); load average (1/5 min) {start1:.1f}/{start5:.1f} at the"
        f" start, {end1:.1f}/{end5:.1f} after the events"
    )
    print(f"  as delivered: kernel:deliver on batches of {AWARD_BATCH}, one transaction each")
    for ours, raw in delivered:
        print(f"  engine {ours:8.1f}/s   raw inserts {raw:8.1f}/s   ratio {ours / raw:.2f}")
    ratio = statistics.median(o / r for o, r in delivered)
    print(f"  median ratio {ratio:.2f} (target >= 0.5), batches as delivered")
    print("  the old way: engine.handle, one transaction per event")
    for ours, raw in rounds:
        print(f"  engine {ours:8.1f}/s   raw inserts {raw:8.1f}/s   ratio {ours / raw:.2f}")
    ratio = statistics.median(o / r for o, r in rounds)
    print(f"  median ratio {ratio:.2f}, one transaction per event")
    print(
        f"  raw inserts each in BEGIN/COMMIT: {statistics.median(BARE):.2f} of autocommitted ones"
        " (the ceiling of one transaction per event)"
    )
    ours_cpu, engine_cpu, raw_cpu = (
        statistics.median(CPU[k][1:]) * 1000 for k in ("delivered", "engine", "raw")
    )
    print(
        f"  client CPU per event: batches as delivered {ours_cpu:.2f} ms, one transaction"
        f" per event {engine_cpu:.2f} ms, raw {raw_cpu:.2f} ms (this process only; the"
        " database's own work is not counted)"
    )
    for ours, raw in batched:
        print(f"  engine {ours:8.1f}/s   raw inserts {raw:8.1f}/s   ratio {ours / raw:.2f}")
    ratio = statistics.median(o / r for o, r in batched)
    print(
        f"  median ratio {ratio:.2f}, one handle_many and one transaction for"
        f" {args.events // 3} events (a backfill page's way)"
    )
    (o50, o99), (b50, b99) = result["ours"], result["bare"]
    print(f"leaderboard read, {args.users} users, {args.reads} reads")
    print(f"  boards.read          p50 {o50:6.3f} ms  p99 {o99:6.3f} ms")
    print(f"  ZREVRANGE+ZREVRANK   p50 {b50:6.3f} ms  p99 {b99:6.3f} ms")
    print(f"  p50 ratio (bare/ours) {b50 / o50:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
