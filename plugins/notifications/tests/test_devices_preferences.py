"""Devices: validated per platform, upserted, a token moves to whoever registers it
last. Preferences: auth's preferences are the defaults; quiet hours in the user's time
zone defer push and send email to the digest; one-click unsubscribe is signed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import sign_in
from lyo_notifications import mail
from lyo_notifications.models import Address, Attempt, Delivery, Device
from lyo_notifications.preferences import quiet_until
from lyo_notifications.tasks import release

import kernel

FCM = "cZ1xY2:APA91bH" + "x" * 140
APNS = "ab" * 32


async def test_register_list_move_and_delete_devices(lyo_client: Any) -> None:
    _ada, ada_h = await sign_in(lyo_client, "ada@example.com")
    bob, bob_h = await sign_in(lyo_client, "bob@example.com", "Bob")
    body = {"platform": "android", "token": FCM, "app_version": "1.2.0", "locale": "en-GB"}
    first = await lyo_client.post("/api/notifications/devices", json=body, headers=ada_h)
    assert first.status_code == 201, await first.get_data()
    again = await lyo_client.post(
        "/api/notifications/devices", json={**body, "app_version": "1.3.0"}, headers=ada_h
    )
    assert (await again.get_json())["id"] == (await first.get_json())["id"]  # upsert
    assert (await again.get_json())["app_version"] == "1.3.0"
    ios = await lyo_client.post(
        "/api/notifications/devices", json={"platform": "ios", "token": APNS}, headers=ada_h
    )
    assert ios.status_code == 201
    listed = await (await lyo_client.get("/api/notifications/devices", headers=ada_h)).get_json()
    assert [d["platform"] for d in listed["items"]] == ["android", "ios"]
    assert "token" not in listed["items"][0] and listed["items"][0]["token_suffix"] == FCM[-6:]
    # bob signs in on the same phone: the token is his now, and only his
    moved = await lyo_client.post("/api/notifications/devices", json=body, headers=bob_h)
    assert moved.status_code == 201
    assert await Device.filter(token=FCM).values_list("user_id", flat=True) == [bob]
    listed = await (await lyo_client.get("/api/notifications/devices", headers=ada_h)).get_json()
    assert [d["platform"] for d in listed["items"]] == ["ios"]
    device_id = (await moved.get_json())["id"]
    assert (
        await lyo_client.delete(f"/api/notifications/devices/{device_id}", headers=ada_h)
    ).status_code == 404
    assert (
        await lyo_client.delete(f"/api/notifications/devices/{device_id}", headers=bob_h)
    ).status_code == 204


async def test_tokens_are_validated_per_platform(lyo_client: Any) -> None:
    _, headers = await sign_in(lyo_client, "ada@example.com")
    for body in (
        {"platform": "ios", "token": FCM},  # an FCM token on iOS
        {"platform": "ios", "token": "zz" * 32},  # not hex
        {"platform": "android", "token": APNS},  # hex is no FCM token
        {"platform": "android", "token": "short:x"},
        {"platform": "web", "token": FCM},
        {"platform": "android", "token": FCM, "locale": "not a locale"},
        {"platform": "android", "token": FCM, "extra": 1},
    ):
        response = await lyo_client.post("/api/notifications/devices", json=body, headers=headers)
        assert response.status_code == 422, (body, await response.get_data())
        assert response.headers["Content-Type"].startswith("application/problem+json")
    assert (
        await lyo_client.post("/api/notifications/devices", json={"platform": "ios", "token": APNS})
    ).status_code == 401


async def test_auth_preferences_are_the_defaults_and_ours_override(lyo_client: Any) -> None:
    _, headers = await sign_in(lyo_client, "ada@example.com")
    mine = await (
        await lyo_client.get("/api/notifications/preferences", headers=headers)
    ).get_json()
    assert mine["categories"]["replies"] == {"push": True, "email": True, "in_app": True}
    assert mine["digest"] == "weekly" and mine["quiet_hours"] is None
    response = await lyo_client.put(
        "/api/users/me/preferences",
        json={"push_notifications": False, "digest": "daily"},
        headers=headers,
    )
    assert response.status_code == 200
    mine = await (
        await lyo_client.get("/api/notifications/preferences", headers=headers)
    ).get_json()
    assert mine["categories"]["reactions"]["push"] is False and mine["digest"] == "daily"
    assert mine["categories"]["account"] == {"push": False, "email": True, "in_app": False}
    body = {
        "categories": {"reactions": {"push": True, "email": False}},
        "quiet_hours": {"start": "22:00", "end": "07:00"},
    }
    response = await lyo_client.put("/api/notifications/preferences", json=body, headers=headers)
    assert response.status_code == 200, await response.get_data()
    mine = await response.get_json()
    assert mine["categories"]["reactions"] == {"push": True, "email": False, "in_app": True}
    assert mine["categories"]["replies"]["push"] is False  # still auth's default
    assert mine["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    for bad in (
        {"categories": {"nonsense": {}}},
        {"quiet_hours": {"start": "25:00", "end": "07:00"}},
        {"digest": "hourly"},
    ):
        response = await lyo_client.put("/api/notifications/preferences", json=bad, headers=headers)
        assert response.status_code == 422, bad


def test_quiet_hours_are_in_the_users_time_zone() -> None:
    winter_night = datetime(2026, 1, 10, 22, 30, tzinfo=UTC)  # 23:30 in Paris, 17:30 in New York
    until = quiet_until("23:00", "07:00", "Europe/Paris", winter_night)
    assert until == datetime(2026, 1, 11, 6, 0, tzinfo=UTC)  # 07:00 Paris time
    assert quiet_until("23:00", "07:00", "America/New_York", winter_night) is None
    assert quiet_until("09:00", "17:00", "UTC", winter_night) is None
    assert quiet_until("22:00", "23:00", "UTC", winter_night) == datetime(
        2026, 1, 10, 23, 0, tzinfo=UTC
    )
    assert quiet_until("22:00", "07:00", "Not/AZone", winter_night) is not None  # UTC then


async def test_quiet_hours_defer_push_and_send_email_to_the_digest(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    from lyo_notifications.api import notify

    ada, headers = await sign_in(lyo_client, "ada@example.com")
    for _ in range(600):  # the address arrives with auth.user_registered.v1
        if await Address.exists(user_id=ada):
            break
        await asyncio.sleep(0.05)
    await lyo_client.post(
        "/api/notifications/devices", json={"platform": "android", "token": FCM}, headers=headers
    )
    always_quiet = {"quiet_hours": {"start": "00:00", "end": "23:59"}}
    await lyo_client.put("/api/notifications/preferences", json=always_quiet, headers=headers)
    lyo_app.kernel.activate()
    async with kernel.transaction():
        await notify(
            [ada],
            category="reminders",
            kind="message",
            key="q1",
            context={"title": "T", "body": "B"},
        )
    push = await Delivery.get(user_id=ada, key="q1", channel="push")
    email = await Delivery.get(user_id=ada, key="q1", channel="email")
    assert push.status == "deferred" and push.not_before is not None
    assert email.status == "digest"
    # once the quiet hours are over, the release sends it (no FCM here: recorded, skipped)

    await Delivery.filter(id=push.id).update(not_before=datetime.now(UTC) - timedelta(minutes=1))
    await lyo_app.kernel.tasks.enqueue(release)
    for _ in range(600):
        push = await Delivery.get(id=push.id)
        if push.status not in ("deferred", "pending"):
            break
        await asyncio.sleep(0.05)
    assert push.status == "skipped"
    assert "FCM_CREDENTIALS" in (await Attempt.get(delivery_id=push.id)).error


async def test_one_click_unsubscribe_is_signed(lyo_client: Any, lyo_app: Any) -> None:
    ada, headers = await sign_in(lyo_client, "ada@example.com")
    lyo_app.kernel.activate()
    url = mail.unsubscribe_url(ada, "replies")
    path = url[url.index("/api/") :]
    forged = path.replace("category=replies", "category=reactions")
    assert (await lyo_client.post(forged)).status_code == 403
    odd = path.split("&sig=")[0] + "&sig=%C3%A9t%C3%A9"  # non-ASCII: 403, not a 500
    assert (await lyo_client.post(odd)).status_code == 403
    response = await lyo_client.post(path, form={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 204
    mine = await (
        await lyo_client.get("/api/notifications/preferences", headers=headers)
    ).get_json()
    assert mine["categories"]["replies"]["email"] is False
    assert mine["categories"]["reactions"]["email"] is True
