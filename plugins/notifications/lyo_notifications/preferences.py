"""Which channels a user wants for a category, and when quiet hours end.

Stored here (``notifications_preference``) only what the user chose in this plugin; what
they did not choose falls back to the auth plugin's preferences, read through
``lyo_auth.api``: ``push_notifications`` is the default of every category's push,
``email_notifications`` of every category's email, ``digest`` of the digest. In-app is
on by default. Account mail (password reset) is transactional and ignores preferences.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lyo_auth.api import UserInfo

from .models import Preference


@dataclass(frozen=True)
class Choice:
    push: bool
    email: bool
    in_app: bool
    quiet_until: datetime | None  # in UTC, when now is within quiet hours
    digest: str  # never | daily | weekly


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(
    start: str | None, end: str | None, timezone: str, now: datetime
) -> datetime | None:
    """The end of the quiet hours (UTC) if ``now`` falls within them, in ``timezone``."""
    if not start or not end or start == end:
        return None
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    begin, finish = _clock(start), _clock(end)
    clock = local.time().replace(second=0, microsecond=0, tzinfo=None)
    # across midnight (22:00-07:00) the hours are those after the start or before the end
    inside = begin <= clock < finish if begin < finish else clock >= begin or clock < finish
    if not inside:
        return None
    until = local.replace(hour=finish.hour, minute=finish.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until.astimezone(UTC)


def choose(
    user: UserInfo, stored: Preference | None, category: str, now: datetime | None = None
) -> Choice:
    """What ``user`` wants for ``category`` now."""
    chosen = (stored.channels if stored else {}).get(category, {})
    defaults = user.preferences
    if category == "account":
        return Choice(push=False, email=True, in_app=False, quiet_until=None, digest="never")
    return Choice(
        push=chosen.get("push", defaults.push_notifications),
        email=chosen.get("email", defaults.email_notifications),
        in_app=chosen.get("in_app", True),
        quiet_until=quiet_until(
            stored.quiet_start if stored else None,
            stored.quiet_end if stored else None,
            user.timezone,
            now or datetime.now(UTC),
        ),
        digest=(stored.digest if stored and stored.digest else defaults.digest),
    )
