"""From "something happened" to an inbox item and push and email deliveries.

:func:`notify` is what event handlers, the admin send and other plugins (through
:mod:`.api`) call. For each user it checks the account (none, or deactivated: nothing),
their preferences for the category, and the idempotency key (one notification per user
and key, one delivery per user, key and channel, however often an event is delivered),
then stores the inbox item (pushed on ``user:{id}`` as ``notifications.new`` once the
transaction commits) and queues push and email deliveries as tasks, which leave only if
the transaction commits. Quiet hours defer push (``deferred`` until they end) and send
email to the digest.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from lyo_auth.api import users_by_id

from .models import Address, Delivery, Device, Notification, Preference
from .preferences import choose
from .settings import plugin
from .templates import notice


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def notify(
    user_ids: Iterable[str],
    *,
    category: str,
    kind: str,
    key: str,
    context: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    actor_id: str | None = None,
) -> int:
    """Notify ``user_ids`` (never ``actor_id``) of something of ``category``, worded by
    template ``notices/<kind>.txt`` from ``context``; ``data`` travels with the item
    (ids a client opens). Returns how many users were notified anew."""
    from .tasks import enqueue_pushes, send_email

    wanted = [
        str(u) for u in dict.fromkeys(user_ids) if _is_id(u) and str(u) != str(actor_id or "")
    ]
    actor_id = actor_id if _is_id(actor_id) else None
    if not wanted:
        return 0
    found = await users_by_id([*wanted, *([actor_id] if actor_id else [])])
    people = {str(user_id): info for user_id, info in found.items()}
    context = dict(context or {})
    if actor_id:
        actor = people.get(str(actor_id))
        context.setdefault("actor_name", actor.display_name if actor else "Someone")
    stored = {p.user_id: p for p in await Preference.filter(user_id__in=wanted)}
    seen = set(
        await Notification.filter(user_id__in=wanted, key=key).values_list("user_id", flat=True)
    )
    seen |= set(
        await Delivery.filter(user_id__in=wanted, key=key).values_list("user_id", flat=True)
    )
    with_devices = set(
        await Device.filter(user_id__in=wanted).distinct().values_list("user_id", flat=True)
    )
    with_address = set(
        await Address.filter(user_id__in=wanted, disabled_reason__isnull=True).values_list(
            "user_id", flat=True
        )
    )
    kernel = plugin.kernel
    count = 0
    pushes: list[str] = []  # queued together at the end: one task per batch of them
    now = datetime.now(UTC)
    for user_id in wanted:
        info = people.get(user_id)
        if info is None or not info.is_active or user_id in seen:
            continue
        choice = choose(info, stored.get(user_id), category, now)
        title, body = notice(kind, info.locale, context)
        count += 1
        if choice.in_app:
            item = await Notification.create(
                user_id=user_id,
                category=category,
                kind=kind,
                title=title,
                body=body,
                data=data or {},
                key=key,
            )
            await plugin.notify_user(user_id, "new", {"notification": public(item)})
        if choice.push and user_id in with_devices:
            deferred = choice.quiet_until
            push = await Delivery.create(
                user_id=user_id,
                channel="push",
                key=key,
                category=category,
                kind=kind,
                title=title,
                body=body,
                status="deferred" if deferred else "pending",
                not_before=deferred,
            )
            if not deferred:
                pushes.append(str(push.id))
        if choice.email and user_id in with_address:
            later = choice.quiet_until is not None and choice.digest != "never"
            mail = await Delivery.create(
                user_id=user_id,
                channel="email",
                key=key,
                category=category,
                kind="notification",
                title=title,
                body=body,
                status="digest" if later else ("deferred" if choice.quiet_until else "pending"),
                not_before=choice.quiet_until,
            )
            if mail.status == "pending":
                await kernel.tasks.enqueue(send_email, delivery_id=str(mail.id))
    await enqueue_pushes(pushes)
    return count


def _is_id(value: object) -> bool:
    """Accounts' ids are UUIDs: anything else names nobody (and auth's api refuses it)."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def public(item: Notification) -> dict[str, Any]:
    """An inbox item as clients see it (JSON-ready)."""
    return {
        "id": str(item.id),
        "category": item.category,
        "kind": item.kind,
        "title": item.title,
        "body": item.body,
        "data": item.data,
        "read_at": item.read_at.isoformat() if item.read_at else None,
        "created_at": item.created_at.isoformat(),
    }


async def forget_user(user_id: str) -> None:
    """Everything this plugin holds about ``user_id`` goes (erase, deactivation)."""
    await Delivery.filter(user_id=user_id).delete()
    await Notification.filter(user_id=user_id).delete()
    await Device.filter(user_id=user_id).delete()
    await Preference.filter(user_id=user_id).delete()
    await Address.filter(user_id=user_id).delete()
