"""Registration, sign-in, the current user, refresh rotation, sign-out, no enumeration."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from authhelpers import (
    PASSWORD,
    bearer,
    events,
    login,
    problem_without_ids,
    register,
    signed_up,
)
from lyo_auth import passwords as passwords_module
from lyo_auth.models import User

from kernel import Unauthorized


async def test_register_returns_the_user_without_the_hash(lyo_client: Any) -> None:
    body = await register(lyo_client, "  Ada.Lovelace@Example.COM ")
    assert body["email"] == "ada.lovelace@example.com"
    assert body["roles"] == ["learner"]
    assert body["permissions"] == ["guarded:read"]  # the guarded plugin's default for learners
    assert not {"password", "password_hash"} & set(body)
    assert "argon2" not in str(body)
    user = await User.get(email="ada.lovelace@example.com")
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    [event] = events("auth.user_registered.v1")
    assert event.payload["user_id"] == body["id"]
    assert event.payload["roles"] == ["learner"]


async def test_duplicate_email_is_409_whatever_the_case(lyo_client: Any) -> None:
    await register(lyo_client, "ada@example.com")
    response = await lyo_client.post(
        "/api/auth/register",
        json={"email": "ADA@example.com", "password": PASSWORD, "display_name": "Other"},
    )
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    assert (await response.get_json())["field"] == "email"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw", "at least 12 characters"),
        ("grace@example.com", "must not be your email"),
        ("password1234", "too common"),
        ("QWERTYUIOP123", "too common"),
    ],
    ids=["short", "email", "common", "common-any-case"],
)
async def test_password_policy_is_a_clear_422(lyo_client: Any, password: str, reason: str) -> None:
    response = await lyo_client.post(
        "/api/auth/register",
        json={"email": "grace@example.com", "password": password, "display_name": "Grace"},
    )
    assert response.status_code == 422
    problem = await response.get_json()
    assert problem["errors"][0]["pointer"] == "/password"
    assert reason in problem["errors"][0]["detail"]
    assert not await User.exists(email="grace@example.com")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD, "display_name": "X"},
        {"email": "x@example.com", "password": PASSWORD, "display_name": "   "},
        {"email": "x@example.com", "password": PASSWORD},
        {"email": "x@example.com", "password": PASSWORD, "display_name": "X", "admin": True},
    ],
    ids=["bad-email", "blank-name", "missing-name", "unknown-field"],
)
async def test_invalid_registration_bodies_are_422(lyo_client: Any, body: dict[str, Any]) -> None:
    response = await lyo_client.post("/api/auth/register", json=body)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"


async def test_login_and_me(lyo_client: Any) -> None:
    registered = await register(lyo_client, "ada@example.com")
    pair = await login(lyo_client, "ADA@example.com")
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 900
    assert pair["refresh_expires_in"] == 30 * 24 * 3600
    me = await lyo_client.get("/api/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert (await me.get_json())["id"] == registered["id"]
    assert (await lyo_client.get("/api/auth/me")).status_code == 401


async def test_unknown_email_and_wrong_password_look_the_same(
    lyo_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same status, same body, and the same work: one argon2 verification each."""
    await register(lyo_client, "ada@example.com")
    verified: list[str | None] = []
    original = passwords_module.Passwords._verify

    def counting(self: Any, hashed: str | None, password: str) -> bool:
        verified.append(hashed)
        return original(self, hashed, password)

    monkeypatch.setattr(passwords_module.Passwords, "_verify", counting)
    answers = []
    for email in ("ada@example.com", "nobody@example.com"):
        response = await lyo_client.post(
            "/api/auth/login", json={"email": email, "password": "wrong-password-123"}
        )
        answers.append((response.status_code, problem_without_ids(await response.get_json())))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
    assert len(verified) == 2
    assert verified[0] is not None and verified[1] is None  # the dummy hash was checked


async def test_deactivated_accounts_get_the_same_401_at_login(lyo_client: Any) -> None:
    await register(lyo_client, "ada@example.com")
    await User.filter(email="ada@example.com").update(is_active=False)
    response = await lyo_client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 401
    assert (await response.get_json())["detail"] == "Invalid email or password."


