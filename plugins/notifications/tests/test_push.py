"""Push through FCM HTTP v1 against a local server implementing its contract (OAuth2
JWT grant, ``messages:send``, its error bodies): sent messages are recorded with their
ids, ``UNREGISTERED`` tokens are pruned, a 429's ``Retry-After`` is honoured, 5xx is
retried by the task with backoff; every attempt is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Mailbox, sign_in, until
from fcm_server import FcmServer
from lyo_auth import plugin as auth
from lyo_notifications import plugin as notifications
from lyo_notifications.api import notify
from lyo_notifications.models import Attempt, Delivery, Device

import kernel

OK = "okay:" + "a" * 60
DEAD = "dead:" + "b" * 60
BUSY = "busy:" + "c" * 60
DOWN = "down:" + "d" * 60


@pytest.fixture
def fcm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FcmServer]:
    with FcmServer() as server:
        monkeypatch.setenv("LYO_NOTIFICATIONS__FCM_CREDENTIALS", json.dumps(server.credentials()))
        monkeypatch.setenv("LYO_NOTIFICATIONS__FCM_BASE_URL", server.url)
        yield server


@pytest.fixture
def lyo_plugins(mailbox: Mailbox, fcm: FcmServer) -> list[object]:
    return [auth, notifications]


async def _devices(client: Any, headers: dict[str, str], *tokens: str) -> None:
    for token in tokens:
        body = {"platform": "android", "token": token}
        response = await client.post("/api/notifications/devices", json=body, headers=headers)
        assert response.status_code == 201, await response.get_data()


async def test_push_sends_prunes_and_honours_retry_after(
    lyo_client: Any, lyo_app: Any, lyo_worker: None, fcm: FcmServer
) -> None:
    ada, headers = await sign_in(lyo_client, "ada@example.com")
    await _devices(lyo_client, headers, OK, DEAD, BUSY)
    lyo_app.kernel.activate()
    async with kernel.transaction():
        await notify(
            [ada],
            category="reminders",
            kind="message",
            key="p1",
            context={"title": "Streak", "body": "One lesson today?"},
        )

    async def sent() -> bool:
        delivery = await Delivery.get(user_id=ada, key="p1", channel="push")
        return delivery.status == "sent"

    await until(sent)
    assert sorted(m["token"] for m in fcm.sent) == [BUSY, OK]
    assert fcm.sent[0]["notification"] == {"title": "Streak", "body": "One lesson today?"}
    assert fcm.tokens_issued == 1  # the access token is cached
    assert await Device.filter(token=DEAD).count() == 0  # pruned on UNREGISTERED
    assert await Device.filter(user_id=ada).count() == 2
    attempts = (
        await Attempt.filter(provider="fcm").order_by("id").values("status", "message_id", "error")
    )
    statuses = sorted(a["status"] for a in attempts)
    assert statuses == [200, 200, 404, 429], attempts
    assert all(
        a["message_id"].startswith("projects/lyo-test/messages/")
        for a in attempts
        if a["status"] == 200
    )
    assert any(
        "UNREGISTERED" in (a["error"] or "") or "NOT_FOUND" in (a["error"] or "") for a in attempts
    )


async def test_server_errors_are_retried_by_the_task(
    lyo_client: Any, lyo_app: Any, lyo_worker: None, fcm: FcmServer
) -> None:
    ada, headers = await sign_in(lyo_client, "ada@example.com")
    await _devices(lyo_client, headers, DOWN)
    lyo_app.kernel.activate()
    async with kernel.transaction():
        await notify(
            [ada],
            category="reminders",
            kind="message",
            key="p2",
            context={"title": "T", "body": "B"},
        )

    async def retried() -> bool:
        return await Attempt.filter(provider="fcm", status=503).count() >= 2

    await until(retried)
    delivery = await Delivery.get(user_id=ada, key="p2", channel="push")
    assert delivery.status == "pending" and "UNAVAILABLE" in (delivery.error or "")
    assert await Device.filter(token=DOWN).count() == 1  # a server error prunes nothing


async def test_push_preference_off_sends_nothing(
    lyo_client: Any, lyo_app: Any, fcm: FcmServer
) -> None:
    ada, headers = await sign_in(lyo_client, "ada@example.com")
    await _devices(lyo_client, headers, OK)
    await lyo_client.put(
        "/api/notifications/preferences",
        json={"categories": {"reminders": {"push": False}}},
        headers=headers,
    )
    lyo_app.kernel.activate()
    async with kernel.transaction():
        await notify(
            [ada],
            category="reminders",
            kind="message",
            key="p3",
            context={"title": "T", "body": "B"},
        )
    assert not await Delivery.filter(user_id=ada, channel="push").exists()


async def test_one_run_sends_a_batch_and_its_retry_only_what_failed(
    lyo_client: Any, lyo_app: Any, lyo_worker: None, fcm: FcmServer
) -> None:
    from kernel.data.models import TaskRun

    ada, ada_headers = await sign_in(lyo_client, "ada@example.com")
    bob, bob_headers = await sign_in(lyo_client, "bob@example.com", "Bob")
    await _devices(lyo_client, ada_headers, OK)
    await _devices(lyo_client, bob_headers, DOWN)
    lyo_app.kernel.activate()
    async with kernel.transaction():
        await notify(
            [ada, bob], category="reminders", kind="message", key="p4",
            context={"title": "T", "body": "B"},
        )  # fmt: skip

    async def retried() -> bool:
        return await Attempt.filter(provider="fcm", status=503).count() >= 2

    await until(retried)
    assert await TaskRun.filter(name="notifications:send_push").count() == 1  # both in one
    assert [m["token"] for m in fcm.sent] == [OK]  # sent once: the retry skipped it
    assert (await Delivery.get(user_id=ada, key="p4", channel="push")).status == "sent"
    assert (await Delivery.get(user_id=bob, key="p4", channel="push")).status == "pending"
