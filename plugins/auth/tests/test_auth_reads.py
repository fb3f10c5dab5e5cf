"""The authenticated read path: tokens verified once per process (``lyo_auth.verified``),
``/api/auth/whoami``, and ``/api/auth/me`` from the cache, never stale after a write
through the API; revocation across processes, with and without the hub's message."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from authhelpers import PASSWORD, bearer, login, make_admin, signed_up
from lyo_auth.services import services
from pydantic import SecretStr

from kernel import Settings
from kernel.testing import free_port, wait_until_ready

SECRET = "test-reads-" + "s" * 40  # shared by the processes of a test: one token key


@pytest.fixture
def lyo_settings(lyo_settings: Settings) -> Settings:
    """conftest's settings, with a token key the test's processes share."""
    return lyo_settings.model_copy(update={"secret_key": SecretStr(SECRET)})


async def test_whoami_answers_from_the_token_check(lyo_app: Any, lyo_client: Any) -> None:
    assert (await lyo_client.get("/api/auth/whoami")).status_code == 401
    pair = await signed_up(lyo_client, "ada@example.com")
    headers = bearer(pair["access_token"])
    first = await lyo_client.get("/api/auth/whoami", headers=headers)
    assert first.status_code == 200
    body = await first.get_json()
    me = await (await lyo_client.get("/api/auth/me", headers=headers)).get_json()
    assert body["id"] == me["id"] and body["roles"] == ["learner"]
    assert body["permissions"] == me["permissions"] and body["expires_at"]
    # verified once, then taken from this process's cache
    assert services().verified.get(pair["access_token"]) is not None
    assert (await lyo_client.get("/api/auth/whoami", headers=headers)).status_code == 200
    tampered = pair["access_token"][:-2] + ("AA" if pair["access_token"][-2:] != "AA" else "BB")
    assert (await lyo_client.get("/api/auth/whoami", headers=bearer(tampered))).status_code == 401


async def test_revocation_is_immediate_in_the_process(lyo_app: Any, lyo_client: Any) -> None:
    pair = await signed_up(lyo_client, "ada@example.com")
    headers = bearer(pair["access_token"])
    for path in ("/api/auth/whoami", "/api/auth/me"):  # both cached now
        assert (await lyo_client.get(path, headers=headers)).status_code == 200
    assert (await lyo_client.post("/api/auth/logout", headers=headers)).status_code == 204
    for path in ("/api/auth/whoami", "/api/auth/me"):
        assert (await lyo_client.get(path, headers=headers)).status_code == 401
    # deactivation, by an administrator
    other = await signed_up(lyo_client, "bob@example.com")
    await signed_up(lyo_client, "root@example.com")
    await make_admin(lyo_app, "root@example.com")
    admin = bearer((await login(lyo_client, "root@example.com"))["access_token"])
    bob = bearer(other["access_token"])
    bob_id = (await (await lyo_client.get("/api/auth/me", headers=bob)).get_json())["id"]
    answer = await lyo_client.post(f"/api/users/{bob_id}/deactivate", headers=admin)
    assert answer.status_code == 200
    assert (await lyo_client.get("/api/auth/whoami", headers=bob)).status_code == 401


async def ada_and_admin(lyo_app: Any, lyo_client: Any) -> tuple[Any, Any, dict[str, Any]]:
    """Ada (a learner) and an admin signed in: their headers, and Ada's ``/me``."""
    pair = await signed_up(lyo_client, "ada@example.com")
    await signed_up(lyo_client, "root@example.com")
    await make_admin(lyo_app, "root@example.com")
    admin = bearer((await login(lyo_client, "root@example.com"))["access_token"])
    ada = bearer(pair["access_token"])
    me = await (await lyo_client.get("/api/auth/me", headers=ada)).get_json()
    return ada, admin, me


