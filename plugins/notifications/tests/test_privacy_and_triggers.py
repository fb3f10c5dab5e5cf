"""Privacy hooks (export, erase), the AI plugin's "course ready" event, the admin send
as a task, the digest and the retention purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from conftest import Mailbox, sign_in, until
from lyo_auth import accounts
from lyo_notifications.api import notify
from lyo_notifications.models import Delivery, Device, Notification, Preference
from lyo_notifications.tasks import digest, purge

import kernel
from kernel import Event
from kernel.cli.privacy import erase_user, export_user

FCM = "cZ1xY2:APA91bH" + "x" * 140


class CourseGenerated(Event):
    type = "ai.course_generated.v1"
    course_id: Any
    task_id: Any
    owner_id: str
    topic: str
    lesson_count: int
    model: str
    tokens: int


async def test_export_then_erase(lyo_client: Any, lyo_app: Any) -> None:
    ada, headers = await sign_in(lyo_client, "ada@example.com")
    bob, _ = await sign_in(lyo_client, "bob@example.com", "Bob")
    await lyo_client.post(
        "/api/notifications/devices", json={"platform": "android", "token": FCM}, headers=headers
    )
    await lyo_client.put(
        "/api/notifications/preferences", json={"digest": "daily"}, headers=headers
    )
    running = lyo_app.kernel
    running.activate()
    async with kernel.transaction():
        await notify(
            [ada, bob],
            category="reminders",
            kind="message",
            key="e1",
            context={"title": "Hi", "body": "there"},
        )
    exported = (await export_user(running, ada))["notifications"]
    assert exported["notifications"][0]["title"] == "Hi"
    assert exported["devices"][0]["platform"] == "android" and "token" not in exported["devices"][0]
    assert exported["preferences"][0]["digest"] == "daily"
    await erase_user(running, ada)
    assert "notifications" not in await export_user(running, ada)
    assert not await Device.filter(user_id=ada).exists()
    assert await Notification.filter(user_id=bob).count() == 1  # others keep theirs


async def test_a_generated_course_notifies_its_owner(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    ada, _headers = await sign_in(lyo_client, "ada@example.com")
    lyo_app.kernel.activate()
    async with kernel.transaction():
        await kernel.publish(
            CourseGenerated(
                course_id=uuid4(),
                task_id=uuid4(),
                owner_id=ada,
                topic="Tide pools",
                lesson_count=3,
                model="m",
                tokens=9,
            )
        )

    async def arrived() -> bool:
        return await Notification.filter(user_id=ada, category="generation_finished").exists()

    await until(arrived)
    item = await Notification.get(user_id=ada)
    assert item.body == "The course about Tide pools is ready (3 lessons)."
    assert item.data["course_id"]


async def test_admin_send_is_a_task_with_progress(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    root, root_headers = await sign_in(lyo_client, "root@example.com", "Root")
    ada, headers = await sign_in(lyo_client, "ada@example.com")
    body = {  # an unknown account and an id that is no account's are skipped
        "user_ids": [ada, str(uuid4()), "not-a-user"],
        "title": "Maintenance",
        "body": "Tonight at 10.",
    }
    assert (
        await lyo_client.post("/api/notifications/send", json=body, headers=headers)
    ).status_code == 403
    lyo_app.kernel.activate()
    await accounts.grant_role(__import__("uuid").UUID(root), "admin")
    login = await lyo_client.post(
        "/api/auth/login",
        json={"email": "root@example.com", "password": "correct horse battery staple"},
    )
    root_headers = {"Authorization": f"Bearer {(await login.get_json())['access_token']}"}
    response = await lyo_client.post("/api/notifications/send", json=body, headers=root_headers)
    assert response.status_code == 202, await response.get_data()
    status_url = (await response.get_json())["status_url"]

    async def done() -> bool:
        run = await (await lyo_client.get(status_url, headers=root_headers)).get_json()
        return run["status"] in ("succeeded", "failed")

    await until(done)
    run = await (await lyo_client.get(status_url, headers=root_headers)).get_json()
    assert run["status"] == "succeeded" and run["result"] == {"notified": 1, "audience": 3}, run
    assert (await Notification.get(user_id=ada)).title == "Maintenance"


async def test_digest_mails_what_piled_up_and_purge_forgets_old_items(
    lyo_client: Any, lyo_app: Any, mailbox: Mailbox, lyo_worker: None
) -> None:
    from lyo_notifications.models import Address

    ada, headers = await sign_in(lyo_client, "ada@example.com")
    await until(lambda: Address.exists(user_id=ada))
    await mailbox.wait(1)  # welcome
    await lyo_client.put(
        "/api/notifications/preferences", json={"digest": "daily"}, headers=headers
    )
    running = lyo_app.kernel
    running.activate()
    async with kernel.transaction():
        for number in range(2):
            await notify(
                [ada],
                category="reminders",
                kind="message",
                key=f"d{number}",
                context={"title": f"Item {number}", "body": "text"},
            )
    # the email deliveries were sent at once (no quiet hours); the digest is of unread items
    await running.tasks.enqueue(digest)
    await mailbox.wait(4)  # welcome + two notification mails + the digest

    async def digested() -> bool:
        return any("new notification" in str(m["Subject"]) for m in mailbox.messages)

    await until(digested)
    [mail] = [m for m in mailbox.messages if "new notification" in str(m["Subject"])]
    assert "Item 0" in mail.get_body(preferencelist=("plain",)).get_content()
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    async def recorded() -> bool:  # the mail leaves just before the worker's commit
        return (await Preference.get(user_id=ada)).last_digest_at is not None

    await until(recorded)
    # old rows go
    await Notification.filter(user_id=ada).update(
        created_at=datetime.now(UTC) - timedelta(days=400)
    )
    await Delivery.filter(user_id=ada).update(created_at=datetime.now(UTC) - timedelta(days=400))
    await running.tasks.enqueue(purge)
    await until(lambda: _gone(ada))


async def _gone(user_id: str) -> bool:
    return (
        not await Notification.filter(user_id=user_id).exists()
        and not await Delivery.filter(user_id=user_id).exists()
    )
