"""Sign-in and reset limits under attack: parallel bursts at a real server, targeted
lockouts, a crowd behind one address, reset quotas and timing, token caching."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from authhelpers import (
    PASSWORD,
    RECORDER,
    events,
    forgot,
    login,
    register,
    settled,
    signed_up,
)
from lyo_auth.api import reset_link
from quart import Blueprint

from kernel import Settings, create_app
from kernel.testing import make_plugin, serve

WRONG = "wrong-password-123"


def at(address: str) -> dict[str, Any]:
    """Test-client keyword arguments for a request from ``address``."""
    return {"scope_base": {"client": (address, 40000)}}


async def sign_in(client: Any, email: str, password: str, address: str) -> int:
    body = {"email": email, "password": password}
    return int((await client.post("/api/auth/login", json=body, **at(address))).status_code)


async def burst(settings: Settings, plugins: list[object], bodies: list[dict[str, str]]) -> Counter:
    """Register ada, then send every body to /login at once through a real server;
    the statuses counted."""
    app = create_app(settings, plugins, discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=120) as client:
        created = await client.post(
            "/api/auth/register",
            json={"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada"},
        )
        assert created.status_code == 201, created.text
        answers = await asyncio.gather(*(client.post("/api/auth/login", json=b) for b in bodies))
    return Counter(a.status_code for a in answers)


async def test_a_parallel_burst_gets_no_more_guesses_than_the_account_limit(
    lyo_settings: Settings, lyo_plugins: list[object]
) -> None:
    """29 wrong passwords and the right one at once, for one account from one address:
    each attempt is counted before its verify, so at most the limit's 5 failures are
    verified (and the right one, whose slot is handed back); the rest are 429. Counting
    after the verify let every one of them through."""
    bodies = [{"email": "ada@example.com", "password": f"{WRONG}-{n}"} for n in range(29)]
    bodies.insert(15, {"email": "ada@example.com", "password": PASSWORD})
    statuses = await burst(lyo_settings, lyo_plugins, bodies)
    assert statuses[401] <= 5 and statuses[200] <= 1, statuses
    assert statuses[429] >= 24, statuses
    assert set(statuses) <= {200, 401, 429}, statuses


@pytest.mark.auth_settings(LOGIN_IP_LIMIT="5/15 minutes")
async def test_a_parallel_burst_gets_no_more_guesses_than_the_address_limit(
    lyo_settings: Settings, lyo_plugins: list[object]
) -> None:
    """Password spraying in one burst: 30 accounts at once from one address."""
    bodies = [{"email": f"user{n}@example.com", "password": WRONG} for n in range(30)]
    statuses = await burst(lyo_settings, lyo_plugins, bodies)
    assert statuses[401] <= 5 and statuses[429] >= 25, statuses


@pytest.mark.auth_settings(LOGIN_ACCOUNT_LIMIT="3/15 minutes")
async def test_an_attacker_cannot_lock_the_owner_out_from_elsewhere(lyo_client: Any) -> None:
    """Hammering ada from address A locks A out of ada (even with the right password),
    and nobody else: ada signs in from B."""
    await register(lyo_client, "ada@example.com")
    attacker, owner = "198.51.100.66", "203.0.113.10"
    tries = [await sign_in(lyo_client, "ada@example.com", WRONG, attacker) for _ in range(5)]
    assert tries == [401, 401, 401, 429, 429]
    assert await sign_in(lyo_client, "ada@example.com", PASSWORD, attacker) == 429
    assert await sign_in(lyo_client, "ada@example.com", PASSWORD, owner) == 200
    assert await sign_in(lyo_client, "ada@example.com", WRONG, owner) == 401  # B's own count
    assert await sign_in(lyo_client, "ada@example.com", PASSWORD, attacker) == 429


@pytest.mark.auth_settings(LOGIN_ACCOUNT_LIMIT="3/15 minutes", LOGIN_ACCOUNT_CEILING="4/hour")
async def test_the_account_ceiling_closes_new_addresses_only(lyo_client: Any) -> None:
    """Failures from many addresses (a distributed attack) close the account to
    addresses it has never signed in from; the owner's known address still works, and a
    password reset lifts the ceiling."""
    await register(lyo_client, "ada@example.com")
    home = "203.0.113.10"
    assert await sign_in(lyo_client, "ada@example.com", PASSWORD, home) == 200
    for n in range(4):
        assert await sign_in(lyo_client, "ada@example.com", WRONG, f"198.51.100.{n}") == 401
    locked = await lyo_client.post(
        "/api/auth/login",
        json={"email": "ada@example.com", "password": PASSWORD},
        **at("192.0.2.1"),
    )
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "signed in to it before" in (await locked.get_json())["detail"]
    assert await sign_in(lyo_client, "ada@example.com", PASSWORD, home) == 200

    await forgot(lyo_client, "ada@example.com", **at(home))
    [event] = events("auth.password_reset_requested.v1")
    new_password = "a-brand-new-passphrase-42"
    reset = await lyo_client.post(
        "/api/auth/password/reset",
        json={
            "token": (await reset_link(event.payload["reset_id"])).token,
            "new_password": new_password,
        },
    )
    assert reset.status_code == 204
    assert await sign_in(lyo_client, "ada@example.com", new_password, "192.0.2.1") == 200


@pytest.mark.auth_settings(LOGIN_IP_LIMIT="3/15 minutes")
async def test_a_crowd_behind_one_address_is_not_locked_out_by_its_address(
    lyo_client: Any,
) -> None:
    """A school behind one NAT address: failures over many accounts close the address
    to accounts that never signed in from it (spraying), not to those that did."""
    school = "192.0.2.50"
    await register(lyo_client, "ada@example.com")
    await register(lyo_client, "bob@example.com", name="Bob")
    assert await sign_in(lyo_client, "ada@example.com", PASSWORD, school) == 200
    for n in range(3):
        assert await sign_in(lyo_client, f"user{n}@example.com", WRONG, school) == 401
    assert await sign_in(lyo_client, "bob@example.com", PASSWORD, school) == 429
    assert await sign_in(lyo_client, "ada@example.com", PASSWORD, school) == 200
    assert await sign_in(lyo_client, "bob@example.com", PASSWORD, "203.0.113.7") == 200


async def test_forgot_answers_before_doing_any_work(lyo_client: Any) -> None:
    """The 202 leaves before the account is even looked up, so its timing cannot tell
    a known address from an unknown one: here the reset's event is held back, and the
    answer still comes (it used to wait for the token, its row and its event)."""
    await register(lyo_client, "ada@example.com")
    hold = RECORDER.hold("auth.password_reset_requested.v1")
    answer = await asyncio.wait_for(
        lyo_client.post("/api/auth/password/forgot", json={"email": "ada@example.com"}), 30
    )
    assert answer.status_code == 202
    assert events("auth.password_reset_requested.v1") == []
    hold.set()
    await settled(lyo_client)
    [event] = events("auth.password_reset_requested.v1")
    assert event.payload["email"] == "ada@example.com"


@pytest.mark.auth_settings(FORGOT_LIMIT="2/hour", FORGOT_ACCOUNT_LIMIT="5/hour")
async def test_one_address_cannot_use_up_an_accounts_reset_quota(lyo_client: Any) -> None:
    await register(lyo_client, "ada@example.com")
    attacker, owner = "198.51.100.66", "203.0.113.10"
    for _ in range(4):
        await forgot(lyo_client, "ada@example.com", **at(attacker))
    assert len(events("auth.password_reset_requested.v1")) == 2
    await forgot(lyo_client, "ada@example.com", **at(owner))
    assert len(events("auth.password_reset_requested.v1")) == 3
    # the account-wide ceiling still bounds the mail any number of addresses can cause
    for n in range(4):
        await forgot(lyo_client, "ada@example.com", **at(f"192.0.2.{n}"))
    assert len(events("auth.password_reset_requested.v1")) == 5


async def test_a_new_reset_token_supersedes_the_older_ones(lyo_client: Any) -> None:
    await register(lyo_client, "ada@example.com")
    await forgot(lyo_client, "ada@example.com")
    [first] = events("auth.password_reset_requested.v1")
    mailed = (await reset_link(first.payload["reset_id"])).token
    again = (await reset_link(first.payload["reset_id"])).token  # a redelivered mail
    await forgot(lyo_client, "ada@example.com")
    second = events("auth.password_reset_requested.v1")[1]
    assert await reset_link(first.payload["reset_id"]) is None  # superseded
    newer = (await reset_link(second.payload["reset_id"])).token
    new_password = "a-brand-new-passphrase-42"
    for older in (mailed, again):  # a second mint replaces the first; both superseded
        stale = await lyo_client.post(
            "/api/auth/password/reset", json={"token": older, "new_password": new_password}
        )
        assert stale.status_code == 422
    fresh = await lyo_client.post(
        "/api/auth/password/reset", json={"token": newer, "new_password": new_password}
    )
    assert fresh.status_code == 204
    await login(lyo_client, "ada@example.com", new_password)


async def test_token_answers_are_never_cached(lyo_client: Any) -> None:
    pair = await signed_up(lyo_client, "ada@example.com")
    signed_in = await lyo_client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    refreshed = await lyo_client.post(
        "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    for answer in (signed_in, refreshed):
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Pragma"] == "no-cache"


stall_routes = Blueprint("stall", __name__)


@stall_routes.get("/stall")
async def stall() -> dict[str, Any]:
    time.sleep(0.8)  # noqa: ASYNC251 - a request holding the event loop (CPU-heavy work)
    return {}


async def test_a_stalled_event_loop_does_not_open_the_lock(
    lyo_settings: Settings, lyo_plugins: list[object]
) -> None:
    """Once an account is locked for an address, guesses sent while another request
    holds the server's event loop for longer than the limits' Redis timeout are still
    refused: a reply that arrived during the stall counts, it is not an outage. (Bounding
    the calls with ``asyncio.timeout`` instead of the socket timeout let 4-8 of every 100
    such guesses reach the password check.)"""
    plugin = make_plugin("stall", blueprints=lambda kernel: [stall_routes])
    app = create_app(lyo_settings, [*lyo_plugins, plugin], discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=120) as client:
        created = await client.post(
            "/api/auth/register",
            json={"email": "ada@example.com", "password": PASSWORD, "display_name": "Ada"},
        )
        assert created.status_code == 201, created.text
        for n in range(6):
            body = {"email": "ada@example.com", "password": f"{WRONG}-{n}"}
            await client.post("/api/auth/login", json=body)
        statuses: Counter = Counter()

        async def guess(n: int) -> int:
            await asyncio.sleep(n * 0.002)
            body = {"email": "ada@example.com", "password": f"guess-{n}"}
            return int((await client.post("/api/auth/login", json=body)).status_code)

        async def hold_the_loop() -> None:
            await asyncio.sleep(0.01)
            assert (await client.get("/api/stall/stall")).status_code == 200

        for _ in range(5):
            _, *answers = await asyncio.gather(hold_the_loop(), *(guess(n) for n in range(20)))
            statuses.update(answers)
    assert statuses == Counter({429: 100}), statuses
