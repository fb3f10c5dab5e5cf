"""The migrations shipped in ``lyo_gamification/migrations/gamification/``,
driven through the ``lyo`` command as an operator would: up, down, up again,
and in step with the models.
PostgreSQL only (aerich writes PostgreSQL SQL; SQLite is built from the models)."""

from __future__ import annotations

import pytest

from kernel import testing

pytestmark = pytest.mark.skipif(
    testing.test_database_kind() != "postgres", reason="migrations target PostgreSQL"
)

TABLES = {
    "gamification_entry",
    "gamification_balance",
    "gamification_progress",
    "gamification_unlock",
    "gamification_streak",
    "gamification_journal",
    "gamification_exclusion",
    "gamification_moderated",
}


async def test_up_down_up_and_in_step_with_the_models() -> None:
    await testing.check_migrations("gamification", TABLES)
