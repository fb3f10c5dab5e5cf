"""Request and response bodies (validated by quart-schema; invalid input is a 422)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from functools import cache, lru_cache
from typing import Annotated, Literal
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from quart_schema.pydantic import File

from kernel import PageQuery


@lru_cache(maxsize=4096)
def normalize_email(value: str) -> str:
    """Syntax-checked and lower-cased (domain and local part): one account per address
    however it is typed. The last few thousand addresses' answers are kept: checking
    costs more than a sign-in's other validation."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.normalized.lower()


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(value: str) -> str:
    if value != "UTC" and value not in _zones():
        raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'Europe/Paris'")
    return value


_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")


def check_locale(value: str) -> str:
    if not _LOCALE.match(value):
        raise ValueError(f"{value!r} is not a language tag like 'en', 'pt-BR' or 'zh-Hant-TW'")
    return value


Email = Annotated[str, Field(max_length=320), AfterValidator(normalize_email)]
Password = Annotated[str, Field(min_length=1, max_length=4096)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(check_timezone)]
Locale = Annotated[str, Field(max_length=35), AfterValidator(check_locale)]
Token = Annotated[str, Field(min_length=1, max_length=4096)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(_Body):
    email: Email
    password: Password
    display_name: DisplayName
    locale: Locale = "en"


class LoginIn(_Body):
    email: Email
    password: Password


class RefreshIn(_Body):
    refresh_token: Token


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid.")


class PasswordChangeIn(_Body):
    current_password: Password
    new_password: Password


class ForgotIn(_Body):
    email: Email


class ResetIn(_Body):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    new_password: Password


class ResetRequested(BaseModel):
    """The answer to a password-reset request, the same whether the account exists."""

    detail: str


class UserOut(BaseModel):
    """The signed-in user (``/api/auth/me``, registration)."""

    id: UUID
    email: str
    display_name: str
    roles: list[str]
    permissions: list[str]
    locale: str
    timezone: str
    created_at: datetime


class WhoAmI(BaseModel):
    """Who the bearer token says the caller is (``/api/auth/whoami``)."""

    id: UUID
    roles: list[str]
    permissions: list[str]
    expires_at: datetime  # the access token's expiry


class ProfileOut(BaseModel):
    id: UUID
    email: str
    display_name: str
    bio: str
    timezone: str
    locale: str
    avatar_url: str | None


class ProfilePatch(_Body):
    display_name: DisplayName | None = None
    bio: Annotated[str, Field(max_length=2000)] | None = None
    timezone: Timezone | None = None
    locale: Locale | None = None


class PublicProfile(BaseModel):
    id: UUID
    display_name: str
    bio: str
    avatar_url: str | None
    created_at: datetime


class AvatarForm(BaseModel):
    """``multipart/form-data`` with the image in ``file`` (a raw image body works too)."""

    file: File


class Preferences(_Body):
    """A user's preferences; fields left out take these defaults."""

    theme: Literal["system", "light", "dark"] = "system"
    email_notifications: bool = True
    push_notifications: bool = True
    digest: Literal["never", "daily", "weekly"] = "weekly"
    daily_goal_minutes: int = Field(default=15, ge=0, le=600)
    reduced_motion: bool = False


class AdminUser(BaseModel):
    id: UUID
    email: str
    display_name: str
    roles: list[str]
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    deactivated_at: datetime | None


class UserQuery(PageQuery):
    email: Annotated[str, Field(min_length=1, max_length=320)] | None = Field(
        default=None, description="Part of the email address (case-insensitive)."
    )
    role: Annotated[str, Field(min_length=1, max_length=50)] | None = None
