"""Late bounces: mail leaves with a signed VERP return path; a delivery status
notification (RFC 3464) that an MTA mails back later reaches the bounce mailbox (here a
second aiosmtpd server, as an operator's MX would) and is posted, signed, to
``POST /api/notifications/bounces``: a hard bounce tied to a mail sent here disables the
address; a forged, soft or unsigned one changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sys
import time
from asyncio.subprocess import PIPE
from collections.abc import Iterator
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from conftest import Mailbox, sign_in
from lyo_auth import plugin as auth
from lyo_notifications import plugin as notifications
from lyo_notifications.api import notify
from lyo_notifications.models import Address, Attempt, Delivery

import kernel
from kernel.testing import free_port

SECRET = "bounce-relay-secret"


@pytest.fixture
def bounce_mx() -> Iterator[tuple[Mailbox, int]]:
    """The operator's bounce mailbox: what an MX accepts for ``bounces+...@``."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def lyo_plugins(mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    monkeypatch.setenv("LYO_NOTIFICATIONS__BOUNCE_ADDRESS", "bounces@lyo.test")
    monkeypatch.setenv("LYO_NOTIFICATIONS__BOUNCE_WEBHOOK_SECRET", SECRET)
    return [auth, notifications]


def _dsn(to: str, recipient: str, status: str, message_id: str | None) -> bytes:
    """A DSN as Postfix writes one: text, delivery-status, the original's headers."""
    action = "failed" if status.startswith("5") else "delayed"
    returned = (
        f"--B\nContent-Type: text/rfc822-headers\n\nMessage-ID: {message_id}\n"
        f"To: {recipient}\nSubject: Welcome\n\n"
        if message_id
        else ""
    )
    return (
        "From: MAILER-DAEMON@mx.example.net\n"
        f"To: {to}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--B\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.net\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: {action}\nStatus: {status}\n"
        f"Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected\n\n"
        f"{returned}--B--\n"
    ).encode()


async def _bounce_back(
    client: Any, mx: tuple[Mailbox, int], to: str, dsn: bytes, *, secret: str = SECRET
) -> Any:
    """Mail ``dsn`` to the bounce MX (null sender, as DSNs go), then post what it
    received to the webhook, as the operator's relay does."""
    box, port = mx
    before = len(box.envelopes)
    await aiosmtplib.send(
        dsn, sender="mailer-daemon@mx.example.net", recipients=[to], hostname="127.0.0.1", port=port
    )
    raw = box.envelopes[before].content
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return await client.post(
        "/api/notifications/bounces",
        data=raw,
        headers={"Content-Type": "message/rfc822", "X-Lyo-Signature": f"sha256={signature}"},
    )


async def _welcomed(mailbox: Mailbox, user_id: str) -> tuple[str, str]:
    """(the welcome mail's return path, its Message-ID) once its attempt is recorded."""
    await mailbox.wait(1)
    deadline = time.monotonic() + 30
    while not await Attempt.filter(message_id__isnull=False).exists():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    return mailbox.envelopes[0].mail_from, str(mailbox.messages[0]["Message-ID"])


