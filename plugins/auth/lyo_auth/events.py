"""Events this plugin publishes, always inside the transaction that made the change.

Listeners need not import these: subscribing by type string is enough
(``@kernel.on("auth.user_registered.v1", id="mail:welcome")``); importing the class
gets the payload validated into it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
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
    """For a mail plugin to deliver. The token is not in it (the outbox, task
    arguments and dead letters keep events): the mailer calls
    ``lyo_auth.api.reset_link(reset_id)`` when it sends, which mints it. The reset is
    valid until ``expires_at``, single use, and superseded by a newer one."""

    type = "auth.password_reset_requested.v1"
    user_id: UUID
    reset_id: UUID
    email: str
    display_name: str
    locale: str
    expires_at: datetime


class ProfileUpdated(Event):
    """A user changed their public profile. ``changed`` names the fields whose value
    changed (``display_name``, ``bio``, ``timezone``, ``locale``, ``avatar_url``); the
    others carry the profile as it now is."""

    type = "auth.profile_updated.v1"
    user_id: UUID
    changed: list[str]
    display_name: str
    timezone: str
    locale: str
    avatar_url: str | None


class PreferencesUpdated(Event):
    """A user replaced their preferences; ``preferences`` are all of them, defaults
    filled in (the fields of ``GET /api/users/me/preferences``)."""

    type = "auth.preferences_updated.v1"
    user_id: UUID
    changed: list[str]
    preferences: dict[str, Any]


class RolesChanged(Event):
    """A role was granted or taken away; ``roles`` are the user's roles now."""

    type = "auth.roles_changed.v1"
    user_id: UUID
    added: list[str]
    removed: list[str]
    roles: list[str]


class UserErased(Event):
    """The account and everything auth stored about it are gone (``lyo users erase``);
    published in the erasing transaction, so other plugins' copies can follow."""

    type = "auth.user_erased.v1"
    user_id: UUID
