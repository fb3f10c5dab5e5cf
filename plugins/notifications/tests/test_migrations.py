"""The migrations shipped in ``lyo_notifications/migrations/notifications/``,
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
    "notifications_device",
    "notifications_preference",
    "notifications_address",
    "notifications_notification",
    "notifications_delivery",
    "notifications_attempt",
}


async def test_up_down_up_and_in_step_with_the_models() -> None:
    await testing.check_migrations("notifications", TABLES, plugins="auth,notifications")