async def test_role_changes_and_profile_updates_are_read_at_once(
    lyo_app: Any, lyo_client: Any
) -> None:
    ada, admin, me = await ada_and_admin(lyo_app, lyo_client)
    assert me["roles"] == ["learner"] and me["display_name"] == "Ada"
    assert (await lyo_client.put(f"/api/users/{me['id']}/roles/instructor", headers=admin)).is_json
    after = await (await lyo_client.get("/api/auth/me", headers=ada)).get_json()
    assert after["roles"] == ["instructor", "learner"]
    assert "guarded:write" in after["permissions"]
    assert (await lyo_client.get("/api/guarded/write", headers=ada)).status_code == 200
    await lyo_client.delete(f"/api/users/{me['id']}/roles/instructor", headers=admin)
    assert (await lyo_client.get("/api/guarded/write", headers=ada)).status_code == 403
    whoami = await (await lyo_client.get("/api/auth/whoami", headers=ada)).get_json()
    assert whoami["roles"] == ["learner"]
    patch = {"display_name": "Ada L.", "timezone": "Europe/London", "locale": "en-GB"}
    assert (await lyo_client.patch("/api/users/me/profile", json=patch, headers=ada)).is_json
    after = await (await lyo_client.get("/api/auth/me", headers=ada)).get_json()
    assert {k: after[k] for k in patch} == patch
    assert after["email"] == "ada@example.com" and after["created_at"] == me["created_at"]


async def test_a_read_racing_a_profile_update_cannot_keep_old_fields(
    lyo_app: Any, lyo_client: Any
) -> None:
    from lyo_auth import later, users

    ada = bearer((await signed_up(lyo_client, "ada@example.com"))["access_token"])
    me = await (await lyo_client.get("/api/auth/me", headers=ada)).get_json()
    patch = {"display_name": "Ada L."}
    assert (await lyo_client.patch("/api/users/me/profile", json=patch, headers=ada)).is_json
    # a read that missed before the commit stores what it read, after the commit's drop
    stale = {k: me[k] for k in ("id", "email", "display_name", "locale", "timezone")}
    lyo_app.kernel.activate()
    await users.plugin.cache.set(f"account:{me['id']}", {**stale, "created_at": me["created_at"]})
    await asyncio.sleep(later.RACE_WINDOW + 0.5)
    after = await (await lyo_client.get("/api/auth/me", headers=ada)).get_json()
    assert after["display_name"] == "Ada L."


async def test_a_check_racing_a_role_removal_cannot_keep_the_old_role(
    lyo_app: Any, lyo_client: Any
) -> None:
    import jwt
    from lyo_auth import later, users

    ada, admin, me = await ada_and_admin(lyo_app, lyo_client)
    assert (await lyo_client.put(f"/api/users/{me['id']}/roles/instructor", headers=admin)).is_json
    assert (await lyo_client.get("/api/guarded/write", headers=ada)).status_code == 200
    await lyo_client.delete(f"/api/users/{me['id']}/roles/instructor", headers=admin)
    # a check that read the session before the removal stores the old roles after it
    token = ada["Authorization"].removeprefix("Bearer ")
    sid = jwt.decode(token, options={"verify_signature": False})["sid"]
    lyo_app.kernel.activate()
    old = {"user": me["id"], "valid": True, "roles": ["instructor", "learner"]}
    await users.plugin.cache.set(f"state:{sid}", old)
    await asyncio.sleep(later.RACE_WINDOW + 0.5)
    assert (await lyo_client.get("/api/guarded/write", headers=ada)).status_code == 403


# -- two processes sharing PostgreSQL and Redis -------------------------------------------


