"""Request and response bodies of ``/api/gamification``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from kernel import CursorQuery

from .rules import USER_ID


class EntryOut(BaseModel):
    id: int
    points: int
    reason: str
    rule: str
    scope: str | None
    occurred_at: datetime


class HistoryQuery(CursorQuery):
    pass


class StreakOut(BaseModel):
    current: int  # 0 once a day (plus grace) was missed
    longest: int
    last_day: date | None
    timezone: str


class MeOut(BaseModel):
    user_id: str
    points: int
    streak: StreakOut


class TierOut(BaseModel):
    tier: int
    unlocked_at: datetime | None


class AchievementOut(BaseModel):
    id: str
    name: str
    description: str
    hidden: bool
    tiers: list[TierOut]
    progress: int  # courses completed, longest streak...
    next_tier: int | None  # None once every tier is unlocked


class AchievementList(BaseModel):
    items: list[AchievementOut]


class BoardQuery(BaseModel):
    scope: str = Field(
        "global",
        pattern=r"^(global|course:[0-9A-Za-z-]{1,56})$",
        description="global or course:{id}",
    )
    size: int = Field(10, ge=1, le=100)
    period: str | None = Field(
        None,
        pattern=r"^\d{4}(-\d{2}(-\d{2})?|-W\d{2})$",
        description="a past period of the window: 2026-12-07 (day), 2026-W49 (week), "
        "2026-11 (month); default: the current one",
    )


class StandingOut(BaseModel):
    rank: int
    user_id: str
    points: int
    display_name: str | None = None


class BoardOut(BaseModel):
    window: Literal["day", "week", "month", "all"]
    scope: str
    period: str  # 2026-12-07, 2026-W50, 2026-12 or all (UTC)
    top: list[StandingOut]
    me: StandingOut | None  # None when the caller has no points in the window
    neighbours: list[StandingOut]


class GrantIn(BaseModel):
    user_id: str = Field(pattern=USER_ID)
    points: int = Field(ge=-1_000_000, le=1_000_000, description="negative to revoke")
    reason: str = Field(min_length=1, max_length=200)

    @field_validator("points")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("points must not be 0")
        return value


class GrantOut(EntryOut):
    user_id: str
    balance: int
    granted_by: str | None
