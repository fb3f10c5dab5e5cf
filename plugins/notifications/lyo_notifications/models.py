"""The plugin's tables (``notifications_*``). User ids are the text form of the auth
plugin's ids (``Identity.id``); nothing here points at another plugin's tables."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Device(Model):
    """A push token of one user's app install; a token belongs to one user at a time."""

    id = fields.UUIDField(primary_key=True)
    user_id = fields.CharField(max_length=64, db_index=True)
    platform = fields.CharField(max_length=16)  # ios | android
    token = fields.CharField(max_length=4096)
    token_hash = fields.CharField(max_length=64, unique=True)  # sha256: tokens are long
    app_version = fields.CharField(max_length=64, null=True)
    locale = fields.CharField(max_length=35, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notifications_device"


class Preference(Model):
    """One user's choices; absent values fall back to auth's preferences."""

    user_id = fields.CharField(max_length=64, primary_key=True)
    #: ``{category: {channel: bool}}``, only what the user set.
    channels: dict[str, dict[str, bool]] = fields.JSONField(default=dict)  # type: ignore[assignment]
    quiet_start = fields.CharField(max_length=5, null=True)  # "22:00", user's time zone
    quiet_end = fields.CharField(max_length=5, null=True)
    digest = fields.CharField(max_length=8, null=True)  # never | daily | weekly
    last_digest_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notifications_preference"


class Address(Model):
    """A user's email address, copied from auth's events (auth's ``api`` gives none)."""

    user_id = fields.CharField(max_length=64, primary_key=True)
    email = fields.CharField(max_length=320)
    #: Set when the address bounced hard or was rejected: no more mail to it.
    disabled_reason = fields.CharField(max_length=200, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notifications_address"


class Notification(Model):
    """One item of a user's in-app inbox."""

    id = fields.UUIDField(primary_key=True)
    user_id = fields.CharField(max_length=64)
    category = fields.CharField(max_length=32)
    kind = fields.CharField(max_length=64)  # the template: reply, reaction, ...
    title = fields.CharField(max_length=300)
    body = fields.TextField()
    data: dict[str, object] = fields.JSONField(default=dict)  # type: ignore[assignment]
    #: What made it (an event id, an admin send): one notification per user and key.
    key = fields.CharField(max_length=100)
    read_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "notifications_notification"
        unique_together = (("user_id", "key"),)
        indexes = (("user_id", "created_at"),)


class Delivery(Model):
    """One notification on one channel for one user: at most one per (key, user,
    channel), however often its event is delivered."""

    id = fields.UUIDField(primary_key=True)
    user_id = fields.CharField(max_length=64, db_index=True)
    channel = fields.CharField(max_length=8)  # push | email
    key = fields.CharField(max_length=100)
    category = fields.CharField(max_length=32)
    kind = fields.CharField(max_length=64)  # the template: welcome, notification, ...
    #: What to say (never a secret: account mail is sent from its event, not stored).
    title = fields.CharField(max_length=300, default="")
    body = fields.TextField(default="")
    #: pending | deferred (quiet hours) | digest | sent | failed | skipped
    status = fields.CharField(max_length=12, default="pending")
    not_before = fields.DatetimeField(null=True)
    error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notifications_delivery"
        unique_together = (("key", "user_id", "channel"),)


class Attempt(Model):
    """Every try to hand a delivery to a provider (SMTP, FCM, APNs)."""

    id = fields.BigIntField(primary_key=True)
    delivery = fields.ForeignKeyField(
        "notifications.Delivery", related_name="attempts", on_delete=fields.CASCADE
    )
    provider = fields.CharField(max_length=8)  # smtp | fcm | apns
    target = fields.CharField(max_length=100)  # a device id, or the masked address
    status = fields.IntField(null=True)  # HTTP status or SMTP reply code
    message_id = fields.CharField(max_length=300, null=True)
    error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "notifications_attempt"
