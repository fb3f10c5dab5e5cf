"""Accounts, role grants, sessions (refresh-token families), refresh and reset tokens.

Tables are ``auth_*``. UUID keys, timezone-aware timestamps. The CHECK constraints are
SQL in the migration (aerich ignores ``Meta.constraints``) and mirrored here by
validators, so SQLite development databases refuse the same values.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tortoise import fields
from tortoise.exceptions import ValidationError
from tortoise.functions import Lower
from tortoise.indexes import Index
from tortoise.models import Model
from tortoise.validators import MaxLengthValidator, MinLengthValidator, RegexValidator

ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
MAX_BIO = 2000


def _lower_case(value: Any) -> None:
    if isinstance(value, str) and value != value.lower():
        raise ValidationError("email must be lower case (normalized)")


class User(Model):
    """An account and its public profile."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    email = fields.CharField(max_length=320, unique=True, validators=[_lower_case])
    password_hash = fields.CharField(max_length=255)
    display_name = fields.CharField(
        max_length=100, validators=[MinLengthValidator(1), MaxLengthValidator(100)]
    )
    bio = fields.TextField(default="", validators=[MaxLengthValidator(MAX_BIO)])
    timezone = fields.CharField(max_length=64, default="UTC")
    locale = fields.CharField(max_length=35, default="en")
    avatar_name = fields.CharField(max_length=255, null=True)
    avatar_url = fields.CharField(max_length=1024, null=True)
    preferences: dict[str, Any] = fields.JSONField(default=dict)  # type: ignore[assignment]
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_login_at = fields.DatetimeField(null=True)
    password_changed_at = fields.DatetimeField(null=True)
    deactivated_at = fields.DatetimeField(null=True)

    role_grants: fields.ReverseRelation[UserRole]
    sessions: fields.ReverseRelation[Session]

    class Meta:
        #: ``lyo_auth.api.users_by_name`` looks names up case-insensitively.
        indexes = (Index(Lower("display_name"), name="idx_auth_user_name_lower"),)

    def role_names(self) -> list[str]:
        """Role names; needs ``role_grants`` fetched (``prefetch_related``)."""
        return sorted(grant.role for grant in self.role_grants)


class UserRole(Model):
    """One role granted to one user."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "auth.User", related_name="role_grants", on_delete=fields.CASCADE
    )
    role = fields.CharField(
        max_length=50, db_index=True, validators=[RegexValidator(ROLE_PATTERN.pattern, 0)]
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("user", "role"),)


class Session(Model):
    """A sign-in: one family of refresh tokens, revoked as a whole.

    Revoked on logout, refresh-token reuse, password change and deactivation. Access
    tokens carry its id as ``sid``.
    """

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "auth.User", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=32, null=True)
    user_agent = fields.CharField(max_length=255, null=True)
    ip = fields.CharField(max_length=64, null=True)

    tokens: fields.ReverseRelation[RefreshToken]

    class Meta:
        indexes = (("user", "revoked_at"),)


class RefreshToken(Model):
    """A refresh token, stored as its SHA-256.

    Its id is the token's ``jti``; ``consumed_at`` is set when it is exchanged.
    """

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    session: fields.ForeignKeyRelation[Session] = fields.ForeignKeyField(
        "auth.Session", related_name="tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    consumed_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        indexes = (("session",),)


class PasswordReset(Model):
    """A single-use password reset token, stored as its SHA-256."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "auth.User", related_name="password_resets", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        indexes = (("user", "used_at"),)
