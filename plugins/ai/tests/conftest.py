"""Fixtures for the ai plugin's tests: an ``auth`` stand-in, the learning plugin, this
plugin with a fake generator installed (no model), and a private model cache."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ai_support import RECORDER, FakeGenerator, auth_standin
from lyo_ai import plugin as ai
from lyo_ai.workers import RUNNER
from lyo_learning import plugin as learning


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's LYO_* variables never leak into these tests; the cache is private."""
    for name in list(os.environ):
        if name.startswith("LYO_") and not name.startswith("LYO_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LYO_AI__CACHE_DIR", str(tmp_path / "ai-cache"))


@pytest.fixture
def fake() -> FakeGenerator:
    return FakeGenerator()


@pytest.fixture(autouse=True)
def _generator(fake: FakeGenerator) -> Iterator[None]:
    RUNNER.install(fake)
    RECORDER.clear()
    yield
    RUNNER.install(None)
    RECORDER.clear()


@pytest.fixture
def lyo_plugins() -> list[object]:
    return [auth_standin(), learning, ai, RECORDER]
