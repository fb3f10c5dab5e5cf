"""Fixtures for the auth plugin's tests: the kernel's pytest plugin (kernel.testing) gives
the app, client and server; this file picks the plugins and the settings.

``LYO_TEST_DATABASE=postgres`` runs on a fresh PostgreSQL database per test (with the
plugin's migrations applied); ``LYO_TEST_REDIS=redis://...`` puts the cache, the
revocation list and the rate limits in Redis under a prefix unique to the test.
``@pytest.mark.auth_settings(LOGIN_ACCOUNT_LIMIT="3/minute")`` sets ``LYO_AUTH__*``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from authhelpers import RECORDER, guarded_plugin
from lyo_auth import plugin as auth

from kernel import Settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "auth_settings(**values): LYO_AUTH__* for this test")


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """A developer's LYO_* variables never leak in; a test's auth_settings marker does."""
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LYO_DATABASE_URL", "sqlite://:memory:")
    marker = request.node.get_closest_marker("auth_settings")
    for key, value in (marker.kwargs if marker else {}).items():
        monkeypatch.setenv(f"LYO_AUTH__{key.upper()}", str(value))


@pytest.fixture(autouse=True)
def _recorded() -> Iterator[None]:
    RECORDER.clear()
    yield
    RECORDER.clear()


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [auth, RECORDER, guarded_plugin]


@pytest.fixture
def redis_prefix() -> str:
    return f"lyo-test-auth-{uuid.uuid4().hex[:12]}"


@pytest_asyncio.fixture
async def lyo_settings(
    lyo_database_url: str, redis_prefix: str, tmp_path: Any
) -> AsyncIterator[Settings]:
    redis_url = os.environ.get("LYO_TEST_REDIS") or None
    yield Settings(
        env="test",
        database_url=lyo_database_url,
        access_log=False,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        media_root=str(tmp_path / "media"),
    )
    if redis_url:
        await _drop_redis_keys(redis_url, redis_prefix)


async def _drop_redis_keys(url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.unlink(*keys)
    finally:
        await client.aclose()