@pytest.fixture
def other_process(lyo_settings: Settings, lyo_app: Any, tmp_path: Path) -> Any:
    """A second API process (``python -m kernel serve``) on this test's database and Redis
    prefix, trusting verified tokens for 3 s; its base URL."""
    if not lyo_settings.redis_url or not lyo_settings.database_url.startswith("postgres"):
        pytest.skip("two processes share a database and revocations only on PostgreSQL+Redis")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": lyo_settings.database_url,
        "LYO_REDIS_URL": lyo_settings.redis_url,
        "LYO_REDIS_PREFIX": lyo_settings.redis_prefix,
        "LYO_SECRET_KEY": SECRET,
        "LYO_PLUGINS__ENABLED": "auth",
        "LYO_LOG_LEVEL": "WARNING",
        "LYO_AUTH__TOKEN_CACHE_TTL": "3",
    }
    log = tmp_path / "other.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kernel", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_ready(url, proc, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


async def _until_401(client: httpx.AsyncClient, token: str, limit: float) -> float:
    """Seconds until ``/api/auth/whoami`` refuses ``token`` (fails after ``limit``)."""
    started = time.monotonic()
    while (answer := await client.get("/api/auth/whoami", headers=bearer(token))).is_success:
        assert time.monotonic() - started < limit, "the revocation was not noticed in time"
        await asyncio.sleep(0.02)
    assert answer.status_code == 401
    return time.monotonic() - started


@pytest.mark.auth_settings(TOKEN_CACHE_TTL="3")
async def test_revocation_reaches_another_process(
    lyo_app: Any, lyo_client: Any, other_process: str
) -> None:
    pair = await signed_up(lyo_client, "ada@example.com")
    headers = bearer(pair["access_token"])
    async with httpx.AsyncClient(base_url=other_process, timeout=10) as there:
        # signed out here: the hub tells the other process, long before its 3 s run out
        assert (await there.get("/api/auth/whoami", headers=headers)).status_code == 200
        assert (await lyo_client.post("/api/auth/logout", headers=headers)).status_code == 204
        assert await _until_401(there, pair["access_token"], limit=2.5) < 2.5

        # a profile written here is read there at once (the shared cache was cleared)
        pair = await login(lyo_client, "ada@example.com", PASSWORD)
        headers = bearer(pair["access_token"])
        assert (await there.get("/api/auth/me", headers=headers)).json()["display_name"] == "Ada"
        patch = {"display_name": "Ada L."}
        written = await lyo_client.patch("/api/users/me/profile", json=patch, headers=headers)
        assert written.status_code == 200
        assert (await there.get("/api/auth/me", headers=headers)).json()["display_name"] == "Ada L."

        # the message lost: the revocation list written without it (as when pub/sub drops
        # it); the other process trusts its verified token until its TTL runs out
        assert (await there.get("/api/auth/whoami", headers=headers)).status_code == 200
        cached_at = time.monotonic()
        sid = services().tokens.decode(pair["access_token"], "access")["sid"]
        await lyo_app.kernel.cache.for_plugin("auth").set(f"revoked:sid:{sid}", True, ttl=60)
        assert (await there.get("/api/auth/whoami", headers=headers)).status_code == 200
        await _until_401(there, pair["access_token"], limit=3 + 2)
        assert time.monotonic() - cached_at < 3 + 2


def test_verified_tokens_are_bounded_and_never_restored_by_a_late_check() -> None:
    from lyo_auth.verified import VerifiedTokens

    from kernel import Identity

    def claims(n: int) -> dict[str, Any]:
        return {"sid": f"s{n}", "jti": f"j{n}", "exp": time.time() + 60}

    verified = VerifiedTokens(ttl=60, max_entries=2)
    for n in range(3):
        verified.put(f"t{n}", Identity(id=str(n), kind="user"), claims(n), 0, verified.generation)
    assert len(verified) == 2 and verified.get("t0") is None  # the oldest went
    # a check that began before an invalidation stores nothing
    began = verified.generation
    verified.heard({"sids": ["s1"]})
    assert verified.get("t1") is None and verified.get("t2") is not None
    verified.put("t1", Identity(id="1", kind="user"), claims(1), 0, began)
    assert verified.get("t1") is None
    verified.heard({"jtis": ["j2"]})
    assert verified.get("t2") is None
    # an expired token is never served, whatever the TTL
    verified.put("old", Identity(id="9", kind="user"), {**claims(9), "exp": time.time() - 1}, 0,
                 verified.generation)  # fmt: skip
    assert verified.get("old") is None
