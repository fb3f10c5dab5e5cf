"""``export_user`` and ``erase_user`` across the real auth, learning and ai plugins (and
the kernel's own task runs): the export holds each one's data, the erase removes it,
and one failing plugin rolls the whole erase back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from ai_support import wait_for_task
from lyo_ai import plugin as ai
from lyo_learning import plugin as learning

from kernel.cli.privacy import erase_user, export_user
from kernel.testing import make_plugin

auth = pytest.importorskip("lyo_auth.plugin")

PASSWORD = "correct-horse-battery-staple"
BODY = {"topic": "Tide pools", "level": "beginner", "lesson_count": 2, "language": "English"}
FAILING = {"on": False}


def _erase_or_fail(user_id: str) -> None:
    if FAILING["on"]:
        raise RuntimeError("disk on fire")


# named to load before auth, so its erase runs last: after the others have erased
aborting = make_plugin("aborting", erase_user=_erase_or_fail)


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [aborting, auth, learning, ai]


@pytest.fixture(autouse=True)
def _not_failing() -> Any:
    FAILING["on"] = False
    yield
    FAILING["on"] = False


async def signed_in(app: Any, client: Any, email: str, admin: bool = False) -> dict[str, str]:
    from lyo_auth import accounts

    body = {"email": email, "password": PASSWORD, "display_name": email.split("@")[0]}
    user = await (await client.post("/api/auth/register", json=body)).get_json()
    if admin:
        app.kernel.activate()
        await accounts.grant_role(uuid.UUID(user["id"]), "admin")
    login = {"email": email, "password": PASSWORD}
    pair = await (await client.post("/api/auth/login", json=login)).get_json()
    return {"id": user["id"], "Authorization": f"Bearer {pair['access_token']}"}


async def generated(client: Any, headers: dict[str, str]) -> str:
    response = await client.post("/api/ai/courses", json=BODY, headers=headers)
    assert response.status_code == 202, await response.get_data(as_text=True)
    task_id = (await response.get_json())["task_id"]
    run = await _wait(client, task_id, headers)
    assert run["status"] == "succeeded", run
    return str(run["result"]["course_id"])


async def _wait(client: Any, task_id: str, headers: dict[str, str]) -> dict[str, Any]:
    return await wait_for_task(client, task_id, token=headers["Authorization"][7:])


async def world(app: Any, client: Any) -> tuple[dict[str, str], str, str]:
    """Ada (an admin) generates two courses, publishes one and enrolls in it; Bob, in
    the same database, does nothing."""
    ada = await signed_in(app, client, "ada@example.com", admin=True)
    await signed_in(app, client, "bob@example.com")
    draft, published = await generated(client, ada), await generated(client, ada)
    answer = await client.patch(
        f"/api/learning/courses/{published}", json={"status": "published"}, headers=ada
    )
    assert answer.status_code == 200, await answer.get_data(as_text=True)
    answer = await client.post(f"/api/learning/courses/{published}/enroll", headers=ada)
    assert answer.status_code in (200, 201), await answer.get_data(as_text=True)
    return ada, draft, published


async def test_export_holds_every_plugins_data(lyo_app: Any, lyo_client: Any) -> None:
    ada, draft, published = await world(lyo_app, lyo_client)
    lyo_app.kernel.activate()

    exported = await export_user(lyo_app.kernel, ada["id"])

    assert set(exported) == {"kernel", "auth", "learning", "ai"}
    assert exported["auth"]["account"]["email"] == "ada@example.com"
    assert "password_hash" not in str(exported)
    assert exported["auth"]["roles"] == ["admin", "learner"]
    assert exported["auth"]["preferences"]["digest"] == "weekly"
    assert len(exported["auth"]["sessions"]) == 1
    assert {str(c["id"]) for c in exported["learning"]["courses"]} == {draft, published}
    assert [str(e["course_id"]) for e in exported["learning"]["enrollments"]] == [published]
    assert [g["topic"] for g in exported["ai"]["generations"]] == ["Tide pools"] * 2
    assert [r["name"] for r in exported["kernel"]["task_runs"]] == ["ai:generate_course"] * 2
    assert await export_user(lyo_app.kernel, str(uuid.uuid4())) == {}


async def test_erase_removes_it_all_or_nothing(lyo_app: Any, lyo_client: Any) -> None:
    from lyo_auth.api import user_by_id
    from lyo_learning.models import Course

    ada, draft, published = await world(lyo_app, lyo_client)
    kernel = lyo_app.kernel
    kernel.activate()
    before = await export_user(kernel, ada["id"])

    FAILING["on"] = True
    with pytest.raises(Exception, match="'aborting' failed to erase"):
        await erase_user(kernel, ada["id"])
    assert await export_user(kernel, ada["id"]) == before  # rolled back everywhere

    FAILING["on"] = False
    erased = await erase_user(kernel, ada["id"])
    assert erased == ["ai", "learning", "auth", "aborting", "kernel"]
    assert await export_user(kernel, ada["id"]) == {}
    assert await user_by_id(ada["id"]) is None
    assert not await Course.exists(id=draft)  # a draft of hers goes
    kept = await Course.get(id=published)  # a published course stays for its learners
    assert kept.author_id == ""
    # her token no longer works; Bob is untouched
    me = await lyo_client.get(
        "/api/users/me/profile", headers={"Authorization": ada["Authorization"]}
    )
    assert me.status_code == 401
    bob = await lyo_client.post(
        "/api/auth/login", json={"email": "bob@example.com", "password": PASSWORD}
    )
    assert bob.status_code == 200
    assert await erase_user(kernel, ada["id"]) == ["ai", "learning", "auth", "aborting", "kernel"]
