"""What becomes a notification: handlers subscribed by type string, so no publisher is
imported (community and gamification may be absent). Each is durable (at least once,
retried with backoff, dead-lettered) and idempotent: the key ``event:{id}`` allows one
notification per user and channel however often the event is delivered.

The account mails come first. The password-reset event carries no token, only the
reset's id: the handler asks auth (``lyo_auth.api.reset_link``) to mint the token while
it composes the mail and sends it *inside* the handler, so the token lives only in this
process's memory and the mail (no event payload, task arguments, inbox item or delivery
body holds it; attempts record a masked address)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lyo_auth.api import reset_link

import kernel
from kernel import Envelope, Handler

from . import mail
from .delivery import forget_user, notify
from .models import Address, Delivery
from .segments import enrolled
from .settings import plugin
from .tasks import deliver_mail, send_email


@kernel.on("auth.password_reset_requested.v1", id="notifications:password_reset", retries=8)
async def password_reset(envelope: Envelope) -> None:
    payload = envelope.payload
    user_id, key = str(payload["user_id"]), f"event:{envelope.id}"
    if await Delivery.exists(key=key, user_id=user_id, channel="email", status="sent"):
        return
    _address, _ = await Address.update_or_create(
        defaults={"email": payload["email"]}, user_id=user_id
    )
    delivery, _ = await Delivery.get_or_create(
        defaults={"category": "account", "kind": "password_reset"},
        key=key,
        user_id=user_id,
        channel="email",
    )
    link = await reset_link(payload["reset_id"])
    if link is None:  # used, superseded or expired meanwhile: nothing worth mailing
        delivery.status = "skipped"
        await delivery.save(update_fields=["status", "updated_at"])
        return
    context = {
        "display_name": payload["display_name"],
        "token": link.token,
        "reset_url": link.url,
        "expires_at": link.expires_at,
    }
    message = mail.compose("password_reset", payload.get("locale"), payload["email"], context)
    # a refused address does not stop a reset mail: the user asked for it just now
    await deliver_mail(delivery, None, message)


@kernel.on("auth.user_registered.v1", id="notifications:welcome")
async def welcome(envelope: Envelope) -> None:
    payload = envelope.payload
    user_id = str(payload["user_id"])
    await Address.update_or_create(defaults={"email": payload["email"]}, user_id=user_id)
    delivery, created = await Delivery.get_or_create(
        defaults={"category": "account", "kind": "welcome"},
        key=f"event:{envelope.id}",
        user_id=user_id,
        channel="email",
    )
    if created:
        await plugin.kernel.tasks.enqueue(send_email, delivery_id=str(delivery.id))


@kernel.on("auth.user_deactivated.v1", id="notifications:deactivated")
async def deactivated(envelope: Envelope) -> None:
    await forget_user(str(envelope.payload["user_id"]))


@kernel.on("auth.user_erased.v1", id="notifications:erased")
async def erased(envelope: Envelope) -> None:
    await forget_user(str(envelope.payload["user_id"]))


def _ids(payload: dict[str, Any], *fields: str) -> list[str]:
    """Recipients: ``recipient_ids`` when the publisher names them (subscribers of a
    discussion, followers of a course), with the users these fields name."""
    named = payload.get("recipient_ids")
    listed = [str(u) for u in named if u] if isinstance(named, list) else []
    return [*listed, *(str(payload[f]) for f in fields if payload.get(f))]


def _data(payload: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {f: str(payload[f]) for f in fields if payload.get(f) is not None}


async def _course_learners(payload: dict[str, Any]) -> list[str]:
    """Whoever is enrolled in the course, read from the learning plugin (none without
    it), unless the publisher named the recipients."""
    if isinstance(payload.get("recipient_ids"), list) or not payload.get("course_id"):
        return []
    try:
        return await enrolled(str(payload["course_id"]))
    except LookupError:
        return []


#: type -> (category, notice template, recipient fields, actor field, data fields)
RULES: dict[str, tuple[str, str, tuple[str, ...], str | None, tuple[str, ...]]] = {
    "community.reply_created.v1": (
        "replies",
        "reply",
        ("target_author_id", "discussion_author_id"),
        "author_id",
        ("discussion_id", "reply_id"),
    ),
    "community.mention_created.v1": (
        "replies",
        "mention",
        (),
        "author_id",
        ("discussion_id", "reply_id"),
    ),
    "community.reaction_added.v1": (
        "reactions",
        "reaction",
        ("target_author_id",),
        "user_id",
        ("discussion_id", "target_type", "target_id", "kind"),
    ),
    "gamification.achievement_unlocked.v1": (
        "achievements",
        "achievement",
        ("user_id",),
        None,
        ("achievement",),
    ),
    "learning.course_updated.v1": (
        "course_updates",
        "course_updated",
        (),
        "author_id",
        ("course_id",),
    ),
    "ai.course_generated.v1": (
        "generation_finished",
        "course_generated",
        ("owner_id",),
        None,
        ("course_id", "task_id"),
    ),
}

#: Further recipients an event implies, looked up when it is handled.
AUDIENCES: dict[str, Callable[[dict[str, Any]], Awaitable[list[str]]]] = {
    "learning.course_updated.v1": _course_learners,
}


def _course_update_key(envelope: Envelope) -> str | None:
    """One notice per course and window (``course_update_window``) for the edits of a
    published course; none for a draft's (its learners cannot read it)."""
    payload = envelope.payload
    if payload.get("status", "published") != "published":
        return None
    window = plugin.settings.course_update_window
    if not window:
        return f"event:{envelope.id}"
    slot = int(envelope.occurred_at.timestamp()) // window
    return f"course-updated:{payload.get('course_id')}:{window}:{slot}"


#: The idempotency key of an event's notices, where it is not ``event:{id}`` (one per
#: event): several events sharing a key make one notice per user; ``None``, none.
KEYS: dict[str, Callable[[Envelope], str | None]] = {
    "learning.course_updated.v1": _course_update_key,
}


def _rule_handler(event_type: str) -> Handler:
    category, kind, fields, actor, data_fields = RULES[event_type]
    name = event_type.split(".")[1]
    audience = AUDIENCES.get(event_type)
    key_of = KEYS.get(event_type, lambda envelope: f"event:{envelope.id}")

    async def handle(envelope: Envelope) -> None:
        payload = envelope.payload
        key = key_of(envelope)
        if key is None:
            return
        recipients = _ids(payload, *fields) + (await audience(payload) if audience else [])
        await notify(
            recipients,
            category=category,
            kind=kind,
            key=key,
            context=payload,
            data={"event": envelope.type, **_data(payload, *data_fields)},
            actor_id=str(payload[actor]) if actor and payload.get(actor) else None,
        )

    handle.__name__ = handle.__qualname__ = f"on_{name}"
    return kernel.on(
        event_type, id=f"notifications:{event_type.rsplit('.', 1)[0].replace('.', '_')}"
    )(handle)


HANDLERS: tuple[Handler, ...] = (
    password_reset,
    welcome,
    deactivated,
    erased,
    *(_rule_handler(t) for t in RULES),
)
