"""The plugin as installed: `lyo auth create-admin`, settings checked at start-up, the
migration's CHECK constraints on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from authhelpers import PASSWORD, bearer, login
from lyo_auth import plugin as auth

from kernel import ConfigError, Settings, create_app
from kernel import testing as lyo_testing


def lyo(
    *args: str, database_url: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYO_")}
    env.update(LYO_ENV="test", LYO_DATABASE_URL=database_url, LYO_PLUGINS__ENABLED="auth")
    return subprocess.run(
        [sys.executable, "-m", "kernel", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_database(lyo_database_url: str, tmp_path: Any) -> str:
    """A database the command's process and the test both see (not in-memory SQLite)."""
    if lyo_database_url.startswith("sqlite"):
        return f"sqlite://{tmp_path}/cli.sqlite3"
    return lyo_database_url


async def test_create_admin(cli_database: str, lyo_settings: Settings) -> None:
    missing = lyo("auth", "create-admin", "root@example.com", database_url=cli_database)
    assert missing.returncode == 1
    assert "pass --password" in missing.stderr

    weak = lyo(
        "auth", "create-admin", "root@example.com", "--password", "short", database_url=cli_database
    )
    assert weak.returncode == 1 and "at least 12 characters" in weak.stderr

    created = lyo(
        "auth",
        "create-admin",
        "Root@Example.com",
        "--password",
        PASSWORD,
        database_url=cli_database,
    )
    assert created.returncode == 0, created.stderr
    assert "created root@example.com" in created.stdout
    assert "now has role 'admin'" in created.stdout

    prompted = lyo(
        "auth",
        "create-admin",
        "second@example.com",
        "--password",
        database_url=cli_database,
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.returncode == 0, prompted.stderr

    exists = lyo(
        "auth",
        "create-admin",
        "root@example.com",
        "--password",
        PASSWORD,
        database_url=cli_database,
    )
    assert exists.returncode == 1 and "already has an account" in exists.stderr
    again = lyo("auth", "create-admin", "root@example.com", database_url=cli_database)
    assert again.returncode == 0, again.stderr  # making an admin an admin is harmless

    settings = lyo_settings.model_copy(update={"database_url": cli_database})
    app = create_app(settings, [auth], discover=False)
    async with app.test_app():
        client = app.test_client()
        for email in ("root@example.com", "second@example.com"):
            pair = await login(client, email)
            me = await client.get("/api/auth/me", headers=bearer(pair["access_token"]))
            assert "admin" in (await me.get_json())["roles"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LYO_AUTH__DEFAULT_ROLES", "wizard", "not defined in 'roles'"),
        ("LYO_AUTH__ALGORITHM", "RS256", "needs private_key"),
        ("LYO_AUTH__ALGORITHM", "none", "LYO_AUTH__ALGORITHM"),
        ("LYO_AUTH__LOGIN_ACCOUNT_LIMIT", "lots", "is not a rate"),
        ("LYO_AUTH__ROLES", '{"Bad Role": []}', "role name"),
    ],
    ids=["unknown-default-role", "rs256-without-key", "alg-none", "bad-rate", "bad-role-name"],
)
def test_bad_settings_stop_start_up(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        create_app(Settings(env="test", database_url="sqlite://:memory:"), [auth], discover=False)


@pytest.mark.skipif(
    lyo_testing.test_database_kind() != "postgres",
    reason="migrations target PostgreSQL (LYO_TEST_DATABASE)",
)
async def test_migration_check_constraints(lyo_app: Any) -> None:
    from tortoise.exceptions import IntegrityError

    connection = lyo_app.kernel.db.connection()
    insert = (
        'INSERT INTO "auth_user" (id, email, password_hash, display_name, bio, timezone, '
        "locale, preferences, is_active, created_at, updated_at) VALUES "
        "(gen_random_uuid(), $1, 'x', $2, '', 'UTC', 'en', '{}', true, now(), now())"
    )
    with pytest.raises(IntegrityError, match="auth_user_email_normalized"):
        await connection.execute_query(insert, ["Upper@Example.com", "Ada"])
    with pytest.raises(IntegrityError, match="auth_user_display_name_length"):
        await connection.execute_query(insert, ["ada@example.com", ""])
    await connection.execute_query(insert, ["ada@example.com", "Ada"])


async def test_openapi_documents_the_routes(lyo_client: Any) -> None:
    spec = await (await lyo_client.get("/openapi.json")).get_json()
    paths = spec["paths"]
    assert "201" in paths["/api/auth/register"]["post"]["responses"]
    me = paths["/api/auth/me"]["get"]
    assert me["security"] == [{"bearer": []}] and "401" in me["responses"]
    admin = paths["/api/users"]["get"]
    assert {"401", "403"} <= set(admin["responses"])
    avatar = paths["/api/users/me/avatar"]["put"]["requestBody"]["content"]
    assert "multipart/form-data" in avatar


async def test_openapi_declares_the_problems_each_route_answers(lyo_client: Any) -> None:
    paths = (await (await lyo_client.get("/openapi.json")).get_json())["paths"]
    declared = {
        ("post", "/api/auth/register"): {"409", "429"},
        ("post", "/api/auth/login"): {"401", "429"},
        ("post", "/api/auth/refresh"): {"401"},
        ("post", "/api/auth/password"): {"429"},
        ("put", "/api/users/me/avatar"): {"415"},
        ("post", "/api/users/{user_id}/deactivate"): {"409"},
    }
    for (method, path), statuses in declared.items():
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (method, path)
        for status in statuses:
            assert "application/problem+json" in responses[status]["content"]


async def test_rate_limits_fail_open_when_redis_is_down() -> None:
    """A Redis outage must not lock everyone out: limits are skipped, the plugin is
    marked degraded, and it recovers by itself."""
    from lyo_auth.throttle import Throttle, create_storage

    storage, pool = create_storage("redis://127.0.0.1:1/0", "down")
    reasons: list[str | None] = []
    throttle = Throttle(storage, reasons.append, pool)
    try:
        for _ in range(3):  # never a 429; nothing counted, so nothing to give back
            assert not await throttle.take("1/minute", "login-ip", "10.0.0.1", detail="locked")
        await throttle.give_back("1/minute", "login-ip", "10.0.0.1")
        assert await throttle.allow("1/minute", "forgot", "x")
        assert await throttle.allow("1/minute", "forgot", "x")
    finally:
        await throttle.close()
    assert reasons and all(r and "unavailable" in r for r in reasons)


@pytest.mark.parametrize("first_user_admin", [True, False])
async def test_the_first_account_in_development_is_an_admin(
    lyo_settings: Settings, monkeypatch: pytest.MonkeyPatch, first_user_admin: bool
) -> None:
    """A newcomer on the quick start can create courses without configuring anything;
    only in development, only the first account, and it can be turned off."""
    monkeypatch.setenv("LYO_AUTH__FIRST_USER_ADMIN", str(first_user_admin).lower())
    settings = lyo_settings.model_copy(update={"env": "development"})
    app = create_app(settings, [auth], discover=False)
    async with app.test_app():
        client = app.test_client()
        roles = []
        for email in ("first@example.com", "second@example.com"):
            body = {"email": email, "password": "correct horse battery staple"}
            response = await client.post("/api/auth/register", json={**body, "display_name": "A"})
            assert response.status_code == 201
            roles.append(sorted((await response.get_json())["roles"]))
    first = ["admin", "learner"] if first_user_admin else ["learner"]
    assert roles == [first, ["learner"]]


async def test_the_first_account_outside_development_is_not_an_admin(lyo_client: Any) -> None:
    body = {"email": "first@example.com", "password": "correct horse battery staple"}
    response = await lyo_client.post("/api/auth/register", json={**body, "display_name": "A"})
    assert (await response.get_json())["roles"] == ["learner"]
