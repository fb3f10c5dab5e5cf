"""Fixtures for the gamification plugin's tests: this plugin, signed-in identities
without an auth plugin, and (tox's pg cells) PostgreSQL with Redis and a real worker."""

from __future__ import annotations

import os

import pytest
from gam_support import TOKENS, recorder
from lyo_gamification import plugin as gamification
from lyo_gamification.rules import RuleSet, install

from kernel.testing import test_redis_url, token_plugin


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)
    recorder.PUBLISHED.clear()
    yield
    install(RuleSet.load())


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [gamification, token_plugin(TOKENS), recorder.plugin]


@pytest.fixture
def lyo_redis_url() -> str | None:
    return test_redis_url()