async def test_a_late_hard_bounce_disables_the_address(
    lyo_client: Any, lyo_app: Any, mailbox: Mailbox, bounce_mx: Any, lyo_worker: None
) -> None:
    ada, _ = await sign_in(lyo_client, "ada@example.com")
    return_path, message_id = await _welcomed(mailbox, ada)
    assert return_path.startswith(f"bounces+{ada}.") and return_path.endswith("@lyo.test")
    # soft (delayed) first: nothing changes
    soft = _dsn(return_path, "ada@example.com", "4.4.1", message_id)
    response = await _bounce_back(lyo_client, bounce_mx, return_path, soft)
    assert await response.get_json() == {"bounces": 0, "disabled": 0}
    # a bad signature: refused
    hard = _dsn(return_path, "ada@example.com", "5.1.1", message_id)
    response = await _bounce_back(lyo_client, bounce_mx, return_path, hard, secret="guess")
    assert response.status_code == 403
    assert (await Address.get(user_id=ada)).disabled_reason is None
    response = await _bounce_back(lyo_client, bounce_mx, return_path, hard)
    assert response.status_code == 200 and await response.get_json() == {
        "bounces": 1,
        "disabled": 1,
    }
    address = await Address.get(user_id=ada)
    assert address.disabled_reason and address.disabled_reason.startswith("bounced: 5.1.1")
    welcome = await Delivery.get(user_id=ada, kind="welcome")
    assert welcome.status == "failed"
    assert await Attempt.filter(delivery_id=welcome.id, status=550).exists()
    # no more mail to it
    lyo_app.kernel.activate()
    async with kernel.transaction():
        await notify(
            [ada],
            category="reminders",
            kind="message",
            key="k",
            context={"title": "t", "body": "b"},
        )
    assert not await Delivery.filter(user_id=ada, key="k", channel="email").exists()


async def test_a_bounce_with_only_the_verp_return_path_is_enough(
    lyo_client: Any, lyo_app: Any, mailbox: Mailbox, bounce_mx: Any, lyo_worker: None
) -> None:
    ada, _ = await sign_in(lyo_client, "ada@example.com")
    return_path, _ = await _welcomed(mailbox, ada)
    dsn = _dsn(return_path, "ada@example.com", "5.1.1", None)  # no headers returned
    response = await _bounce_back(lyo_client, bounce_mx, return_path, dsn)
    assert await response.get_json() == {"bounces": 1, "disabled": 1}


async def test_a_forged_bounce_disables_nothing(
    lyo_client: Any, lyo_app: Any, mailbox: Mailbox, bounce_mx: Any, lyo_worker: None
) -> None:
    ada, _ = await sign_in(lyo_client, "ada@example.com")
    await _welcomed(mailbox, ada)
    forged = [  # another user's address in Final-Recipient, without a proof of the mail
        ("bounces@lyo.test", None),
        (f"bounces+{ada}.0123456789abcdef@lyo.test", None),  # a made-up signature
        ("bounces@lyo.test", "<made-up@lyo.test>"),
    ]
    for to, message_id in forged:
        response = await _bounce_back(
            lyo_client, bounce_mx, to, _dsn(to, "ada@example.com", "5.1.1", message_id)
        )
        assert await response.get_json() == {"bounces": 1, "disabled": 0}
    assert (await Address.get(user_id=ada)).disabled_reason is None


async def test_the_bounce_command_reads_a_dsn_from_standard_input(
    lyo_client: Any, lyo_app: Any, lyo_settings: Any, mailbox: Mailbox, lyo_worker: None
) -> None:
    """``lyo notifications bounce`` (a Postfix pipe transport's command) in a process of
    its own: needs a database two processes share (PostgreSQL)."""
    if not lyo_settings.database_url.startswith("postgres"):
        pytest.skip("the command runs in another process: PostgreSQL only")
    ada, _ = await sign_in(lyo_client, "ada@example.com")
    return_path, _ = await _welcomed(mailbox, ada)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYO_")}
    env |= {
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": lyo_settings.database_url,
        "LYO_PLUGINS__ENABLED": "auth,notifications",
        "LYO_NOTIFICATIONS__BOUNCE_ADDRESS": "bounces@lyo.test",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kernel", "notifications", "bounce",
        env=env, stdin=PIPE, stdout=PIPE, stderr=PIPE,
    )  # fmt: skip
    out, err = await process.communicate(_dsn(return_path, "ada@example.com", "5.1.1", None))
    assert process.returncode == 0, err.decode()[-2000:]
    assert json.loads(out.decode().strip().splitlines()[-1]) == {"bounces": 1, "disabled": 1}
    assert (await Address.get(user_id=ada)).disabled_reason
