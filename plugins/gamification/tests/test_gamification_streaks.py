"""Streaks count days in the user's time zone (from their profile, through the auth
plugin's public api), across day boundaries and daylight-saving changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from gam_support import TOKENS, envelope, lesson_done, recorder
from lyo_auth import plugin as auth_plugin
from lyo_auth.models import User
from lyo_gamification import engine
from lyo_gamification import plugin as gamification
from lyo_gamification.models import Streak, Unlock

from kernel import transaction
from kernel.testing import token_plugin


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [auth_plugin, gamification, token_plugin(TOKENS), recorder.plugin]


async def person(timezone: str) -> str:
    user = await User.create(
        email=f"{uuid.uuid4().hex[:8]}@example.com",
        password_hash="not-a-hash",
        display_name=timezone,
        timezone=timezone,
    )
    return str(user.id)


async def learn(user_id: str, when: str) -> int:
    """A lesson completed at UTC instant ``when``; the user's streak afterwards."""
    at = datetime.fromisoformat(when).replace(tzinfo=UTC)
    async with transaction():
        await engine.handle(envelope(lesson_done(user_id, at=at), at=at))
    return (await Streak.get(user_id=user_id)).current


async def test_a_day_boundary_in_utc_plus_13(lyo_app: Any) -> None:
    tonga = await person("Pacific/Tongatapu")  # UTC+13, no daylight saving
    assert await learn(tonga, "2026-12-07T10:30:00") == 1  # 23:30 on the 7th there
    assert await learn(tonga, "2026-12-07T11:30:00") == 2  # 00:30 on the 8th there
    assert await learn(tonga, "2026-12-08T10:00:00") == 2  # 23:00 on the 8th: same day
    streak = await Streak.get(user_id=tonga)
    assert str(streak.last_day) == "2026-12-08" and streak.timezone == "Pacific/Tongatapu"


async def test_a_day_boundary_in_utc_minus_10(lyo_app: Any) -> None:
    honolulu = await person("Pacific/Honolulu")  # UTC-10
    assert await learn(honolulu, "2026-12-07T09:30:00") == 1  # 23:30 on the 6th there
    assert await learn(honolulu, "2026-12-07T10:30:00") == 2  # 00:30 on the 7th there
    assert await learn(honolulu, "2026-12-08T09:59:00") == 2  # 23:59 on the 7th there
    assert await learn(honolulu, "2026-12-09T10:00:00") == 1  # the 9th: the 8th was missed


async def test_across_a_daylight_saving_change(lyo_app: Any) -> None:
    """New York springs forward at 02:00 on 2026-03-08 (UTC-5 to UTC-4)."""
    york = await person("America/New_York")
    assert await learn(york, "2026-03-08T05:30:00") == 1  # 00:30 EST on the 8th
    assert await learn(york, "2026-03-09T03:45:00") == 1  # 23:45 EDT, still the 8th
    assert await learn(york, "2026-03-09T04:15:00") == 2  # 00:15 EDT on the 9th


async def test_grace_days(lyo_app: Any) -> None:
    lyo_app.kernel.settings_for("gamification").streak_grace_days = 1
    user = await person("UTC")
    assert await learn(user, "2026-12-01T12:00:00") == 1
    assert await learn(user, "2026-12-03T12:00:00") == 2  # one day skipped: forgiven
    assert await learn(user, "2026-12-06T12:00:00") == 1  # two skipped: broken


async def test_streak_achievement_and_events(lyo_app: Any) -> None:
    user = await person("Europe/Paris")
    for day in (1, 2, 3):
        await learn(user, f"2026-12-0{day}T12:00:00")
    assert await Unlock.filter(user_id=user, achievement="streak", tier=3).exists()
    extended = [e for e in recorder.PUBLISHED if e.type == "gamification.streak_extended.v1"]
    assert [e.payload["current"] for e in extended] == [1, 2, 3]
    unlocked = [
        e.payload["achievement"] for e in recorder.PUBLISHED if e.type.endswith("unlocked.v1")
    ]
    assert "streak" in unlocked and "lessons" in unlocked


async def test_without_an_account_days_are_utc(lyo_app: Any) -> None:
    stranger = "not-an-account"
    assert await learn(stranger, "2026-12-07T23:30:00") == 1
    assert await learn(stranger, "2026-12-08T00:30:00") == 2
