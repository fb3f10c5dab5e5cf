"""Leaderboards on the cache's sorted sets, derived from the ledger: windows, scopes,
the caller's rank and neighbours outside the top, rebuilds, users leaving."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from gam_support import ADA, BOB, TOKENS, auth, envelope, lesson_done
from lyo_gamification import boards, effects, engine, ledger, privacy, upkeep
from lyo_gamification.models import Balance, Entry

from kernel import transaction


async def grant(
    user_id: str, points: int, at: datetime | None = None, scope: str | None = None
) -> None:
    award = ledger.Award(
        user_id,
        points,
        "test",
        "test",
        f"{user_id}:{uuid.uuid4()}",
        at or datetime.now(UTC),
        scope=scope,
    )
    async with transaction():
        recorded = await ledger.record(award)
        assert recorded is not None
        await effects.announce(award, recorded, thorough=False)


async def board(client: Any, window: str = "all", token: str = "ada", **query: str) -> Any:
    answer = await client.get(
        f"/api/gamification/leaderboards/{window}", headers=auth(token), query_string=query
    )
    body = await answer.get_json()
    assert answer.status_code == 200, body
    return body


async def test_my_rank_and_neighbours_outside_the_top(lyo_app: Any, lyo_client: Any) -> None:
    for i in range(30):
        await grant(f"user-{i:02d}", 1000 - i * 10)
    await grant(ADA, 705)  # between user-29 (710) and user-30... rank 30
    body = await board(lyo_client, size="5")
    assert [row["user_id"] for row in body["top"]] == [f"user-{i:02d}" for i in range(5)]
    assert body["top"][0] == {"rank": 1, "user_id": "user-00", "points": 1000, "display_name": None}
    assert body["me"]["rank"] == 31 and body["me"]["points"] == 705
    assert [row["rank"] for row in body["neighbours"]] == [29, 30, 31]
    nobody = await board(lyo_client, token="bob")
    assert nobody["me"] is None and nobody["neighbours"] == []


async def test_windows_roll_over_at_midnight_utc(lyo_app: Any, lyo_client: Any) -> None:
    now = datetime.now(UTC)
    await grant(ADA, 10, at=now)
    await grant(ADA, 100, at=now - timedelta(days=40))  # another month, week and day
    day = await board(lyo_client, "day")
    assert day["me"]["points"] == 10 and day["period"] == now.date().isoformat()
    assert (await board(lyo_client, "all"))["me"]["points"] == 110
    assert (await board(lyo_client, "month"))["me"]["points"] == 10
    assert boards.period("week", datetime(2026, 12, 6, 23, 59, tzinfo=UTC)) == "2026-W49"
    assert boards.period("week", datetime(2026, 12, 7, 0, 0, tzinfo=UTC)) == "2026-W50"
    start, end = boards.bounds("month", datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


async def test_per_course_boards(lyo_app: Any, lyo_client: Any) -> None:
    course = uuid.uuid4()
    async with transaction():
        await engine.handle(envelope(lesson_done(ADA, course)))
        await engine.handle(envelope(lesson_done(BOB)))  # another course
    mine = await board(lyo_client, "week", scope=f"course:{course}")
    assert [row["user_id"] for row in mine["top"]] == [ADA]
    everyone = await board(lyo_client, "week")
    assert {row["user_id"] for row in everyone["top"]} == {ADA, BOB}


async def test_boards_lost_with_redis_are_rebuilt_from_the_ledger(
    lyo_app: Any, lyo_client: Any
) -> None:
    for i in range(20):
        await grant(f"user-{i}", i * 3 + 1)
    await grant(ADA, 50)
    before = await board(lyo_client, size="25")
    assert len(before["top"]) == 21
    await lyo_app.kernel.cache.for_plugin("gamification").delete_prefix("")  # Redis restarted empty
    after = await board(lyo_client, size="25")
    assert after["top"] == before["top"] and after["me"] == before["me"]


async def test_rebuild_reproduces_balances_and_boards(lyo_app: Any, lyo_client: Any) -> None:
    for i in range(10):
        await grant(f"user-{i}", 10 + i)
        await grant(f"user-{i}", -3)
    await grant(ADA, 42)
    expected_balances = dict(await Balance.all().values_list("user_id", "points"))
    expected_board = await board(lyo_client, size="20")
    await Balance.all().update(points=0)  # drifted
    cache = lyo_app.kernel.cache.for_plugin("gamification")
    await cache.zincrby(boards.key("all", datetime.now(UTC)), ADA, 1000)  # drifted
    assert await upkeep.rebuild_balances() == 11
    assert await upkeep.rebuild_boards() == 4
    assert dict(await Balance.all().values_list("user_id", "points")) == expected_balances
    assert await board(lyo_client, size="20") == expected_board
    assert expected_balances["user-0"] == 7


async def test_deactivated_and_erased_users_leave_the_boards(lyo_app: Any, lyo_client: Any) -> None:
    await grant(ADA, 10)
    await grant(BOB, 20)
    assert len((await board(lyo_client))["top"]) == 2
    async with transaction():
        await privacy.exclude(BOB, "deactivated")
    assert [row["user_id"] for row in (await board(lyo_client))["top"]] == [ADA]
    await upkeep.rebuild_boards()  # and they stay off after a rebuild
    assert [row["user_id"] for row in (await board(lyo_client))["top"]] == [ADA]
    assert await Entry.filter(user_id=BOB).exists()  # the ledger keeps a deactivated user's

    exported = await privacy.export(ADA)
    assert exported is not None and exported["balance"] == 10 and len(exported["entries"]) == 1
    async with transaction():
        await privacy.erase(ADA)
    assert (await board(lyo_client))["top"] == []
    assert await privacy.export(ADA) is None
    async with transaction():  # a late event about an erased user brings nothing back
        await engine.handle(envelope(lesson_done(ADA)))
    assert not await Entry.filter(user_id=ADA).exists()


async def test_bad_board_requests(lyo_app: Any, lyo_client: Any) -> None:
    answer = await lyo_client.get("/api/gamification/leaderboards/year", headers=auth("ada"))
    assert answer.status_code == 404
    assert (await answer.get_json())["status"] == 404
    answer = await lyo_client.get(
        "/api/gamification/leaderboards/day", headers=auth("ada"), query_string={"scope": "x"}
    )
    assert answer.status_code == 422
    assert "scope" in str(await answer.get_json())
    assert (await lyo_client.get("/api/gamification/leaderboards/day")).status_code == 401
    assert TOKENS


async def test_past_periods_from_redis_or_rebuilt_from_the_ledger(
    lyo_app: Any, lyo_client: Any
) -> None:
    midnight = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday: day, ISO week 49, month
    await grant(ADA, 7, at=midnight - timedelta(microseconds=1))  # Sunday 29th, 23:59:59.999
    await grant(ADA, 11, at=midnight)
    await grant(BOB, 5, at=midnight + timedelta(hours=23, minutes=59))
    before = await board(lyo_client, "day", period="2026-11-29")
    after = await board(lyo_client, "day", period="2026-11-30")
    assert before["period"] == "2026-11-29" and before["me"]["points"] == 7
    assert after["me"]["points"] == 11 and [r["user_id"] for r in after["top"]] == [ADA, BOB]
    assert (await board(lyo_client, "week", period="2026-W48"))["me"]["points"] == 7
    assert (await board(lyo_client, "week", period="2026-W49"))["me"]["points"] == 11
    assert (await board(lyo_client, "month", period="2026-11"))["me"]["points"] == 18
    assert (await board(lyo_client, "month", period="2026-12"))["me"] is None
    # Redis lost the board: it is rebuilt from the ledger on the next read
    await lyo_app.kernel.cache.for_plugin("gamification").delete(
        boards.key("day", midnight, "global")
    )
    again = await board(lyo_client, "day", period="2026-11-30")
    assert again["top"] == after["top"]
    for window, bad in (("day", "2026-W49"), ("week", "2026-13-01"), ("all", "2026-11")):
        answer = await lyo_client.get(
            f"/api/gamification/leaderboards/{window}",
            headers=auth("ada"),
            query_string={"period": bad},
        )
        assert answer.status_code in (400, 422), bad
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    answer = await lyo_client.get(
        "/api/gamification/leaderboards/day", headers=auth("ada"), query_string={"period": future}
    )
    assert answer.status_code in (400, 422)
