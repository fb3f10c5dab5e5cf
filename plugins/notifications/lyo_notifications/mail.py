"""Mail over SMTP with aiosmtplib: messages with text and HTML parts from the locale's
templates, a one-click ``List-Unsubscribe`` (RFC 8058) on everything but account mail,
and the signed links that header carries."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlencode

import aiosmtplib
import structlog

from .settings import NAME, plugin
from .templates import render

log = structlog.get_logger("lyo.notifications.mail")


class MailNotConfigured(RuntimeError):
    """``LYO_NOTIFICATIONS__SMTP_HOST`` is empty."""


@dataclass(frozen=True)
class Sent:
    message_id: str
    code: int


class Rejected(Exception):
    """The server refused the mail for good (5xx). ``address_gone`` when the refusal is
    about the mailbox (the recipient refused, or a ``5.1.x``/``5.2.1`` status): only
    then is the address disabled; a policy refusal of the content (``5.7.x``, spam)
    fails the delivery and leaves the address alone."""

    def __init__(self, code: int, reason: str, *, recipient: bool) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        enhanced = re.match(r"\s*(5\.\d{1,3}\.\d{1,3})", reason)
        status = enhanced.group(1) if enhanced else ""
        self.address_gone = (recipient and not status.startswith("5.7.")) or status.startswith(
            ("5.1.", "5.2.1")
        )


def _key() -> bytes:
    secret = plugin.kernel.settings.secret_key
    value = secret.get_secret_value() if secret is not None else ""
    return hashlib.sha256(f"{NAME}:unsubscribe:{value}".encode()).digest()


def unsubscribe_signature(user_id: str, category: str) -> str:
    return hmac.new(_key(), f"{user_id}:{category}".encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_url(user_id: str, category: str) -> str:
    query = urlencode(
        {"user": user_id, "category": category, "sig": unsubscribe_signature(user_id, category)}
    )
    return f"{plugin.settings.public_url.rstrip('/')}/api/{NAME}/unsubscribe?{query}"


def valid_signature(user_id: str, category: str, signature: str) -> bool:
    # bytes: compare_digest refuses str with non-ASCII characters
    return hmac.compare_digest(
        unsubscribe_signature(user_id, category).encode(), signature.encode()
    )


def mask(address: str) -> str:
    """What attempts record of an address: enough to tell two apart, not to mail."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"[:100]


def compose(
    template: str,
    locale: str | None,
    to: str,
    context: dict[str, Any],
    *,
    unsubscribe: str | None = None,
) -> EmailMessage:
    """A message from ``template``'s ``.subject``, ``.txt`` and ``.html`` in ``locale``."""
    message = EmailMessage()
    message["From"] = plugin.settings.mail_from
    message["To"] = to
    message["Subject"] = " ".join(render(f"{template}.subject", locale, context).split())
    domain = plugin.settings.mail_from.rpartition("@")[2].strip("> ") or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render(f"{template}.txt", locale, context))
    message.add_alternative(render(f"{template}.html", locale, context), subtype="html")
    return message


async def send(message: EmailMessage, sender: str | None = None) -> Sent:
    """Hand ``message`` to the SMTP server, through the plugin's ``smtp`` breaker;
    ``sender`` is the envelope's return path (``From`` when None).
    Raises :class:`Rejected` for a recipient refused for good; other failures (the
    server down, a 4xx) raise to be retried."""
    settings = plugin.settings
    if not settings.smtp_host:
        raise MailNotConfigured("set LYO_NOTIFICATIONS__SMTP_HOST to send mail")
    breaker = plugin.breaker("smtp", failure_threshold=5, reset_timeout=30, expected=OSError)
    async with breaker:
        try:
            _, reply = await aiosmtplib.send(
                message,
                sender=sender,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusal = error.recipients[0]
            if 500 <= refusal.code < 600:
                raise Rejected(refusal.code, refusal.message, recipient=True) from None
            raise
        except aiosmtplib.SMTPResponseException as error:
            if 500 <= error.code < 600 and error.code not in (530, 535):  # auth: ours to fix
                raise Rejected(error.code, error.message, recipient=False) from None
            raise
    return Sent(
        message_id=str(message["Message-ID"]),
        code=int(reply.split()[0]) if reply[:3].isdigit() else 250,
    )
