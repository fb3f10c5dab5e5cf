"""The plugin's name, its settings (``LYO_GAMIFICATION__*``) and its handle on the
running kernel (:data:`plugin`), the one way code in this package reaches it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from kernel import PluginHandle

NAME = "gamification"


class GamificationSettings(BaseModel):
    rules_file: Path | None = Field(
        None, description="A JSON rules file replacing the shipped lyo_gamification/rules.json."
    )
    streak_grace_days: int = Field(
        0, ge=0, le=7, description="Days a streak may skip without breaking (0: none)."
    )
    leaderboard_size: int = Field(10, ge=1, le=100, description="Default top N of a board.")
    neighbours: int = Field(2, ge=0, le=10, description="Rows above and below the caller.")
    broadcast_interval: float = Field(
        1.0, gt=0, le=60, description="At most one leaderboard message per board this often (s)."
    )


plugin = PluginHandle(NAME)
