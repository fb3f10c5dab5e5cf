"""``lyo_auth.api`` (what other plugins may call) and the events announcing changes to
profiles, preferences and roles: published once, when (and only when) the change commits."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from authhelpers import bearer, make_admin, register, signed_up
from lyo_auth import accounts, api
from lyo_auth import plugin as auth

from kernel import ValidationFailed, transaction
from kernel.testing import recorder

TYPES = (
    "auth.profile_updated.v1",
    "auth.preferences_updated.v1",
    "auth.roles_changed.v1",
    "auth.user_deactivated.v1",
)
SEEN = recorder(*TYPES, name="apirecorder")


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [auth, SEEN]


@pytest.fixture(autouse=True)
def _seen() -> Any:
    SEEN.clear()
    yield
    SEEN.clear()


def seen(type_: str) -> list[dict[str, Any]]:
    return SEEN.payloads(type_)


async def test_users_by_id_batches_profiles_roles_and_preferences(
    lyo_app: Any, lyo_client: Any
) -> None:
    ada = await register(lyo_client, "ada@example.com", name="Ada")
    bob = await register(lyo_client, "bob@example.com", name="Bob")
    await make_admin(lyo_app, "bob@example.com")
    lyo_app.kernel.activate()
    await accounts.deactivate(uuid.UUID(bob["id"]), by=None)
    missing = uuid.uuid4()

    found = await api.users_by_id([ada["id"], uuid.UUID(bob["id"]), missing, ada["id"]])

    assert set(found) == {uuid.UUID(ada["id"]), uuid.UUID(bob["id"])}
    info = found[uuid.UUID(ada["id"])]
    assert (info.display_name, info.locale, info.timezone, info.avatar_url) == (
        "Ada",
        "en",
        "UTC",
        None,
    )
    assert info.roles == ("learner",) and info.is_active
    assert info.preferences == api.Preferences()  # defaults filled in
    bob_info = found[uuid.UUID(bob["id"])]
    assert "admin" in bob_info.roles and not bob_info.is_active
    assert await api.user_by_id(missing) is None
    assert await api.users_by_id([]) == {}
    with pytest.raises(ValueError, match="not a user id"):
        await api.users_by_id(["nope"])
    # the active holders of a role, for a message to a segment
    assert await api.user_ids_with_role("learner") == [ada["id"]]  # bob is deactivated
    assert await api.user_ids_with_role("instructor") == []
    with pytest.raises(ValidationFailed, match="/role"):
        await api.user_ids_with_role("pirate")


async def test_profile_and_preference_changes_are_announced_once(
    lyo_app: Any, lyo_client: Any
) -> None:
    pair = await signed_up(lyo_client, "ada@example.com")
    me = bearer(pair["access_token"])
    patch = {"display_name": "Ada L.", "timezone": "Europe/Lisbon"}
    response = await lyo_client.patch("/api/users/me/profile", json=patch, headers=me)
    assert response.status_code == 200
    (event,) = seen("auth.profile_updated.v1")
    assert event["changed"] == ["display_name", "timezone"]
    assert (event["display_name"], event["timezone"], event["locale"]) == (
        "Ada L.",
        "Europe/Lisbon",
        "en",
    )
    # the same values again: nothing changed, nothing announced
    assert (
        await lyo_client.patch("/api/users/me/profile", json=patch, headers=me)
    ).status_code == 200
    assert len(seen("auth.profile_updated.v1")) == 1

    prefs = {"digest": "daily", "email_notifications": False}
    assert (
        await lyo_client.put("/api/users/me/preferences", json=prefs, headers=me)
    ).status_code == 200
    (event,) = seen("auth.preferences_updated.v1")
    assert event["changed"] == ["digest", "email_notifications"]
    assert event["preferences"]["digest"] == "daily" and event["preferences"]["theme"] == "system"
    assert (
        await lyo_client.put("/api/users/me/preferences", json=prefs, headers=me)
    ).status_code == 200
    assert len(seen("auth.preferences_updated.v1")) == 1

    lyo_app.kernel.activate()
    info = await api.user_by_id(event["user_id"])
    assert info is not None and info.display_name == "Ada L." and info.preferences.digest == "daily"


async def test_role_changes_and_deactivation_are_announced_when_they_commit(
    lyo_app: Any, lyo_client: Any
) -> None:
    user = await register(lyo_client, "ada@example.com")
    user_id = uuid.UUID(user["id"])
    lyo_app.kernel.activate()

    with pytest.raises(RuntimeError):
        async with transaction():
            await accounts.grant_role(user_id, "admin")
            raise RuntimeError("rolled back")
    assert seen("auth.roles_changed.v1") == []  # rolled back: never announced

    await accounts.grant_role(user_id, "admin")
    await accounts.grant_role(user_id, "admin")  # already granted: no change, no event
    await accounts.remove_role(user_id, "admin")
    await accounts.remove_role(user_id, "admin")
    assert seen("auth.roles_changed.v1") == [
        {"user_id": str(user_id), "added": ["admin"], "removed": [], "roles": ["admin", "learner"]},
        {"user_id": str(user_id), "added": [], "removed": ["admin"], "roles": ["learner"]},
    ]

    with pytest.raises(RuntimeError):
        async with transaction():
            await accounts.deactivate(user_id, by=None)
            raise RuntimeError("rolled back")
    assert seen("auth.user_deactivated.v1") == []
    await accounts.deactivate(user_id, by=None)
    await accounts.deactivate(user_id, by=None)
    assert [e["user_id"] for e in seen("auth.user_deactivated.v1")] == [str(user_id)]
    info = await api.user_by_id(user_id)
    assert info is not None and not info.is_active
