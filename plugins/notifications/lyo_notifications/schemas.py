"""Request and response bodies of ``/api/notifications``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from .settings import CATEGORIES

#: FCM registration tokens: URL-safe base64 with a colon, ~150-250 characters.
FCM_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+:[A-Za-z0-9_\-]{20,}$")
#: APNs device tokens: hex, 32 bytes today (Apple may lengthen them: up to 100 bytes).
APNS_TOKEN = re.compile(r"^(?:[0-9a-fA-F]{2}){32,100}$")

Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceIn(_Body):
    platform: Literal["ios", "android"]
    token: str = Field(min_length=1, max_length=4096)
    app_version: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(
        default=None, max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
    )

    @model_validator(mode="after")
    def _token_fits_platform(self) -> DeviceIn:
        pattern = APNS_TOKEN if self.platform == "ios" else FCM_TOKEN
        if not pattern.match(self.token):
            what = "hex APNs device token" if self.platform == "ios" else "FCM registration token"
            raise ValueError(f"token: not a {what}")
        return self


class DeviceOut(BaseModel):
    id: UUID
    platform: str
    token_suffix: str  # the token's last characters: enough to tell devices apart
    app_version: str | None
    locale: str | None
    created_at: datetime
    updated_at: datetime


class DeviceList(BaseModel):
    items: list[DeviceOut]


class Channels(_Body):
    push: bool | None = None
    email: bool | None = None
    in_app: bool | None = None


class QuietHours(_Body):
    start: Clock
    end: Clock


class PreferencesIn(_Body):
    """Leave a channel out (or ``null``) to follow the default: auth's
    ``push_notifications`` / ``email_notifications``, and in-app on."""

    categories: dict[Literal[CATEGORIES], Channels] = Field(default_factory=dict)  # type: ignore[valid-type]
    quiet_hours: QuietHours | None = None
    digest: Literal["never", "daily", "weekly"] | None = None


class PreferencesOut(BaseModel):
    categories: dict[str, dict[str, bool]]  # effective values, defaults filled in
    quiet_hours: QuietHours | None
    digest: str
    timezone: str


class NotificationOut(BaseModel):
    id: UUID
    category: str
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime


class Inbox(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread: int


class InboxQuery(_Body):
    cursor: str | None = Field(default=None, max_length=500)
    size: int = Field(default=20, ge=1, le=100)
    unread_only: bool = False


class Unread(BaseModel):
    unread: int


class Marked(BaseModel):
    marked: int


class UnsubscribeQuery(BaseModel):
    user: str = Field(min_length=1, max_length=64)
    category: Literal[(*CATEGORIES, "digest")]  # type: ignore[valid-type]
    sig: str = Field(min_length=1, max_length=64)


class SendIn(_Body):
    """An administrator's message to users: exactly one of ``user_ids`` (at most 10,000),
    ``role`` (every active account holding it) and ``course_id`` (its enrolled learners).
    ``key`` makes a repeated send reach nobody twice (else each send is new)."""

    user_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=10_000
    )
    role: str | None = Field(default=None, min_length=1, max_length=64)
    course_id: UUID | None = None
    key: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[\w.:-]+$")
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=2000)
    category: Literal[CATEGORIES] = "reminders"  # type: ignore[valid-type]


class Bounced(BaseModel):
    """What a bounce changed: the hard bounces it reported, the addresses it disabled."""

    bounces: int
    disabled: int