async def test_refresh_rotates_and_reuse_revokes_the_family(lyo_client: Any) -> None:
    first = await signed_up(lyo_client, "ada@example.com")
    response = await lyo_client.post(
        "/api/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert response.status_code == 200
    second = await response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await lyo_client.get("/api/auth/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200

    reuse = await lyo_client.post(
        "/api/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert reuse.status_code == 401
    assert "already used" in (await reuse.get_json())["detail"]
    # the whole family is revoked: the successor and its access token too
    successor = await lyo_client.post(
        "/api/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert successor.status_code == 401
    me = await lyo_client.get("/api/auth/me", headers=bearer(second["access_token"]))
    assert me.status_code == 401


async def test_logout_revokes_the_access_token_and_the_family(lyo_client: Any) -> None:
    pair = await signed_up(lyo_client, "ada@example.com")
    other = await login(lyo_client, "ada@example.com")  # another session stays
    headers = bearer(pair["access_token"])
    assert (await lyo_client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert (await lyo_client.get("/api/auth/me", headers=headers)).status_code == 401
    refresh = await lyo_client.post(
        "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert refresh.status_code == 401
    me = await lyo_client.get("/api/auth/me", headers=bearer(other["access_token"]))
    assert me.status_code == 200


async def test_rehash_on_login_when_parameters_change(lyo_app: Any, lyo_client: Any) -> None:
    from argon2 import PasswordHasher

    await register(lyo_client, "ada@example.com")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await User.filter(email="ada@example.com").update(password_hash=weak)
    await login(lyo_client, "ada@example.com")
    user = await User.get(email="ada@example.com")
    assert user.password_hash != weak
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    await login(lyo_client, "ada@example.com")  # the new hash verifies


async def test_a_sign_in_racing_a_password_change_opens_no_session(
    lyo_app: Any, lyo_client: Any
) -> None:
    """The password is checked against the hash read before the check; a password change
    that commits meanwhile (revoking every session) must not be outlived by a session
    the sign-in opens after it. PostgreSQL: the change holds the account's row while the
    sign-in checks the old password, then commits; SQLite (one writer): the change is
    made between the check and the write, as the sign-in's own write would see it."""
    from lyo_auth.models import Session
    from lyo_auth.sessions import open_session

    await register(lyo_client, "ada@example.com")
    user = await User.get(email="ada@example.com")
    if lyo_app.kernel.db.dialect == "postgres":
        from kernel.data.db import connect_raw

        change = await connect_raw(lyo_app.kernel.settings.database_url)
        watch = await connect_raw(lyo_app.kernel.settings.database_url)  # fresh statistics
        try:
            await change.execute("BEGIN")
            await change.execute(
                "UPDATE auth_user SET password_hash = 'changed' WHERE id = $1", user.id
            )
            await change.execute(
                "UPDATE auth_session SET revoked_at = now() WHERE user_id = $1", user.id
            )
            signing_in = asyncio.ensure_future(
                lyo_client.post(
                    "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
                )
            )
            # the old password verifies; the sign-in then waits for the account's row
            for _ in range(100):
                waiting = await watch.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE '%auth_refresh_token%'"
                )
                if waiting:
                    break
                await asyncio.sleep(0.05)
            assert waiting, "the sign-in never reached its write"
            await change.execute("COMMIT")
        finally:
            await change.close()
            await watch.close()
        response = await signing_in
        assert response.status_code == 401, await response.get_data(as_text=True)
    else:
        await User.filter(id=user.id).update(password_hash="changed")
        with pytest.raises(Unauthorized):
            await open_session(user.id, user_agent=None, ip=None, verified=user.password_hash)
    assert not await Session.filter(user_id=user.id, revoked_at__isnull=True).exists()
    # deactivated while the password was checked: no session either
    await User.filter(id=user.id).update(password_hash=user.password_hash, is_active=False)
    with pytest.raises(Unauthorized):
        await open_session(user.id, user_agent=None, ip=None, verified=user.password_hash)
    assert not await Session.filter(user_id=user.id, revoked_at__isnull=True).exists()
