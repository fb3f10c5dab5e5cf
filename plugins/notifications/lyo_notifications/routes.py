"""``/api/notifications``: the inbox, devices, preferences, one-click unsubscribe and
the administrators' send."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from quart import Blueprint, request
from quart_schema import validate_querystring, validate_request, validate_response

from kernel import (
    Accepted,
    CursorQuery,
    NotFound,
    ValidationFailed,
    accepted,
    atomic,
    current_identity,
    paginate_cursor,
    problem_responses,
    require,
)

from . import bounces, mail
from .delivery import public, token_hash
from .models import Device, Notification, Preference
from .preferences import choose
from .schemas import (
    Bounced,
    DeviceIn,
    DeviceList,
    DeviceOut,
    Inbox,
    InboxQuery,
    Marked,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    QuietHours,
    SendIn,
    Unread,
    UnsubscribeQuery,
)
from .segments import members
from .settings import CATEGORIES, CHANNELS, NAME, plugin

bp = Blueprint(NAME, __name__, url_prefix=f"/api/{NAME}")
READ = f"{NAME}:read"
SEND = f"{NAME}:send"


def _me() -> str:
    return str(current_identity().id)


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound("No such notification.") from None


# -- inbox -------------------------------------------------------------------------------


@bp.get("")
@require(READ)
@validate_querystring(InboxQuery)
@validate_response(Inbox)
@problem_responses(422)
async def inbox(query_args: InboxQuery) -> Inbox:
    """My notifications, newest first (cursor pagination), and how many are unread."""
    mine = Notification.filter(user_id=_me())
    if query_args.unread_only:
        mine = mine.filter(read_at__isnull=True)
    page = await paginate_cursor(
        mine, CursorQuery(cursor=query_args.cursor, size=query_args.size), public
    )
    unread = await Notification.filter(user_id=_me(), read_at__isnull=True).count()
    return Inbox(
        items=[NotificationOut.model_validate(item) for item in page.items],
        next_cursor=page.next_cursor,
        unread=unread,
    )


@bp.get("/unread")
@require(READ)
@validate_response(Unread)
async def unread() -> Unread:
    """How many of my notifications are unread (for a badge)."""
    return Unread(unread=await Notification.filter(user_id=_me(), read_at__isnull=True).count())


@bp.post("/<notification_id>/read")
@require(READ)
@validate_response(Marked)
async def mark_read(notification_id: str) -> Marked:
    """Mark one of my notifications read (again is fine)."""
    found = await Notification.filter(id=_uuid(notification_id), user_id=_me()).first()
    if found is None:
        raise NotFound("No such notification.")
    marked = await Notification.filter(id=found.id, read_at__isnull=True).update(
        read_at=datetime.now(UTC)
    )
    return Marked(marked=marked)


@bp.post("/read-all")
@require(READ)
@validate_response(Marked)
async def mark_all_read() -> Marked:
    """Mark all my notifications read."""
    marked = await Notification.filter(user_id=_me(), read_at__isnull=True).update(
        read_at=datetime.now(UTC)
    )
    return Marked(marked=marked)


@bp.delete("/<notification_id>")
@require(READ)
async def delete_notification(notification_id: str) -> tuple[str, int]:
    """Delete one of my notifications."""
    if not await Notification.filter(id=_uuid(notification_id), user_id=_me()).delete():
        raise NotFound("No such notification.")
    return "", 204


# -- devices -----------------------------------------------------------------------------


def _device(device: Device) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        platform=device.platform,
        token_suffix=device.token[-6:],
        app_version=device.app_version,
        locale=device.locale,
        created_at=device.created_at,
        updated_at=device.updated_at,
    )


@bp.post("/devices")
@require(READ)
@validate_request(DeviceIn)
@validate_response(DeviceOut, 201)
@atomic
async def register_device(data: DeviceIn) -> tuple[DeviceOut, int]:
    """Register (or refresh) this app install's push token. A token belongs to one user
    at a time: registered by someone else, it moves to the caller."""
    digest = token_hash(data.token)
    fields = {
        "user_id": _me(),
        "platform": data.platform,
        "token": data.token,
        "app_version": data.app_version,
        "locale": data.locale,
    }
    device, _ = await Device.update_or_create(defaults=fields, token_hash=digest)
    return _device(device), 201


@bp.get("/devices")
@require(READ)
@validate_response(DeviceList)
async def list_devices() -> DeviceList:
    """My registered devices."""
    devices = await Device.filter(user_id=_me()).order_by("created_at")
    return DeviceList(items=[_device(d) for d in devices])


@bp.delete("/devices/<device_id>")
@require(READ)
async def delete_device(device_id: str) -> tuple[str, int]:
    """Forget one of my devices (sign-out on that install)."""
    if not await Device.filter(id=_uuid(device_id), user_id=_me()).delete():
        raise NotFound("No such device.")
    return "", 204


# -- preferences -------------------------------------------------------------------------


async def _preferences(user_id: str) -> PreferencesOut:
    from lyo_auth.api import user_by_id

    user = await user_by_id(user_id)
    if user is None:
        raise NotFound("No such user.")
    stored = await Preference.get_or_none(user_id=user_id)
    categories = {}
    for category in CATEGORIES:
        choice = choose(user, stored, category)
        categories[category] = {channel: getattr(choice, channel) for channel in CHANNELS}
    quiet = (
        QuietHours(start=stored.quiet_start, end=stored.quiet_end)
        if stored and stored.quiet_start and stored.quiet_end
        else None
    )
    digest = stored.digest if stored and stored.digest else user.preferences.digest
    return PreferencesOut(
        categories=categories, quiet_hours=quiet, digest=digest, timezone=user.timezone
    )


@bp.get("/preferences")
@require(READ)
@validate_response(PreferencesOut)
async def get_preferences() -> PreferencesOut:
    """My preferences, defaults filled in (auth's ``push_notifications``,
    ``email_notifications`` and ``digest``); quiet hours in my profile's time zone."""
    return await _preferences(_me())


