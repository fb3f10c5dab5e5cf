"""The ledger: events in, entries out, once per thing rewarded; balances exact."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from gam_support import ADA, BOB, ReplyCreated, auth, course_done, envelope, eventually, lesson_done
from lyo_gamification import engine
from lyo_gamification.models import Balance, Entry, Journal

from kernel import publish, transaction


async def balance(user_id: str) -> int:
    row = await Balance.get_or_none(user_id=user_id)
    return row.points if row else 0


async def test_completions_award_points_through_the_outbox(lyo_app: Any, lyo_worker: None) -> None:
    lyo_app.kernel.activate()
    course = uuid.uuid4()
    await publish(lesson_done(ADA, course))
    await publish(course_done(ADA, course))

    async def awarded() -> bool:
        return await balance(ADA) == 60

    await eventually(awarded)
    rules = sorted(await Entry.filter(user_id=ADA).values_list("rule", flat=True))
    assert rules == ["course_completed", "lesson_completed"]
    assert await Entry.filter(scope=str(course)).count() == 2
    assert await Journal.filter(user_id=ADA).count() == 2


async def test_recompleting_a_course_awards_once(lyo_app: Any, lyo_worker: None) -> None:
    """A learner who re-enrols and completes again announces completion again."""
    lyo_app.kernel.activate()
    course = uuid.uuid4()
    first = await publish(course_done(ADA, course))
    second = await publish(course_done(ADA, course))
    marker = await publish(lesson_done(ADA))  # delivered after both completions

    async def journaled() -> bool:
        return await Journal.filter(event_id__in=[first.id, second.id, marker.id]).count() == 3

    await eventually(journaled)

    async def settled() -> bool:
        return await balance(ADA) == 60

    await eventually(settled)
    assert await Entry.filter(user_id=ADA, rule="course_completed").count() == 1


async def test_a_redelivered_event_awards_once(lyo_app: Any) -> None:
    """Past the kernel's own (handler, event) record: the entry itself is unique."""
    lyo_app.kernel.activate()
    delivered = envelope(lesson_done(ADA))
    for _ in range(3):
        async with transaction():
            await engine.handle(delivered)
    assert await Entry.filter(user_id=ADA).count() == 1
    assert await balance(ADA) == 10
    assert await Journal.filter(event_id=delivered.id).count() == 1


async def test_a_thousand_concurrent_events_give_the_exact_balance(
    lyo_app: Any, lyo_worker: None
) -> None:
    lyo_app.kernel.activate()
    course = uuid.uuid4()
    events = [lesson_done(ADA if i % 2 else BOB, course) for i in range(1000)]
    await asyncio.gather(*(publish(event) for event in events))

    async def all_awarded() -> bool:
        return await Entry.all().count() == 1000

    await eventually(all_awarded, within=240)
    assert await balance(ADA) == 500 * 10
    assert await balance(BOB) == 500 * 10
    total = sum(await Entry.all().values_list("points", flat=True))
    assert total == 10_000


async def test_community_events_by_type_string(
    lyo_app: Any, lyo_worker: None, lyo_client: Any
) -> None:
    lyo_app.kernel.activate()
    reply = ReplyCreated(reply_id=uuid.uuid4(), discussion_id=uuid.uuid4(), author_id=BOB)
    await publish(reply)

    async def awarded() -> bool:
        return await balance(BOB) == 2

    await eventually(awarded)
    answer = await lyo_client.get("/api/gamification/me", headers=auth("bob"))
    body = await answer.get_json()
    assert answer.status_code == 200, body
    assert body["points"] == 2 and body["streak"]["current"] == 1


async def test_history_is_paginated_newest_first(lyo_app: Any, lyo_client: Any) -> None:
    lyo_app.kernel.activate()
    for _ in range(5):
        async with transaction():
            await engine.handle(envelope(lesson_done(ADA)))
    seen: list[int] = []
    cursor = None
    while True:
        query = {"size": "2", **({"cursor": cursor} if cursor else {})}
        answer = await lyo_client.get(
            "/api/gamification/me/history", headers=auth("ada"), query_string=query
        )
        body = await answer.get_json()
        assert answer.status_code == 200, body
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 5
    assert (await lyo_client.get("/api/gamification/me/history")).status_code == 401
    bad = await lyo_client.get(
        "/api/gamification/me/history", headers=auth("ada"), query_string={"cursor": "nope"}
    )
    assert bad.status_code in (400, 422)
