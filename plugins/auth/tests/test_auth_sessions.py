"""Concurrent refreshes, password changes and resets, deactivation, lockouts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from authhelpers import (
    PASSWORD,
    bearer,
    events,
    forgot,
    login,
    make_admin,
    problem_without_ids,
    register,
    signed_up,
)
from lyo_auth.api import reset_link
from lyo_auth.models import RefreshToken, Session, User

from kernel import Settings, create_app
from kernel.testing import serve

NEW_PASSWORD = "a-brand-new-passphrase-42"


async def test_fifty_concurrent_refreshes_one_wins_and_the_family_is_revoked(
    lyo_settings: Settings, lyo_plugins: list[object]
) -> None:
    """Under a real server: of 50 concurrent refreshes of one token exactly one succeeds;
    the others are reuse, which revokes the family, the winner's new tokens included."""
    app = create_app(lyo_settings, lyo_plugins, discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        await client.post(
            "/api/auth/register",
            json={"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada"},
        )
        pair = (
            await client.post(
                "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
            )
        ).json()
        body = {"refresh_token": pair["refresh_token"]}
        responses = await asyncio.gather(
            *(client.post("/api/auth/refresh", json=body) for _ in range(50))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [401] * 49, statuses
        [winner] = [r.json() for r in responses if r.status_code == 200]

        again = await client.post(
            "/api/auth/refresh", json={"refresh_token": winner["refresh_token"]}
        )
        assert again.status_code == 401
        me = await client.get("/api/auth/me", headers=bearer(winner["access_token"]))
        assert me.status_code == 401
        app.kernel.activate()
        [session] = await Session.all()
        assert session.revoked_at is not None and session.revoked_reason == "refresh_reuse"
        assert (
            await RefreshToken.filter(consumed_at__isnull=True, revoked_at__isnull=True).count()
            == 0
        )


async def test_password_change_revokes_every_other_session(lyo_client: Any) -> None:
    current = await signed_up(lyo_client, "ada@example.com")
    other = await login(lyo_client, "ada@example.com")
    wrong = await lyo_client.post(
        "/api/auth/password",
        json={"current_password": "not-my-password-1", "new_password": NEW_PASSWORD},
        headers=bearer(current["access_token"]),
    )
    assert wrong.status_code == 422
    assert (await wrong.get_json())["errors"][0]["pointer"] == "/current_password"
    weak = await lyo_client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=bearer(current["access_token"]),
    )
    assert weak.status_code == 422
    assert (await weak.get_json())["errors"][0]["pointer"] == "/new_password"

    changed = await lyo_client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(current["access_token"]),
    )
    assert changed.status_code == 204
    me = await lyo_client.get("/api/auth/me", headers=bearer(current["access_token"]))
    assert me.status_code == 200
    me = await lyo_client.get("/api/auth/me", headers=bearer(other["access_token"]))
    assert me.status_code == 401
    refresh = await lyo_client.post(
        "/api/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert refresh.status_code == 401
    await login(lyo_client, "ada@example.com", NEW_PASSWORD)


async def test_password_reset_flow(lyo_client: Any) -> None:
    pair = await signed_up(lyo_client, "ada@example.com")
    for email in ("ada@example.com", "nobody@example.com"):
        await forgot(lyo_client, email)  # 202, the same for unknown addresses
    [event] = events("auth.password_reset_requested.v1")
    assert event.payload["email"] == "ada@example.com"
    assert "token" not in event.payload  # the outbox keeps events: the mailer mints it
    token = (await reset_link(event.payload["reset_id"])).token

    bad = await lyo_client.post(
        "/api/auth/password/reset", json={"token": "nope", "new_password": NEW_PASSWORD}
    )
    assert bad.status_code == 422
    reset = await lyo_client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 204
    again = await lyo_client.post(
        "/api/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD + "x"}
    )
    assert again.status_code == 422  # single use
    me = await lyo_client.get("/api/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 401  # every session revoked
    await login(lyo_client, "ada@example.com", NEW_PASSWORD)


@pytest.mark.auth_settings(RESET_TTL=60, RESET_URL="https://app.example/reset?t={token}")
async def test_expired_reset_tokens_are_refused(lyo_client: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from lyo_auth.models import PasswordReset

    await register(lyo_client, "ada@example.com")
    await forgot(lyo_client, "ada@example.com")
    [event] = events("auth.password_reset_requested.v1")
    link = await reset_link(event.payload["reset_id"])
    assert link.url == f"https://app.example/reset?t={link.token}"
    past = datetime.now(UTC) - timedelta(seconds=1)
    await PasswordReset.all().update(created_at=past - timedelta(seconds=60), expires_at=past)
    response = await lyo_client.post(
        "/api/auth/password/reset", json={"token": link.token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 422
    assert await reset_link(event.payload["reset_id"]) is None  # expired: no new token


async def test_deactivated_users_tokens_stop_working_immediately(
    lyo_app: Any, lyo_client: Any
) -> None:
    admin = await signed_up(lyo_client, "admin@example.com")
    await make_admin(lyo_app, "admin@example.com")
    victim = await signed_up(lyo_client, "ada@example.com")
    second = await login(lyo_client, "ada@example.com")
    headers = bearer(victim["access_token"])
    assert (await lyo_client.get("/api/auth/me", headers=headers)).status_code == 200  # cached
    user = await User.get(email="ada@example.com")

    response = await lyo_client.post(
        f"/api/users/{user.id}/deactivate", headers=bearer(admin["access_token"])
    )
    assert response.status_code == 200
    assert (await response.get_json())["is_active"] is False
    for token in (victim["access_token"], second["access_token"]):
        me = await lyo_client.get("/api/auth/me", headers=bearer(token))
        assert me.status_code == 401
    for token in (victim["refresh_token"], second["refresh_token"]):
        refresh = await lyo_client.post("/api/auth/refresh", json={"refresh_token": token})
        assert refresh.status_code == 401
    login_again = await lyo_client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert login_again.status_code == 401
    [event] = events("auth.user_deactivated.v1")
    assert event.payload["user_id"] == str(user.id)
    assert event.payload["sessions_revoked"] == 2


@pytest.mark.auth_settings(LOGIN_ACCOUNT_LIMIT="3/15 minutes")
async def test_account_lockout_after_repeated_failures(lyo_client: Any) -> None:
    await register(lyo_client, "ada@example.com")
    wrong = {"email": "ada@example.com", "password": "wrong-password-123"}
    for _ in range(3):
        assert (await lyo_client.post("/api/auth/login", json=wrong)).status_code == 401
    locked = await lyo_client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert locked.content_type == "application/problem+json"
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    # unknown accounts lock out the same way: a lockout tells nothing either
    ghost = {"email": "ghost@example.com", "password": "wrong-password-123"}
    answers = [await lyo_client.post("/api/auth/login", json=ghost) for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert (
        problem_without_ids(await answers[3].get_json())["detail"]
        == problem_without_ids(await locked.get_json())["detail"]
    )


@pytest.mark.auth_settings(LOGIN_ACCOUNT_LIMIT="3/15 minutes")
async def test_a_successful_login_does_not_count_nor_wipe_the_failures(lyo_client: Any) -> None:
    """A success hands its own slot back, but the failures before it stay counted until
    their window ends: otherwise each sign-in of the account's owner behind the same
    address would give someone guessing there a fresh set of tries."""
    await register(lyo_client, "ada@example.com")
    wrong = {"email": "ada@example.com", "password": "wrong-password-123"}
    for _ in range(2):
        assert (await lyo_client.post("/api/auth/login", json=wrong)).status_code == 401
    await login(lyo_client, "ada@example.com")
    await login(lyo_client, "ada@example.com")
    assert (await lyo_client.post("/api/auth/login", json=wrong)).status_code == 401
    assert (await lyo_client.post("/api/auth/login", json=wrong)).status_code == 429


@pytest.mark.auth_settings(LOGIN_IP_LIMIT="4/15 minutes")
async def test_ip_lockout_spans_accounts(lyo_client: Any) -> None:
    """Password spraying: failures over many accounts from one address lock it out;
    another address is unaffected."""
    await register(lyo_client, "ada@example.com")
    for n in range(4):
        body = {"email": f"user{n}@example.com", "password": "wrong-password-123"}
        assert (await lyo_client.post("/api/auth/login", json=body)).status_code == 401
    good = {"email": "ada@example.com", "password": PASSWORD}
    locked = await lyo_client.post("/api/auth/login", json=good)
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers
    elsewhere = await lyo_client.post(
        "/api/auth/login", json=good, scope_base={"client": ("10.9.8.7", 4321)}
    )
    assert elsewhere.status_code == 200


@pytest.mark.auth_settings(REGISTER_LIMIT="2/hour")
async def test_registration_is_rate_limited_per_address(lyo_client: Any) -> None:
    await register(lyo_client, "one@example.com")
    await register(lyo_client, "two@example.com")
    response = await lyo_client.post(
        "/api/auth/register",
        json={"email": "three@example.com", "password": PASSWORD, "display_name": "Three"},
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.auth_settings(FORGOT_LIMIT="2/hour")
async def test_reset_requests_over_the_limit_are_dropped_silently(lyo_client: Any) -> None:
    await register(lyo_client, "ada@example.com")
    for _ in range(4):
        await forgot(lyo_client, "ada@example.com")  # 202 each time
    assert len(events("auth.password_reset_requested.v1")) == 2
