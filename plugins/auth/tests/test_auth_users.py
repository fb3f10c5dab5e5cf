"""Profiles, avatars, preferences, public profiles, administration and RBAC."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from authhelpers import bearer, make_admin, signed_up
from werkzeug.datastructures import FileStorage

from kernel import Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 200
GIF = b"GIF89a" + b"\x00" * 200


async def _me(client: Any) -> dict[str, str]:
    pair = await signed_up(client, "ada@example.com")
    return bearer(pair["access_token"])


async def test_profile_read_and_patch(lyo_client: Any) -> None:
    headers = await _me(lyo_client)
    profile = await (await lyo_client.get("/api/users/me/profile", headers=headers)).get_json()
    assert profile["display_name"] == "Ada"
    assert profile["timezone"] == "UTC" and profile["locale"] == "en"
    patch = {"display_name": " Ada L. ", "bio": "Analyst.", "timezone": "Europe/London"}
    response = await lyo_client.patch("/api/users/me/profile", json=patch, headers=headers)
    assert response.status_code == 200
    changed = await response.get_json()
    assert changed["display_name"] == "Ada L."
    assert changed["bio"] == "Analyst." and changed["timezone"] == "Europe/London"
    assert changed["locale"] == "en"  # left out: unchanged
    again = await (await lyo_client.get("/api/users/me/profile", headers=headers)).get_json()
    assert again == changed


@pytest.mark.parametrize(
    ("patch", "pointer"),
    [
        ({"timezone": "Mars/Olympus"}, "/timezone"),
        ({"locale": "english please"}, "/locale"),
        ({"bio": "x" * 2001}, "/bio"),
        ({"display_name": ""}, "/display_name"),
        ({"email": "new@example.com"}, "/email"),
    ],
    ids=["timezone", "locale", "bio", "display-name", "email-not-editable"],
)
async def test_invalid_profile_changes_are_422(
    lyo_client: Any, patch: dict[str, Any], pointer: str
) -> None:
    headers = await _me(lyo_client)
    response = await lyo_client.patch("/api/users/me/profile", json=patch, headers=headers)
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in (await response.get_json())["errors"]]


async def test_profile_needs_a_signed_in_user(lyo_client: Any) -> None:
    assert (await lyo_client.get("/api/users/me/profile")).status_code == 401
    assert (await lyo_client.get("/api/users/me/preferences")).status_code == 401


@pytest.mark.parametrize(
    ("content", "filename"),
    [(PNG, "me.png"), (JPEG, "me.jpeg"), (WEBP, "me.webp")],
    ids=["png", "jpeg", "webp"],
)
async def test_avatar_upload(
    lyo_client: Any, lyo_settings: Settings, content: bytes, filename: str
) -> None:
    headers = await _me(lyo_client)
    upload = FileStorage(io.BytesIO(content), filename=filename)
    response = await lyo_client.put("/api/users/me/avatar", files={"file": upload}, headers=headers)
    assert response.status_code == 200, await response.get_data(as_text=True)
    url = (await response.get_json())["avatar_url"]
    assert url.startswith("/media/avatars/")
    stored = Path(lyo_settings.media_root) / url.removeprefix("/media/")
    assert stored.read_bytes() == content


async def test_a_new_avatar_replaces_the_old_file(lyo_client: Any, lyo_settings: Settings) -> None:
    headers = {**await _me(lyo_client), "Content-Type": "image/png"}
    first = await lyo_client.put("/api/users/me/avatar", data=PNG, headers=headers)
    second = await lyo_client.put("/api/users/me/avatar", data=PNG, headers=headers)
    assert first.status_code == second.status_code == 200
    avatars = Path(lyo_settings.media_root) / "avatars"
    assert [p.name for p in avatars.iterdir()] == [
        (await second.get_json())["avatar_url"].rsplit("/", 1)[1]
    ]
    deleted = await lyo_client.delete("/api/users/me/avatar", headers=headers)
    assert (await deleted.get_json())["avatar_url"] is None
    assert list(avatars.iterdir()) == []


@pytest.mark.auth_settings(AVATAR_MAX_BYTES=1024)
@pytest.mark.parametrize(
    ("content", "filename", "status"),
    [
        (GIF, "me.gif", 415),
        (PNG, "me.jpg", 415),  # content and name disagree
        (b"just text, not an image", "me.png", 415),
        (PNG + b"\x00" * 2000, "me.png", 413),
        (b"", "me.png", 422),
    ],
    ids=["gif-refused", "mismatched-extension", "not-an-image", "too-big", "empty"],
)
async def test_bad_avatars_are_refused(
    lyo_client: Any, lyo_settings: Settings, content: bytes, filename: str, status: int
) -> None:
    headers = await _me(lyo_client)
    upload = FileStorage(io.BytesIO(content), filename=filename)
    response = await lyo_client.put("/api/users/me/avatar", files={"file": upload}, headers=headers)
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    avatars = Path(lyo_settings.media_root) / "avatars"
    assert not avatars.exists() or list(avatars.iterdir()) == []


async def test_preferences_merge_defaults(lyo_client: Any) -> None:
    headers = await _me(lyo_client)
    defaults = await (await lyo_client.get("/api/users/me/preferences", headers=headers)).get_json()
    assert defaults["theme"] == "system" and defaults["daily_goal_minutes"] == 15
    response = await lyo_client.put(
        "/api/users/me/preferences", json={"theme": "dark"}, headers=headers
    )
    assert response.status_code == 200
    stored = await (await lyo_client.get("/api/users/me/preferences", headers=headers)).get_json()
    assert stored == {**defaults, "theme": "dark"}
    for bad in ({"theme": "neon"}, {"daily_goal_minutes": -1}, {"unknown": 1}):
        response = await lyo_client.put("/api/users/me/preferences", json=bad, headers=headers)
        assert response.status_code == 422


async def test_public_profile_hides_the_email(lyo_client: Any) -> None:
    pair = await signed_up(lyo_client, "ada@example.com")
    me = await (
        await lyo_client.get("/api/auth/me", headers=bearer(pair["access_token"]))
    ).get_json()
    response = await lyo_client.get(f"/api/users/{me['id']}")
    assert response.status_code == 200
    profile = await response.get_json()
    assert profile["display_name"] == "Ada" and "email" not in profile
    missing = await lyo_client.get("/api/users/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


async def test_admin_lists_users_with_filters(lyo_app: Any, lyo_client: Any) -> None:
    admin = await signed_up(lyo_client, "admin@example.com")
    await make_admin(lyo_app, "admin@example.com")
    for n in range(5):
        await signed_up(lyo_client, f"learner{n}@example.com")
    headers = bearer(admin["access_token"])
    page = await (await lyo_client.get("/api/users?size=2&page=2", headers=headers)).get_json()
    assert page["total"] == 6 and page["pages"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["email"] == "learner1@example.com"
    found = await (await lyo_client.get("/api/users?email=LEARNER3", headers=headers)).get_json()
    assert [u["email"] for u in found["items"]] == ["learner3@example.com"]
    admins = await (await lyo_client.get("/api/users?role=admin", headers=headers)).get_json()
    assert [u["email"] for u in admins["items"]] == ["admin@example.com"]
    assert admins["items"][0]["roles"] == ["admin", "learner"]
    bad = await lyo_client.get("/api/users?size=1000", headers=headers)
    assert bad.status_code == 422


async def test_admin_endpoints_need_the_permission(lyo_client: Any) -> None:
    pair = await signed_up(lyo_client, "ada@example.com")
    learner = bearer(pair["access_token"])
    assert (await lyo_client.get("/api/users")).status_code == 401
    forbidden = await lyo_client.get("/api/users", headers=learner)
    assert forbidden.status_code == 403
    assert forbidden.content_type == "application/problem+json"
    me = await (await lyo_client.get("/api/auth/me", headers=learner)).get_json()
    for method, path in [
        ("put", f"/api/users/{me['id']}/roles/admin"),
        ("delete", f"/api/users/{me['id']}/roles/learner"),
        ("post", f"/api/users/{me['id']}/deactivate"),
    ]:
        response = await getattr(lyo_client, method)(path, headers=learner)
        assert response.status_code == 403, path


async def test_roles_grant_permissions_that_require_checks(lyo_app: Any, lyo_client: Any) -> None:
    """`kernel.require("guarded:write")` in another plugin follows role changes at once."""
    admin = bearer((await signed_up(lyo_client, "admin@example.com"))["access_token"])
    await make_admin(lyo_app, "admin@example.com")
    pair = await signed_up(lyo_client, "ada@example.com")
    ada = bearer(pair["access_token"])
    me = await (await lyo_client.get("/api/auth/me", headers=ada)).get_json()
    assert (await lyo_client.get("/api/guarded/write", headers=ada)).status_code == 403

    granted = await lyo_client.put(f"/api/users/{me['id']}/roles/instructor", headers=admin)
    assert (await granted.get_json())["roles"] == ["instructor", "learner"]
    allowed = await lyo_client.get("/api/guarded/write", headers=ada)
    assert allowed.status_code == 200
    assert (await allowed.get_json())["roles"] == ["instructor", "learner"]
    me = await (await lyo_client.get("/api/auth/me", headers=ada)).get_json()
    assert me["permissions"] == ["guarded:read", "guarded:write"]

    await lyo_client.delete(f"/api/users/{me['id']}/roles/instructor", headers=admin)
    assert (await lyo_client.get("/api/guarded/write", headers=ada)).status_code == 403

    unknown = await lyo_client.put(f"/api/users/{me['id']}/roles/wizard", headers=admin)
    assert unknown.status_code == 422
    admin_me = await (await lyo_client.get("/api/auth/me", headers=admin)).get_json()
    assert admin_me["permissions"] == ["*", "guarded:read"]
    assert (await lyo_client.get("/api/guarded/write", headers=admin)).status_code == 200
    self_deactivate = await lyo_client.post(
        f"/api/users/{admin_me['id']}/deactivate", headers=admin
    )
    assert self_deactivate.status_code == 409


@pytest.mark.auth_settings(
    ROLES='{"admin": ["*"], "teacher": ["guarded:write"], "student": []}',
    DEFAULT_ROLES="student",
    ADMIN_ROLE="admin",
)
async def test_the_role_mapping_is_configurable(lyo_client: Any) -> None:
    pair = await signed_up(lyo_client, "ada@example.com")
    me = await (
        await lyo_client.get("/api/auth/me", headers=bearer(pair["access_token"]))
    ).get_json()
    assert me["roles"] == ["student"] and me["permissions"] == []


async def test_the_plugin_declares_its_permissions(lyo_app: Any) -> None:
    assert {"auth:admin", "auth:users.read"} <= set(lyo_app.kernel.permissions)


@pytest.mark.auth_settings(
    GRANTS='{"guarded:write": ["learner"], "guarded:audit": ["auditor"], "guarded:read": []}'
)
async def test_grants_override_a_plugins_defaults_per_permission(lyo_app: Any) -> None:
    """Plugins' defaults apply without any configuration; LYO_AUTH__GRANTS changes one
    permission's roles and leaves the rest of the table alone."""
    from lyo_auth.services import services

    roles = services().settings.roles
    assert roles["learner"] == ["guarded:write"]  # guarded:read taken away, write given
    assert roles["instructor"] == []  # write moved from instructors to learners
    assert roles["auditor"] == ["guarded:audit"]  # a role made by a grant
    assert roles["admin"] == ["*"]


async def test_plugins_grant_their_permissions_to_default_roles(lyo_app: Any) -> None:
    from lyo_auth.services import services

    roles = services().settings.roles
    assert roles == {"admin": ["*"], "instructor": ["guarded:write"], "learner": ["guarded:read"]}


@pytest.mark.auth_settings(GRANTS='{"guarded:typo": ["learner"], "nobody:here": []}')
async def test_grants_of_unknown_permissions_warn(lyo_settings: Any) -> None:
    import structlog
    from authhelpers import guarded_plugin
    from lyo_auth import plugin as auth

    from kernel import create_app

    app = create_app(lyo_settings, [auth, guarded_plugin], discover=False)
    with structlog.testing.capture_logs() as logs:
        async with app.test_app():
            pass
    [warning] = [x for x in logs if "GRANTS" in x["event"]]
    assert warning["log_level"] == "warning"
    assert warning["permissions"] == ["guarded:typo", "nobody:here"]
