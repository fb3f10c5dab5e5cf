"""Fixtures for the notifications plugin: the kernel's pytest plugin gives the app,
client and server; this file picks the plugins and starts the real local servers the
plugin talks to (an SMTP server, aiosmtpd, on a free port).

``LYO_TEST_DATABASE=postgres LYO_TEST_REDIS=redis://...`` runs on a fresh PostgreSQL
database per test with the migrations applied, and deliveries go through Redis to a
real ``lyo worker`` (the kernel's ``lyo_worker``, which passes it this test's
``LYO_NOTIFICATIONS__*`` and ``LYO_AUTH__*`` settings)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from lyo_auth import plugin as auth
from lyo_notifications import plugin as notifications

from kernel.testing import free_port, test_redis_url

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LYO_DATABASE_URL", "sqlite://:memory:")
    monkeypatch.setenv("LYO_AUTH__DEFAULT_ROLES", "learner")


@pytest.fixture
def lyo_plugins(mailbox: Mailbox) -> list[object]:
    # the mailbox first: plugin settings are read when the app is built
    return [auth, notifications]


@pytest.fixture
def lyo_redis_url() -> str | None:
    return test_redis_url()


class Mailbox:
    """What the local SMTP server received; ``refuse`` makes it reject recipients,
    ``refuse_data`` (address -> reply) refuse the message at the end of DATA."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.refuse: set[str] = set()
        self.refuse_data: dict[str, str] = {}

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            if address in self.refuse_data:
                return self.refuse_data[address]
        self.envelopes.append(envelope)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    async def wait(self, count: int = 1, within: float = 30.0) -> list[EmailMessage]:
        deadline = time.monotonic() + within
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} mail(s) received, {count} expected")
            await asyncio.sleep(0.05)
        return self.messages

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a free port; the plugin is configured for it."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("LYO_NOTIFICATIONS__SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LYO_NOTIFICATIONS__SMTP_PORT", str(port))
    monkeypatch.setenv("LYO_NOTIFICATIONS__SMTP_SECURITY", "none")
    try:
        yield box
    finally:
        controller.stop()


async def until(check: Any, within: float = 60) -> None:
    """Wait for ``await check()`` to be true (a worker's commit), at most ``within`` s."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.1)


async def sign_in(client: Any, email: str, name: str = "Ada") -> tuple[str, dict[str, str]]:
    """Register ``email`` and sign in: (user id, headers)."""
    response = await client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "display_name": name}
    )
    assert response.status_code == 201, await response.get_data()
    user_id = (await response.get_json())["id"]
    response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    token = (await response.get_json())["access_token"]
    return user_id, {"Authorization": f"Bearer {token}"}
