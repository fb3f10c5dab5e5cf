"""The administrators' send to a segment: everyone holding a role, a course's enrolled
learners (read through the learning plugin's public api), in batches with progress as a
task, once per user however often it is sent with the same key; bad segments are 422s
naming their field."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID, uuid4

import pytest
from conftest import PASSWORD, sign_in
from lyo_auth import accounts
from lyo_auth import plugin as auth
from lyo_learning import plugin as learning
from lyo_learning.api import create_course
from lyo_notifications import plugin as notifications
from lyo_notifications.models import Notification


@pytest.fixture
def lyo_plugins(mailbox: Any) -> list[object]:
    return [auth, learning, notifications]


async def _admin(client: Any, app: Any) -> dict[str, str]:
    root, _ = await sign_in(client, "root@example.com", "Root")
    app.kernel.activate()
    await accounts.grant_role(UUID(root), "admin")
    login = await client.post(
        "/api/auth/login", json={"email": "root@example.com", "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {(await login.get_json())['access_token']}"}


async def _finished(client: Any, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        run = await (await client.get(url, headers=headers)).get_json()
        if run["status"] in ("succeeded", "failed"):
            return run
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.1)


async def _send(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    message = {"title": "Maintenance", "body": "Tonight at 10.", **body}
    response = await client.post("/api/notifications/send", json=message, headers=headers)
    assert response.status_code == 202, await response.get_data()
    return await _finished(client, (await response.get_json())["status_url"], headers)


async def test_send_to_a_role_once_per_user_with_progress(
    lyo_client: Any, lyo_app: Any, lyo_worker: None
) -> None:
    headers = await _admin(lyo_client, lyo_app)
    learners = [(await sign_in(lyo_client, f"l{n}@example.com"))[0] for n in range(3)]
    run = await _send(lyo_client, headers, role="admin", key="ops-1")
    assert run["status"] == "succeeded" and run["result"] == {"notified": 1, "audience": 1}
    run = await _send(lyo_client, headers, role="learner", key="ops-1")
    # root is a learner too, and already had this key as an admin: skipped
    assert run["result"] == {"notified": 3, "audience": 4}, run
    assert run["percent"] == 100 and run["message"] == "1/1 batches"
    again = await _send(lyo_client, headers, role="learner", key="ops-1")
    assert again["result"] == {"notified": 0, "audience": 4}  # the same key: nobody twice
    for user_id in learners:
        assert await Notification.filter(user_id=user_id, title="Maintenance").count() == 1


async def test_send_to_a_courses_learners(lyo_client: Any, lyo_app: Any, lyo_worker: None) -> None:
    headers = await _admin(lyo_client, lyo_app)
    ada, ada_headers = await sign_in(lyo_client, "ada@example.com")
    bob, _ = await sign_in(lyo_client, "bob@example.com", "Bob")
    lyo_app.kernel.activate()
    course = await create_course(
        {"title": "Knots", "status": "published", "lessons": [{"title": "Bowline"}]},
        author_id=bob,
    )
    enrolled = await lyo_client.post(
        f"/api/learning/courses/{course.id}/enroll", headers=ada_headers
    )
    assert enrolled.status_code == 201, await enrolled.get_data()
    run = await _send(lyo_client, headers, course_id=str(course.id))
    assert run["result"] == {"notified": 1, "audience": 1}, run
    assert await Notification.filter(user_id=ada).count() == 1
    assert not await Notification.filter(user_id=bob).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "pirate"}, "/role"),
        ({"course_id": str(uuid4())}, "/course_id"),
        ({"role": "learner", "user_ids": ["x"]}, "/role"),
        ({}, "/user_ids"),
    ],
)
async def test_bad_segments_name_their_field(
    lyo_client: Any, lyo_app: Any, body: dict[str, Any], field: str
) -> None:
    headers = await _admin(lyo_client, lyo_app)
    message = {"title": "Hi", "body": "there", **body}
    response = await lyo_client.post("/api/notifications/send", json=message, headers=headers)
    assert response.status_code == 422, await response.get_data()
    problem = await response.get_json()
    assert [e["pointer"] for e in problem["errors"]] == [field], problem
