"""Kernel tests. The kernel's own pytest plugin (kernel.testing) gives the fixtures."""

from __future__ import annotations

import pytest

from kernel import Settings


@pytest.fixture(autouse=True)
def _clean_lyo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set what they need; a developer's LYO_* variables never leak in."""
    import os

    for name in list(os.environ):
        if name.startswith("LYO_"):
            monkeypatch.delenv(name)


@pytest.fixture
def lyo_settings() -> Settings:
    return Settings(env="test", access_log=False)
