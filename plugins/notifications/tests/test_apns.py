"""Push to iOS through APNs' provider API over HTTP/2 and TLS, against a local server
implementing its contract (ES256 provider token, topic, its reasons): sent with
``apns-id`` recorded, ``BadDeviceToken`` and 410 ``Unregistered`` prune the device,
429's ``Retry-After`` is honoured, 503 leaves it to the task's retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from apns_server import KEY_ID, TEAM, TOPIC, ApnsServer, apns_server
from conftest import Mailbox, sign_in
from lyo_auth import plugin as auth
from lyo_notifications import plugin as notifications
from lyo_notifications.api import notify
from lyo_notifications.models import Attempt, Delivery, Device

import kernel

OK, BAD, GONE, BUSY = ("ab" * 32), ("00" * 32), ("11" * 32), ("22" * 32)


@pytest.fixture
async def apns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[ApnsServer]:
    async with apns_server(tmp_path) as server:
        for name, value in {
            "APNS_KEY": server.p8,
            "APNS_KEY_ID": KEY_ID,
            "APNS_TEAM_ID": TEAM,
            "APNS_TOPIC": TOPIC,
            "APNS_BASE_URL": server.url,
            "APNS_CA_FILE": server.ca_file,
        }.items():
            monkeypatch.setenv(f"LYO_NOTIFICATIONS__{name}", value)
        yield server


@pytest.fixture
def lyo_plugins(mailbox: Mailbox, apns: ApnsServer) -> list[object]:
    return [auth, notifications]


async def test_apns_over_http2_sends_prunes_and_honours_retry_after(
    lyo_client: Any, lyo_app: Any, lyo_worker: None, apns: ApnsServer
) -> None:
    ada, headers = await sign_in(lyo_client, "ada@example.com")
    for token in (OK, BAD, GONE, BUSY):
        body = {"platform": "ios", "token": token}
        response = await lyo_client.post("/api/notifications/devices", json=body, headers=headers)
        assert response.status_code == 201
    lyo_app.kernel.activate()
    async with kernel.transaction():
        await notify(
            [ada],
            category="reminders",
            kind="message",
            key="a1",
            context={"title": "Streak", "body": "One lesson today?"},
        )
    deadline = time.monotonic() + 60
    while (await Delivery.get(user_id=ada, key="a1", channel="push")).status != "sent":
        assert time.monotonic() < deadline, await Attempt.all().values()
        await asyncio.sleep(0.1)
    assert apns.versions == {"2"}  # HTTP/2 only
    assert sorted(m["device"] for m in apns.sent) == sorted([OK, BUSY])
    assert apns.sent[0]["aps"]["alert"] == {"title": "Streak", "body": "One lesson today?"}
    assert sorted(await Device.filter(user_id=ada).values_list("token", flat=True)) == sorted(
        [OK, BUSY]
    )
    attempts = await Attempt.filter(provider="apns").values("status", "message_id", "error")
    assert sorted(a["status"] for a in attempts) == [200, 200, 400, 410, 429], attempts
    assert {a["error"] for a in attempts if a["status"] in (400, 410)} == {
        "BadDeviceToken",
        "Unregistered",
    }
    assert all(len(a["message_id"]) == 36 for a in attempts if a["status"] == 200)
