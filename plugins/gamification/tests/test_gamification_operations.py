"""What operators and other plugins drive: the CLI (rebuild, backfill), users leaving
through auth's events, ids that cannot be users."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from gam_support import ADA, BOB, auth, envelope, eventually, lesson_done
from lyo_gamification import engine
from lyo_gamification.models import Balance, Entry, Exclusion

from kernel import Event, publish, testing, transaction


class UserDeactivated(Event):
    type = "auth.user_deactivated.v1"
    user_id: str
    email: str
    by: str | None = None
    sessions_revoked: int = 0


async def test_a_deactivated_user_leaves_the_boards(
    lyo_app: Any, lyo_client: Any, lyo_worker: None
) -> None:
    lyo_app.kernel.activate()
    async with transaction():
        await engine.handle(envelope(lesson_done(ADA)))
        await engine.handle(envelope(lesson_done(BOB)))
    await publish(UserDeactivated(user_id=BOB, email="bob@example.com"))

    async def excluded() -> bool:
        return await Exclusion.exists(user_id=BOB, reason="deactivated")

    await eventually(excluded)
    answer = await lyo_client.get("/api/gamification/leaderboards/all", headers=auth("ada"))
    assert [row["user_id"] for row in (await answer.get_json())["top"]] == [ADA]


async def test_ids_that_cannot_be_users_award_nothing(lyo_app: Any, lyo_client: Any) -> None:
    async with transaction():
        await engine.handle(envelope(lesson_done("bad id; drop")))
    assert not await Entry.exists()
    answer = await lyo_client.post(
        "/api/gamification/admin/grants",
        json={"user_id": ";", "points": 5, "reason": "x"},
        headers=auth("admin"),
    )
    assert answer.status_code == 422 and "user_id" in str(await answer.get_json())


async def lyo(settings: Any, *args: str) -> str:
    """``lyo ARGS`` in its own process on this test's database and Redis prefix."""
    env = {"LYO_REDIS_URL": settings.redis_url or "", "LYO_REDIS_PREFIX": settings.redis_prefix}
    return await testing.lyo_command(
        settings.database_url, *args, plugins="gamification", env=env | {"LYO_LOG_LEVEL": "WARNING"}
    )


@pytest.mark.skipif(
    testing.test_database_kind() != "postgres", reason="a second process needs a shared database"
)
async def test_the_cli_rebuilds_and_backfills(lyo_app: Any, lyo_settings: Any) -> None:
    lyo_app.kernel.activate()
    async with transaction():
        for _ in range(3):
            await engine.handle(envelope(lesson_done(ADA, at=datetime.now(UTC))))
    await Balance.filter(user_id=ADA).update(points=1)  # drifted
    output = await lyo(lyo_settings, "gamification", "rebuild")
    assert "rebuilt 1 balances and 4 boards" in output
    assert (await Balance.get(user_id=ADA)).points == 30
    first = await Entry.filter(user_id=ADA).first()
    assert first is not None
    await Entry.filter(id=first.id).delete()  # as if the rule had been added later
    output = await lyo(lyo_settings, "gamification", "backfill", "lesson_completed")
    assert "3 events read, 1 entries added" in output
    assert await Entry.filter(user_id=ADA).count() == 3
    failed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kernel",
        "gamification",
        "backfill",
        "nope",
        env={
            **os.environ,
            "LYO_ENV": "test",
            "LYO_DATABASE_URL": lyo_settings.database_url,
            "LYO_PLUGINS__ENABLED": "gamification",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    said = (await failed.communicate())[0].decode()
    assert failed.returncode != 0 and "no rule 'nope'" in said
