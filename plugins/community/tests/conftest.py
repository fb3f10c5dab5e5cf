"""Fixtures for the community plugin's tests: the plugin, fixed-token identities and a
recorder of committed events. Test modules are named ``test_community_*``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from community_support import PUBLISHED, event_recorder, tokens_plugin
from lyo_community import plugin as community

from kernel.testing import test_redis_url


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _fresh_events() -> Iterator[None]:
    PUBLISHED.clear()
    yield
    PUBLISHED.clear()


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [tokens_plugin(), community, event_recorder]


@pytest.fixture
def lyo_redis_url() -> str | None:
    """Redis (``LYO_TEST_REDIS``) when the suite runs on PostgreSQL: the rate limits,
    view counters and websocket fan-out then go through it, as in production."""
    return test_redis_url()
