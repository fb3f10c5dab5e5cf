"""Mail over SMTP to a real local server (aiosmtpd): the password-reset mail from
request to a new password that works, the welcome mail, templates per locale with a
fallback, one-click unsubscribe, and refused addresses."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from conftest import PASSWORD, Mailbox, sign_in, until
from lyo_auth.models import PasswordReset
from lyo_auth.tokens import token_digest
from lyo_notifications.models import Address, Attempt, Delivery

from kernel.data.models import DeadLetter, OutboxEvent, TaskRun

NEW_PASSWORD = "a brand new passphrase here"


def _text(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message: Any) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


async def test_password_reset_from_request_to_mail_to_new_password(
    lyo_client: Any, mailbox: Mailbox, lyo_worker: None, lyo_app: Any, lyo_settings: Any
) -> None:
    await sign_in(lyo_client, "ada@example.com")
    await mailbox.wait(1)  # the welcome mail
    response = await lyo_client.post("/api/auth/password/forgot", json={"email": "ada@example.com"})
    assert response.status_code == 202
    await mailbox.wait(2)
    [reset] = [m for m in mailbox.to("ada@example.com") if "password" in m["Subject"].lower()]
    assert reset["Subject"] == "Reset your password"
    assert "List-Unsubscribe" not in reset  # account mail: no unsubscribing from it
    token = re.search(r"code to choose a new one:\s+(\S+)", _text(reset))
    assert token, _text(reset)
    assert token.group(1) in _html(reset)  # both parts

    async def minted() -> bool:  # the mail leaves just before the worker's commit
        return await PasswordReset.filter(token_hash=token_digest(token.group(1))).exists()

    await until(minted)
    response = await lyo_client.post(
        "/api/auth/password/reset", json={"token": token.group(1), "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 204, await response.get_data()
    login = {"email": "ada@example.com", "password": NEW_PASSWORD}
    assert (await lyo_client.post("/api/auth/login", json=login)).status_code == 200
    old = {"email": "ada@example.com", "password": PASSWORD}
    assert (await lyo_client.post("/api/auth/login", json=old)).status_code == 401
    # the token is nowhere in the database: not in the event (outbox), the handler's task
    # arguments (kernel:deliver), dead letters, deliveries or attempts; only its hash
    rows = [
        *(await OutboxEvent.filter(type="auth.password_reset_requested.v1").values()),
        *(await TaskRun.all().values()),
        *(await DeadLetter.all().values()),
        *(await Delivery.all().values()),
        *(await Attempt.all().values()),
    ]
    [event] = [r for r in rows if r.get("type") == "auth.password_reset_requested.v1"]
    assert "reset_id" in event["payload"] and "token" not in event["payload"]
    assert any(r.get("name") == "kernel:deliver" for r in rows)
    assert token.group(1) not in repr(rows)
    if lyo_settings.redis_url:  # nor in the task messages' streams
        assert token.group(1) not in await _streams(lyo_settings)
    attempts = await Attempt.filter(provider="smtp", message_id__isnull=False).count()
    assert attempts == 2  # welcome and reset, each recorded with its Message-ID


async def test_reset_mail_uses_the_users_locale_and_falls_back(
    lyo_client: Any, mailbox: Mailbox, lyo_worker: None, monkeypatch: Any
) -> None:
    for email, locale in (("fr@example.com", "fr-CA"), ("de@example.com", "de")):
        _, headers = await sign_in(lyo_client, email)
        response = await lyo_client.patch(
            "/api/users/me/profile", json={"locale": locale}, headers=headers
        )
        assert response.status_code == 200, await response.get_data()
        await lyo_client.post("/api/auth/password/forgot", json={"email": email})
    await mailbox.wait(4)
    french = [m for m in mailbox.to("fr@example.com") if "mot de passe" in m["Subject"]]
    assert french and "Bonjour" in _text(french[0])
    german = [m for m in mailbox.to("de@example.com") if m["Subject"] == "Reset your password"]
    assert german  # no German templates: the fallback language


async def test_html_part_escapes_what_users_wrote(
    lyo_client: Any, mailbox: Mailbox, lyo_worker: None
) -> None:
    await sign_in(lyo_client, "eve@example.com", name="<script>x</script>")
    [welcome] = await mailbox.wait(1)
    assert "<script>" not in _html(welcome) and "&lt;script&gt;" in _html(welcome)
    assert "<script>x</script>" in _text(welcome)  # plain text is not HTML


async def test_a_refused_address_is_disabled(
    lyo_client: Any, mailbox: Mailbox, lyo_worker: None
) -> None:
    mailbox.refuse.add("gone@example.com")
    user_id, _ = await sign_in(lyo_client, "gone@example.com")
    await mailbox.wait(0)
    for _ in range(600):
        delivery = await Delivery.get_or_none(user_id=user_id, kind="welcome")
        if delivery and delivery.status == "failed":
            break
        await asyncio.sleep(0.05)
    assert delivery is not None and delivery.status == "failed"
    address = await Address.get(user_id=user_id)
    assert address.disabled_reason and "550" in address.disabled_reason
    attempt = await Attempt.get(delivery_id=delivery.id)
    assert attempt.status == 550 and attempt.target == "g***@example.com"


async def _streams(settings: Any) -> str:
    """Every entry of this test's Redis streams, as text."""
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url)
    try:
        seen = []
        async for key in client.scan_iter(match=f"{settings.redis_prefix}*"):
            if await client.type(key) == b"stream":
                seen.append(repr(await client.xrange(key)))
        assert seen, "no stream found"
        return "".join(seen)
    finally:
        await client.aclose()


async def test_a_content_refusal_fails_the_mail_but_keeps_the_address(
    lyo_client: Any, mailbox: Mailbox, lyo_worker: None
) -> None:
    """A 5.7.x at the end of DATA (spam, policy) is about the message, not the mailbox;
    a 5.1.1 there (servers that check late) is about the mailbox."""
    mailbox.refuse_data["spam@example.com"] = "554 5.7.1 Message rejected as spam"
    mailbox.refuse_data["late@example.com"] = "550 5.1.1 No such user here"
    for email, disabled in (("spam@example.com", False), ("late@example.com", True)):
        user_id, _ = await sign_in(lyo_client, email)
        for _ in range(600):
            delivery = await Delivery.get_or_none(user_id=user_id, kind="welcome")
            if delivery and delivery.status == "failed":
                break
            await asyncio.sleep(0.05)
        assert delivery is not None and delivery.status == "failed", email
        address = await Address.get(user_id=user_id)
        assert (address.disabled_reason is not None) is disabled, email
