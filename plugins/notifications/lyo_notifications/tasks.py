"""The plugin's tasks: deliveries (push, email), the release of deliveries held by quiet
hours, digests and the retention purge. Deliveries are idempotent: a retried run skips
what already went (a device with a successful attempt, a delivery already ``sent``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import kernel
from kernel import TaskContext

from . import mail, push
from .bounces import return_path
from .models import Address, Attempt, Delivery, Device, Notification, Preference
from .settings import plugin


class TryAgain(RuntimeError):
    """A provider asked to come back later: the kernel retries the task with backoff."""


#: Push deliveries per ``send_push`` run: the task's own bookkeeping and the database
#: round trips are paid once per batch, not once per notification.
PUSH_BATCH = 100
#: Delivery statuses a run leaves alone.
FINAL = ("sent", "failed", "skipped")


@kernel.task("notifications:send_push", queue="default", retries=5, backoff=2.0, timeout=300)
async def send_push(
    ctx: TaskContext, delivery_ids: list[str] | None = None, delivery_id: str | None = None
) -> dict[str, int]:
    """Send push deliveries (a batch; ``delivery_id``, one, is what earlier versions
    queued) to every device of their users, all at once within each provider's
    ``push_concurrency`` over its kept-alive connections (HTTP/2 streams where the
    provider speaks it). Five queries whatever the batch's size: the deliveries, the
    devices, what already went (a retried run skips it), then the attempts and the
    statuses; dead tokens are pruned in one more."""
    ids = [*(delivery_ids or []), *([delivery_id] if delivery_id else [])]
    deliveries = await Delivery.filter(id__in=ids).exclude(status__in=FINAL)
    if not deliveries:
        return {"sent": 0}
    done = {
        (str(delivery), target)
        for delivery, target in await Attempt.filter(
            delivery_id__in=[d.id for d in deliveries], message_id__isnull=False
        ).values_list("delivery_id", "target")
    }
    devices: dict[str, list[Device]] = {}
    for device in await Device.filter(user_id__in={d.user_id for d in deliveries}):
        devices.setdefault(device.user_id, []).append(device)
    sent = {d.id: sum(1 for key in done if key[0] == str(d.id)) for d in deliveries}
    jobs = [
        (delivery, device)
        for delivery in deliveries
        for device in devices.get(delivery.user_id, [])
        if (str(delivery.id), str(device.id)) not in done
    ]
    results = await asyncio.gather(*(_push_once(d, device) for d, device in jobs))
    attempts = [attempt for tried, _ in results for attempt in tried]
    await Attempt.bulk_create(attempts)
    pairs = list(zip(jobs, results, strict=True))
    dead = [str(device.id) for (_, device), (_, outcome) in pairs if outcome.dead_token]
    if dead:
        await Device.filter(id__in=dead).delete()
    failures: dict[object, str] = {}
    for (delivery, _), (_, outcome) in pairs:
        if outcome.message_id:
            sent[delivery.id] += 1
        elif outcome.retry:
            failures[delivery.id] = outcome.error or "retry"
    finished = [d for d in deliveries if d.id not in failures]
    for status in ("sent", "skipped"):
        chosen = [d.id for d in finished if (sent[d.id] > 0) == (status == "sent")]
        if chosen:
            await Delivery.filter(id__in=chosen).update(status=status)
    if failures:
        for delivery_id_, error in failures.items():
            await Delivery.filter(id=delivery_id_).update(error=error[:500])
        raise TryAgain(f"{len(failures)} deliveries to retry: {next(iter(failures.values()))}")
    return {"sent": sum(sent.values())}


async def _push_once(delivery: Delivery, device: Device) -> tuple[list[Attempt], push.Outcome]:
    """One device through its provider (FCM for Android, APNs for iOS), waiting once for
    a short ``Retry-After``: the attempts to record (one per answer) and the last
    outcome. A provider without settings is recorded and skipped."""
    provider = "apns" if device.platform == "ios" else "fcm"
    target = str(device.id)
    try:
        client = push.client(provider)
    except push.NotConfigured as missing:
        attempt = Attempt(delivery=delivery, provider=provider, target=target, error=str(missing))
        return [attempt], push.Outcome(0, error=str(missing))
    breaker = plugin.breaker(provider, failure_threshold=5, reset_timeout=30, expected=TryAgain)
    data = {"delivery_id": str(delivery.id), "category": delivery.category}
    outcome = push.Outcome(0)
    attempts: list[Attempt] = []
    for _ in range(2):
        try:
            async with breaker:
                outcome = await client.send(device.token, delivery.title, delivery.body, data)
                if outcome.retry:
                    raise TryAgain(outcome.error)
        except TryAgain:
            pass
        except OSError as error:  # connection refused, reset: retried by the task
            outcome = push.Outcome(0, error=f"{type(error).__name__}: {error}"[:500], retry=True)
        attempts.append(
            Attempt(
                delivery=delivery,
                provider=provider,
                target=target,
                status=outcome.status or None,
                message_id=outcome.message_id,
                error=outcome.error,
            )
        )
        wait = outcome.retry_after
        if not outcome.retry or wait is None or wait > plugin.settings.max_retry_after:
            break
        await asyncio.sleep(wait)
    return attempts, outcome


@kernel.task("notifications:send_email", queue="default", retries=5, backoff=2.0, timeout=120)
async def send_email(ctx: TaskContext, delivery_id: str) -> dict[str, str | None]:
    """Send one email delivery (a notification or the welcome mail)."""
    from lyo_auth.api import user_by_id

    delivery = await Delivery.get_or_none(id=delivery_id)
    if delivery is None or delivery.status in FINAL:
        return {"status": delivery.status if delivery else None}
    address = await Address.get_or_none(user_id=delivery.user_id)
    user = await user_by_id(delivery.user_id)
    if address is None or address.disabled_reason or user is None or not user.is_active:
        delivery.status = "skipped"
        await delivery.save(update_fields=["status", "updated_at"])
        return {"status": "skipped"}
    context = {
        "display_name": user.display_name,
        "title": delivery.title,
        "body": delivery.body,
        "category": delivery.category,
        "unsubscribe_url": mail.unsubscribe_url(delivery.user_id, delivery.category),
    }
    unsubscribe = None if delivery.category == "account" else context["unsubscribe_url"]
    message = mail.compose(
        delivery.kind, user.locale, address.email, context, unsubscribe=unsubscribe
    )
    await deliver_mail(delivery, address, message)
    return {"status": delivery.status}


async def deliver_mail(
    delivery: Delivery, address: Address | None, message: mail.EmailMessage
) -> None:
    """Send ``message`` for ``delivery`` and record the attempt. A refusal for good (5xx)
    fails the delivery, and disables the address when it is about the mailbox (not a
    content policy's ``5.7.x``); other errors raise (to be retried)."""
    target = mail.mask(str(message["To"]))
    try:
        sent = await mail.send(message, return_path(delivery.user_id))
    except mail.Rejected as refusal:
        await Attempt.create(
            delivery=delivery,
            provider="smtp",
            target=target,
            status=refusal.code,
            error=str(refusal)[:500],
        )
        if address is not None and refusal.address_gone:
            address.disabled_reason = f"rejected: {refusal}"[:200]
            await address.save(update_fields=["disabled_reason", "updated_at"])
        delivery.status, delivery.error = "failed", str(refusal)[:500]
        await delivery.save(update_fields=["status", "error", "updated_at"])
        return
    except Exception as error:
        # kept by a task; inside an event handler's transaction it goes with the rollback
        await Attempt.create(
            delivery=delivery,
            provider="smtp",
            target=target,
            error=f"{type(error).__name__}: {error}"[:500],
        )
        raise
    await Attempt.create(
        delivery=delivery,
        provider="smtp",
        target=target,
        status=sent.code,
        message_id=sent.message_id,
    )
    delivery.status = "sent"
    await delivery.save(update_fields=["status", "updated_at"])


@kernel.task("notifications:release", queue="default", every=60)
async def release(ctx: TaskContext) -> dict[str, int]:
    """Deliveries whose quiet hours are over go out."""
    now = datetime.now(UTC)
    due = await Delivery.filter(status="deferred", not_before__lte=now).limit(1000)
    pushes: list[str] = []
    for delivery in due:
        claimed = await Delivery.filter(id=delivery.id, status="deferred").update(status="pending")
        if claimed and delivery.channel == "push":
            pushes.append(str(delivery.id))
        elif claimed:
            await plugin.kernel.tasks.enqueue(send_email, delivery_id=str(delivery.id))
    await enqueue_pushes(pushes)
    return {"released": len(due)}


async def enqueue_pushes(delivery_ids: list[str]) -> None:
    """Queue push deliveries, :data:`PUSH_BATCH` to a ``send_push`` run."""
    for start in range(0, len(delivery_ids), PUSH_BATCH):
        batch = delivery_ids[start : start + PUSH_BATCH]
        await plugin.kernel.tasks.enqueue(send_push, delivery_ids=batch)


PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


@kernel.task("notifications:digest", queue="low", every=3600)
async def digest(ctx: TaskContext) -> dict[str, int]:
    """Mail each user whose digest is due what piled up for it: email deliveries held
    by quiet hours and unread inbox items since the last digest."""
    from lyo_auth.api import users_by_id

    now = datetime.now(UTC)
    users = set(await Delivery.filter(status="digest").values_list("user_id", flat=True))
    users |= set(
        await Notification.filter(read_at__isnull=True, created_at__gte=now - PERIOD["weekly"])
        .distinct()
        .values_list("user_id", flat=True)
    )
    people = await users_by_id(users) if users else {}
    sent = 0
    for info in people.values():
        user_id = str(info.id)
        stored = await Preference.get_or_none(user_id=user_id)
        every = (stored.digest if stored and stored.digest else None) or info.preferences.digest
        address = await Address.get_or_none(user_id=user_id, disabled_reason__isnull=True)
        if (
            every == "never"
            or address is None
            or not info.is_active
            or not info.preferences.email_notifications
        ):
            continue
        last = stored.last_digest_at if stored else None
        if last is not None and now - last < PERIOD[every]:
            continue
        since = last or now - PERIOD[every]
        held = await Delivery.filter(user_id=user_id, status="digest")
        unread = (
            await Notification.filter(user_id=user_id, read_at__isnull=True, created_at__gte=since)
            .order_by("-created_at")
            .limit(50)
        )
        items = [{"title": d.title, "body": d.body} for d in held] or [
            {"title": n.title, "body": n.body} for n in unread
        ]
        if not items:
            continue
        async with kernel.transaction():
            record = await Delivery.create(
                user_id=user_id,
                channel="email",
                key=f"digest:{now:%Y%m%d%H}",
                category="digest",
                kind="digest",
                title="digest",
                body="",
            )
            context = {
                "items": items,
                "count": len(items),
                "unsubscribe_url": mail.unsubscribe_url(user_id, "digest"),
            }
            message = mail.compose(
                "digest",
                info.locale,
                address.email,
                context,
                unsubscribe=context["unsubscribe_url"],
            )
            await deliver_mail(record, address, message)
            await Delivery.filter(id__in=[d.id for d in held]).update(status="sent")
            await Preference.update_or_create(defaults={"last_digest_at": now}, user_id=user_id)
        sent += 1
    return {"digests": sent}


@kernel.task("notifications:purge", queue="low", every=6 * 3600)
async def purge(ctx: TaskContext) -> dict[str, int]:
    """Inbox items and deliveries (with their attempts) older than ``retention_days``."""
    cutoff = datetime.now(UTC) - timedelta(days=plugin.settings.retention_days)
    deliveries = await Delivery.filter(created_at__lt=cutoff).delete()
    items = await Notification.filter(created_at__lt=cutoff).delete()
    await Attempt.filter(created_at__lt=cutoff).delete()
    return {"deliveries": deliveries, "notifications": items}


@kernel.task("notifications:broadcast", queue="low", retries=3, timeout=3600)
async def broadcast(
    ctx: TaskContext,
    title: str,
    body: str,
    category: str,
    user_ids: list[str] | None = None,
    role: str | None = None,
    course_id: str | None = None,
    key: str | None = None,
) -> dict[str, int]:
    """An administrator's message to ``user_ids`` or to a segment (``role``,
    ``course_id``; its members read when the task runs), in batches of 500 with
    progress. Idempotent per user: the key (the sender's ``key``, else the run's id)
    allows one notification per user and channel, so a retried run or a repeated send
    skips whom it already reached."""
    from .delivery import notify
    from .segments import members

    audience = user_ids if user_ids is not None else await members(role=role, course_id=course_id)
    reached = 0
    batches = [audience[i : i + 500] for i in range(0, len(audience), 500)] or [[]]
    for number, batch in enumerate(batches, 1):
        async with kernel.transaction():
            reached += await notify(
                batch,
                category=category,
                kind="message",
                key=f"send:{key or ctx.id}",
                context={"title": title, "body": body},
                data={"send": key or str(ctx.id)},
            )
        await ctx.progress(100 * number // len(batches), f"{number}/{len(batches)} batches")
    return {"notified": reached, "audience": len(audience)}


TASKS = (send_push, send_email, release, digest, purge, broadcast)
