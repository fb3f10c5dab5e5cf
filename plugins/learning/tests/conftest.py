"""Fixtures for the learning plugin's tests: the plugin, an authenticator with fixed
tokens (``kernel.testing.token_plugin``: the plugin ``needs=("authenticate",)``, not
``auth`` by name) and a recorder of the events the plugin publishes.

Test modules are named ``test_learning_*`` so that they never clash with other plugins'
test modules when several plugins' tests run in one pytest session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from learning_support import DURABLE, RECORDER, auth_standin
from lyo_learning import plugin as learning


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's LYO_* variables never leak into these tests."""
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _fresh_events() -> Iterator[None]:
    RECORDER.clear()
    DURABLE.clear()
    yield
    RECORDER.clear()
    DURABLE.clear()


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [auth_standin(), learning, RECORDER, DURABLE]
