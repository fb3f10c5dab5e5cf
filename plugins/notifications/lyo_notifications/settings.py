"""The plugin's name, its settings (``LYO_NOTIFICATIONS__<FIELD>``) and its handle on the
running kernel: ``plugin`` is the one way code in this plugin reaches the kernel."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from kernel import PluginHandle

NAME = "notifications"

#: What a notification is about; each has its own preferences per channel.
CATEGORIES = (
    "replies",
    "reactions",
    "achievements",
    "course_updates",
    "generation_finished",
    "reminders",
    "account",
)
CHANNELS = ("push", "email", "in_app")


class NotificationsSettings(BaseModel):
    #: SMTP server that sends mail; ``smtp_host`` empty: mail is not sent (logged once,
    #: and the deliveries fail, to be retried once configured).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    #: ``starttls``: upgrade a plain connection (port 587); ``tls``: implicit TLS (465);
    #: ``none``: plain (a local relay, tests).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: float = Field(default=30.0, gt=0)
    mail_from: str = "Lyo <no-reply@localhost>"
    #: The mailbox where late bounces (DSNs) arrive, ``bounces@example.com``; set, mail
    #: leaves with a signed VERP return path ``bounces+<user>.<sig>@example.com``.
    bounce_address: str = Field(default="", pattern=r"^$|^[^@\s+]+@[^@\s]+$")
    #: Shared with whatever posts DSNs to ``POST /api/notifications/bounces`` (an HMAC
    #: key); empty: that route is off (404).
    bounce_webhook_secret: str = ""
    #: Public base URL of the API, for links in mail (one-click unsubscribe).
    public_url: str = "http://127.0.0.1:8000"
    #: Language of the templates used when none exists for the user's locale.
    fallback_locale: str = "en"
    #: FCM HTTP v1: the service-account JSON (a path to the file, or the JSON itself);
    #: empty: Android push is not sent.
    fcm_credentials: str = ""
    #: Where FCM requests go (a local server in tests).
    fcm_base_url: str = "https://fcm.googleapis.com"
    #: APNs token-based auth: the ``.p8`` key (a path, or the PEM itself), its key id,
    #: the team id and the app's bundle id (``apns-topic``); empty key: no iOS push.
    apns_key: str = ""
    apns_key_id: str = ""
    apns_team_id: str = ""
    apns_topic: str = ""
    #: ``https://api.push.apple.com`` (production) or ``https://api.sandbox.push.apple.com``.
    apns_base_url: str = "https://api.push.apple.com"
    #: A CA bundle to trust instead of the system's (a local test server).
    apns_ca_file: str = ""
    #: Push requests in flight at once per provider and process.
    push_concurrency: int = Field(default=16, ge=1, le=1000)
    #: A ``Retry-After`` up to this many seconds is waited for inside the task; longer
    #: ones fail the attempt and the task's own retry (with backoff) takes over.
    max_retry_after: float = Field(default=10.0, ge=0)
    #: Inbox items and delivery records older than this many days are purged.
    retention_days: int = Field(default=90, ge=1)
    #: A course's learners get at most one ``course_updates`` notice per course in each
    #: window of this many seconds (windows aligned to the Unix epoch, so hourly ones
    #: start on the hour, UTC): an author's burst of edits is one notice. 0: one notice
    #: per update.
    course_update_window: int = Field(default=3600, ge=0)


#: This plugin's view of the running kernel (settings, cache, tasks, notify_user, ...).
plugin = PluginHandle(NAME)
