"""Review (rev18): two award batches that share users, delivered concurrently on
PostgreSQL, must wait for each other, never deadlock. A user whose first award in a
batch is one already made (a lesson completed again) wins nothing in the first wave,
so their balance row is locked by a later wave, after other users' rows: the rows of
two such batches are then locked in opposite orders."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from gam_support import envelope, lesson_done
from lyo_gamification import engine, ledger
from lyo_gamification.models import Balance, Entry

from kernel import Envelope, transaction


def _again(user_id: str, lesson_id: uuid.UUID) -> Envelope:
    done = lesson_done(user_id)
    done.lesson_id = lesson_id
    return envelope(done)


async def _pair(prefix: str) -> tuple[list[Envelope], list[Envelope], list[str]]:
    ada, zed = f"{prefix}-ada", f"{prefix}-zed"
    first = {user: lesson_done(user) for user in (ada, zed)}
    async with transaction():  # each has completed one lesson already
        await engine.handle_many([envelope(e) for e in first.values()])
    # batch one: zed's old lesson again, then ada, then zed: locks ada, then zed
    one = [
        _again(zed, first[zed].lesson_id),
        envelope(lesson_done(ada)),
        envelope(lesson_done(zed)),
    ]
    # batch two: ada's old lesson again, then zed, then ada: locks zed, then ada
    two = [
        _again(ada, first[ada].lesson_id),
        envelope(lesson_done(zed)),
        envelope(lesson_done(ada)),
    ]
    return one, two, [ada, zed]


async def _deliver(batch: list[Envelope]) -> None:
    async with transaction():
        await engine.handle_many(batch)


async def test_concurrent_batches_sharing_users_do_not_deadlock(lyo_app: Any) -> None:
    lyo_app.kernel.activate()
    if not ledger.is_postgres(ledger.connection()):
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer)")
    failures = []
    for round_ in range(5):
        one, two, users = await _pair(f"dl{round_}-{uuid.uuid4().hex[:6]}")
        results = await asyncio.gather(_deliver(one), _deliver(two), return_exceptions=True)
        failures += [repr(r) for r in results if isinstance(r, BaseException)]
        if not failures:
            balances = {b.user_id: b.points for b in await Balance.filter(user_id__in=users)}
            assert balances == {users[0]: 30, users[1]: 30}
            assert await Entry.filter(user_id__in=users).count() == 6
    assert failures == []


async def test_erasing_a_user_leaves_no_achievement_counters(lyo_app: Any) -> None:
    """Review (rev18): erasure deleted entries, balance, unlocks, streak and journal,
    but kept the user's achievement counters (gamification_progress), keyed by their id."""
    from lyo_gamification import privacy
    from lyo_gamification.models import Progress

    lyo_app.kernel.activate()
    user = f"erase-{uuid.uuid4().hex[:8]}"
    async with transaction():
        await engine.handle_many([envelope(lesson_done(user)), envelope(lesson_done(user))])
    assert await Progress.filter(user_id=user).count() == 1
    async with transaction():
        await privacy.erase(user)
    assert await Progress.filter(user_id=user).count() == 0
    assert await Balance.filter(user_id=user).count() == 0


async def test_an_erasure_waiting_on_a_batch_deletes_what_the_batch_awarded(
    lyo_app: Any,
) -> None:
    """Review (rev18): a user erased while a batch awarding them is in flight. The
    erasure waits for the batch's balance lock; what the batch committed must then be
    erased too, not left as ledger entries of an erased user."""
    from lyo_gamification import privacy

    lyo_app.kernel.activate()
    if not ledger.is_postgres(ledger.connection()):
        pytest.skip("concurrent transactions: PostgreSQL only (SQLite has one writer)")
    user = f"race-{uuid.uuid4().hex[:8]}"
    async with transaction():
        await engine.handle_many([envelope(lesson_done(user))])
    go = asyncio.Event()

    async def erase() -> None:
        await go.wait()
        async with transaction():  # its own: the task was made outside the batch's
            await privacy.erase(user)

    erasing = asyncio.create_task(erase())
    async with transaction():  # the batch: awarded, not committed yet
        await engine.handle_many([envelope(lesson_done(user)), envelope(lesson_done(user))])
        go.set()
        await asyncio.sleep(0.5)  # the erasure is now waiting on the batch's locks
        assert not erasing.done()
    await erasing
    assert await Entry.filter(user_id=user).count() == 0
    assert await Balance.filter(user_id=user).count() == 0


async def test_an_event_arriving_after_an_erasure_is_not_journaled(lyo_app: Any) -> None:
    """Review (rev18): the tombstone makes a late event award nothing, but the event
    (the erased user's id and payload) was still kept in the journal."""
    from lyo_gamification import privacy
    from lyo_gamification.models import Journal

    lyo_app.kernel.activate()
    user = f"late-{uuid.uuid4().hex[:8]}"
    async with transaction():
        await privacy.erase(user)
    async with transaction():
        await engine.handle_many([envelope(lesson_done(user)), envelope(lesson_done("other"))])
    async with transaction():
        await engine.handle(envelope(lesson_done(user)))
    assert await Journal.filter(user_id=user).count() == 0
    assert await Entry.filter(user_id=user).count() == 0


async def test_six_concurrent_batches_over_six_users_are_exact(lyo_app: Any) -> None:
    """Six batches of 30 lesson completions (users and lessons drawn at random, lessons
    completed again among them) delivered at once: no deadlock (five of six deadlocked
    without the balance lock), and every balance, entry count and counter exact."""
    import random

    from lyo_gamification.models import Progress

    lyo_app.kernel.activate()
    if not ledger.is_postgres(ledger.connection()):
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer)")
    draw = random.Random(7)
    users = [f"st{uuid.uuid4().hex[:6]}-{n}" for n in range(6)]
    lessons = {user: [uuid.uuid4() for _ in range(8)] for user in users}
    async with transaction():  # each has completed their first lesson already
        await engine.handle_many([_again(user, lessons[user][0]) for user in users])
    batches = []
    for _ in range(6):
        picks = [draw.choice(users) for _ in range(30)]
        batches.append([_again(user, draw.choice(lessons[user])) for user in picks])
    results = await asyncio.gather(*(_deliver(b) for b in batches), return_exceptions=True)
    assert [repr(r) for r in results if isinstance(r, BaseException)] == []
    for user in users:
        done = {str(lessons[user][0])} | {
            e.payload["lesson_id"] for b in batches for e in b if e.payload["user_id"] == user
        }
        assert await Entry.filter(user_id=user).count() == len(done)
        assert (await Balance.get(user_id=user)).points == 10 * len(done)
        assert (await Progress.get(user_id=user, achievement="lessons")).count == len(done)
