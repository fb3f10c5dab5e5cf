"""Hard bounces that come back after the SMTP server accepted a mail: delivery status
notifications (RFC 3464, ``multipart/report; report-type=delivery-status``) mailed to
the return path later by some MTA on the way. A refusal *during* the SMTP conversation
is handled where the mail is sent (:func:`.tasks.deliver_mail`).

Mail leaves with a VERP return path when ``bounce_address`` is set
(``bounces@example.com`` becomes ``bounces+<user id>.<signature>@example.com``), so a
bounce names the user even when the DSN returns no headers. A DSN disables an address
only when it can be tied to a mail this plugin sent: by the original ``Message-ID`` in
its returned headers (an attempt recorded it; message ids are random) or by a VERP
return path with a valid signature. A forged DSN naming someone else's address in
``Final-Recipient`` alone changes nothing. Only permanent failures count (``Action:
failed`` with a ``5.x.x`` status); delays and ``4.x.x`` are ignored.

Ways in, for operators: ``lyo notifications bounce < message`` (a Postfix ``pipe``
transport or procmail on the bounce mailbox) and ``POST /api/notifications/bounces``
with the raw message, signed (``X-Lyo-Signature: sha256=<HMAC of the body with
bounce_webhook_secret>``), for a relay on another host or an inbound-mail webhook."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

from .models import Address, Attempt, Delivery
from .settings import NAME, plugin

_STATUS = re.compile(r"^([245])\.\d{1,3}\.\d{1,3}$")


@dataclass(frozen=True)
class Bounce:
    """One permanently failed recipient of a DSN."""

    recipient: str
    status: str  # the enhanced status code, 5.1.1
    diagnostic: str


def _key() -> bytes:
    secret = plugin.kernel.settings.secret_key
    value = secret.get_secret_value() if secret is not None else ""
    return hashlib.sha256(f"{NAME}:verp:{value}".encode()).digest()


def _verp_signature(user_id: str) -> str:
    return hmac.new(_key(), user_id.encode(), hashlib.sha256).hexdigest()[:16]


def return_path(user_id: str) -> str | None:
    """The envelope sender of mail to ``user_id``: VERP on ``bounce_address``, or None
    (the server takes ``From``) when unset."""
    base = plugin.settings.bounce_address
    if not base:
        return None
    local, _, domain = base.rpartition("@")
    return f"{local}+{user_id}.{_verp_signature(user_id)}@{domain}"


def verp_user(address: str) -> str | None:
    """The user a VERP return path names, if its signature is valid."""
    base = plugin.settings.bounce_address
    local, _, domain = base.rpartition("@")
    match = re.fullmatch(
        rf"{re.escape(local)}\+([0-9a-fA-F-]{{36}})\.([0-9a-f]{{16}})@{re.escape(domain)}",
        address.strip().strip("<>"),
        flags=re.IGNORECASE,
    )
    if not base or match is None:
        return None
    user_id, signature = match.groups()
    return user_id if hmac.compare_digest(_verp_signature(user_id), signature) else None


def valid_webhook_signature(body: bytes, header: str) -> bool:
    secret = plugin.settings.bounce_webhook_secret
    if not secret:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}".encode(), header.strip().encode())


def parse(raw: bytes) -> tuple[list[Bounce], str | None, list[str]]:
    """The hard bounces of a DSN, the original ``Message-ID`` it returns (if any) and
    the addresses it was sent to (where a VERP return path shows)."""
    report: Message = message_from_bytes(raw, policy=policy.default)
    bounces: list[Bounce] = []
    original: str | None = None
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            bounces += _failed(part)
        elif kind in ("text/rfc822-headers", "message/rfc822") and original is None:
            original = _message_id(part)
    to = [
        str(value)
        for name in ("X-Original-To", "Delivered-To", "Envelope-To", "To")
        for value in report.get_all(name, [])
    ]
    return bounces, original, to


def _failed(part: Message) -> list[Bounce]:
    # the policy parses message/delivery-status into header blocks: one per message, then
    # one per recipient
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return []
    found = []
    for block in blocks[1:]:
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip()
        match = _STATUS.match(status)
        if action != "failed" or match is None or match.group(1) != "5":
            continue
        recipient = str(block.get("Final-Recipient", "")).partition(";")[2].strip()
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).partition(";")[2].split())
        found.append(Bounce(recipient.strip("<>").lower(), status, diagnostic))
    return found


def _message_id(part: Message) -> str | None:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        headers = inner[0] if isinstance(inner, list) and inner else None
    else:
        text = part.get_payload(decode=True) or b""
        headers = message_from_bytes(text, policy=policy.default)
    value = headers.get("Message-ID") if isinstance(headers, (Message, EmailMessage)) else None
    return str(value).strip() if value else None


async def process(raw: bytes) -> dict[str, int]:
    """Disable the addresses a DSN reports hard-bounced, when it can be tied to a mail
    sent here (see the module); record an attempt and fail the delivery when the
    original message is known. ``{"bounces": n, "disabled": m}``."""
    bounces, original, to = parse(raw)
    if not bounces:
        return {"bounces": 0, "disabled": 0}
    attempt = (
        await Attempt.filter(provider="smtp", message_id=original).first() if original else None
    )
    users = {user for user in map(verp_user, to) if user}
    if attempt is not None:
        delivery = await Delivery.get(id=attempt.delivery_id)  # type: ignore[attr-defined]
        users.add(delivery.user_id)
    disabled = 0
    for bounce in bounces:
        address = await Address.get_or_none(user_id__in=users, email__iexact=bounce.recipient)
        if address is None:
            continue
        reason = f"bounced: {bounce.status} {bounce.diagnostic}".strip()[:200]
        if address.disabled_reason is None:
            address.disabled_reason = reason
            await address.save(update_fields=["disabled_reason", "updated_at"])
            disabled += 1
        if attempt is not None and delivery.user_id == address.user_id:
            await Attempt.create(
                delivery=delivery,
                provider="smtp",
                target=attempt.target,
                status=_smtp_code(bounce.diagnostic),
                error=reason,
            )
            delivery.status, delivery.error = "failed", reason[:500]
            await delivery.save(update_fields=["status", "error", "updated_at"])
    return {"bounces": len(bounces), "disabled": disabled}


def _smtp_code(diagnostic: str) -> int | None:
    match = re.match(r"(\d{3})\b", diagnostic)
    return int(match.group(1)) if match else None