@bp.put("/preferences")
@require(READ)
@validate_request(PreferencesIn)
@validate_response(PreferencesOut)
async def put_preferences(data: PreferencesIn) -> PreferencesOut:
    """Replace my preferences; channels left out follow the defaults."""
    channels = {
        category: {k: v for k, v in chosen.model_dump().items() if v is not None}
        for category, chosen in data.categories.items()
    }
    await Preference.update_or_create(
        defaults={
            "channels": {k: v for k, v in channels.items() if v},
            "quiet_start": data.quiet_hours.start if data.quiet_hours else None,
            "quiet_end": data.quiet_hours.end if data.quiet_hours else None,
            "digest": data.digest,
        },
        user_id=_me(),
    )
    return await _preferences(_me())


@bp.post("/unsubscribe")
@validate_querystring(UnsubscribeQuery)
@problem_responses(403)
async def unsubscribe(query_args: UnsubscribeQuery) -> tuple[str, int]:
    """One-click unsubscribe (RFC 8058), the target of mails' ``List-Unsubscribe``:
    email for that category (or digests) stops. Signed; no sign-in needed."""
    from kernel import Forbidden

    if not mail.valid_signature(query_args.user, query_args.category, query_args.sig):
        raise Forbidden("This unsubscribe link is not valid.")
    stored, _ = await Preference.get_or_create(user_id=query_args.user)
    if query_args.category == "digest":
        stored.digest = "never"
    else:
        stored.channels = {
            **stored.channels,
            query_args.category: {**stored.channels.get(query_args.category, {}), "email": False},
        }
    await stored.save()
    return "", 204


@bp.post("/bounces")
@validate_response(Bounced, 200)
@problem_responses(403, 404)
async def bounce() -> Bounced:
    """A late bounce (a DSN mail, raw, ``message/rfc822``) from the operator's bounce
    mailbox: hard bounces disable the address. Signed: ``X-Lyo-Signature:
    sha256=<hex HMAC-SHA256 of the body with bounce_webhook_secret>``; off (404) while
    that setting is empty."""
    from kernel import Forbidden

    if not plugin.settings.bounce_webhook_secret:
        raise NotFound("Bounce processing over HTTP is not configured.")
    raw = await request.get_data()
    if not bounces.valid_webhook_signature(raw, request.headers.get("X-Lyo-Signature", "")):
        raise Forbidden("The signature of this bounce is not valid.")
    return Bounced(**await bounces.process(raw))


# -- administrators ----------------------------------------------------------------------


@bp.post("/send")
@require(SEND)
@validate_request(SendIn)
@validate_response(Accepted, 202)
@problem_responses(429)
async def send(data: SendIn) -> tuple[Accepted, int]:
    """Send a message to users or to a segment (a role, a course's learners), as a task
    with progress (follow ``status_url``)."""
    from .tasks import broadcast

    given = [f for f in ("user_ids", "role", "course_id") if getattr(data, f) is not None]
    if len(given) != 1:
        raise ValidationFailed.field(
            (given or ["user_ids"])[-1], "Give exactly one of user_ids, role and course_id."
        )
    if data.user_ids is None:
        await members(role=data.role, course_id=data.course_id)  # a bad segment: 422 now
    run = await plugin.kernel.tasks.enqueue(
        broadcast,
        owner=current_identity(),
        user_ids=data.user_ids,
        role=data.role,
        course_id=str(data.course_id) if data.course_id else None,
        key=data.key,
        title=data.title,
        body=data.body,
        category=data.category,
    )
    return accepted(run), 202
