"""Events this plugin publishes, always inside the transaction that made the change.

Listeners need not import these: subscribing by type string is enough
(``@kernel.on("auth.user_registered.v1", id="mail:welcome")``); importing the class
gets the payload validated into it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from kernel import Event


class UserRegistered(Event):
    type = "auth.user_registered.v1"
    user_id: UUID
    email: str
    display_name: str
    roles: list[str]
    locale: str


class UserDeactivated(Event):
    type = "auth.user_deactivated.v1"
    user_id: UUID
    email: str
    by: UUID | None  # the admin who did it; None from the command line
    sessions_revoked: int


class PasswordResetRequested(Event):
    """For a mail plugin to deliver. ``token`` is the secret the user must present to
    ``POST /api/auth/password/reset`` (single use, valid until ``expires_at``);
    ``reset_url`` is ``LYO_AUTH__RESET_URL`` with the token filled in, when configured.
    The outbox keeps it until the kernel's retention purge: keep that short."""

    type = "auth.password_reset_requested.v1"
    user_id: UUID
    email: str
    display_name: str
    locale: str
    token: str
    reset_url: str | None
    expires_at: datetime
