"""Whether generation is available comes from the processes that run generations (their
heartbeats through the kernel cache, Redis here), never from the API process's own
packages: the API process of these tests has no torch, and has a generator installed
that it must not count (it consumes no queue)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import ai_fake_model
import pytest
from lyo_ai import plugin as ai
from lyo_auth import plugin as auth_plugin
from lyo_learning import plugin as learning

from kernel.testing import temporary_database

BODY = {"topic": "Tide pools", "lesson_count": 1}
ACCOUNT = {"email": "ada@example.com", "password": "correct horse battery staple"}


@pytest.fixture
async def lyo_database_url() -> AsyncIterator[str]:
    """Workers are other processes: PostgreSQL on SQLite runs too."""
    async with temporary_database() as url:
        yield url


@pytest.fixture
def lyo_redis_url() -> str:
    return os.environ.get("LYO_TEST_REDIS") or "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def _instructors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_AUTH__DEFAULT_ROLES", "learner,instructor")


async def _token(client: Any) -> dict[str, str]:
    response = await client.post("/api/auth/register", json={**ACCOUNT, "display_name": "Ada"})
    assert response.status_code == 201, await response.get_data()
    response = await client.post("/api/auth/login", json=ACCOUNT)
    return {"Authorization": f"Bearer {(await response.get_json())['access_token']}"}


async def _request_until(
    client: Any, headers: dict[str, str], done: Callable[[int, str], bool]
) -> tuple[int, Any]:
    """POST until ``done(status, text)`` (the worker beats at start-up, then every
    interval), or a generous minute has passed; the last answer."""
    deadline = time.monotonic() + 60
    while True:
        response = await client.post("/api/ai/courses", json=BODY, headers=headers)
        text = (await response.get_data()).decode()
        if done(response.status_code, text) or time.monotonic() > deadline:
            return response.status_code, await response.get_json()
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("lyo_plugins", [[auth_plugin, learning, ai]])
async def test_no_worker_means_503_with_the_reason(lyo_client: Any) -> None:
    response = await lyo_client.post("/api/ai/courses", json=BODY, headers=await _token(lyo_client))
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("application/problem+json")
    detail = (await response.get_json())["detail"]
    assert "no worker has reported" in detail and "lyo worker" in detail, detail
    plugins = await (await lyo_client.get("/-/plugins")).get_json()
    entries = plugins if isinstance(plugins, list) else plugins["plugins"]
    [entry] = [p for p in entries if p["name"] == "ai"]
    assert entry["state"] == "active" and not entry["degraded"]  # nothing to fix here


@pytest.mark.skipif(
    importlib.util.find_spec("transformers") is not None,
    reason="needs an environment without the model runtime (tox's test environments)",
)
@pytest.mark.parametrize("lyo_plugins", [[auth_plugin, learning, ai]])
async def test_a_worker_without_the_runtime_gives_its_reason(
    lyo_client: Any, lyo_worker: None
) -> None:
    status, body = await _request_until(
        lyo_client, await _token(lyo_client), lambda status, text: "no worker can" in text
    )
    assert status == 503
    detail = body["detail"]
    # the worker's own finding (this environment has no torch), not a guess of the API's
    assert detail.startswith("Course generation is unavailable: no worker can generate"), detail
    assert "torch is not installed" in detail or "not installed" in detail, detail


@pytest.mark.parametrize("lyo_plugins", [[auth_plugin, learning, ai_fake_model, ai]])
async def test_a_worker_with_a_model_means_202_and_it_generates(
    lyo_client: Any, lyo_worker: None
) -> None:
    headers = await _token(lyo_client)
    status, accepted = await _request_until(lyo_client, headers, lambda status, _: status == 202)
    assert status == 202, accepted
    deadline = time.monotonic() + 60
    while True:  # the worker generates it (with its stand-in model)
        run = await (await lyo_client.get(accepted["status_url"], headers=headers)).get_json()
        if run["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert run["status"] == "succeeded", run
