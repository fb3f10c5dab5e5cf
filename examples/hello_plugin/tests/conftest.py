"""The kernel's pytest plugin (kernel.testing) gives lyo_app, lyo_client and lyo_server;
choosing the plugins under test is most of what a plugin author's conftest does.

By default everything runs in-process: SQLite in memory, the in-memory broker (tasks
and event deliveries run inside the app). With ``LYO_TEST_DATABASE=postgres`` and
``LYO_TEST_REDIS=redis://...`` (tox's ``pg`` cells) each test gets a fresh PostgreSQL
database with the migrations applied, tasks go through Redis streams to a real
``lyo worker`` (the ``lyo_worker`` fixture) and websocket messages through Redis pub/sub.
"""

from __future__ import annotations

import os

import pytest
from lyo_hello import plugin as hello

from kernel import Identity
from kernel.testing import test_redis_url, token_plugin

greeter = Identity(id="ada", permissions=frozenset({"hello:greet"}), kind="user")
coach = Identity(id="grace", permissions=frozenset({"hello:cheer"}), kind="user")
TOKENS = {"ada-token": greeter, "grace-token": coach}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's LYO_* variables never leak in; ad-hoc Settings() stay in memory."""
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LYO_DATABASE_URL", "sqlite://:memory:")


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [hello, token_plugin(TOKENS)]


@pytest.fixture
def lyo_redis_url() -> str | None:
    """Redis when the suite runs on PostgreSQL with ``LYO_TEST_REDIS`` (tasks then run
    in the kernel's ``lyo_worker`` fixture, a real ``lyo worker``)."""
    return test_redis_url()
