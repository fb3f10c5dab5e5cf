"""Configuration: defaults, environment, production refusals, ``lyo check``."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kernel import ConfigError, Settings, load_settings
from kernel.cli import main


def test_development_needs_no_configuration() -> None:
    settings = load_settings()
    assert settings.env == "development"
    assert settings.problems() == []
    assert settings.docs_enabled and not settings.json_logs


@pytest.mark.parametrize("env", ["staging", "production"])
def test_production_like_refuses_laptop_settings(env: str) -> None:
    settings = Settings(env=env, debug=True, cors_origins=["*"], cors_credentials=True)
    problems = "\n".join(settings.problems())
    for expected in ["SQLite", "LYO_SECRET_KEY", "LYO_DEBUG", "LYO_CORS_ORIGINS", "LYO_REDIS_URL"]:
        assert expected in problems
    with pytest.raises(ConfigError):
        settings.check()


def test_short_secret_key_is_refused() -> None:
    settings = Settings(
        env="production",
        secret_key="short",
        database_url="postgres://db/lyo",
        redis_url="redis://127.0.0.1",
    )
    assert settings.problems() == ["LYO_SECRET_KEY is missing or shorter than 32 characters"]


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_PORT", "eighty")
    with pytest.raises(ConfigError, match="LYO_PORT"):
        load_settings()


def test_lyo_check_validates_without_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["check"])
    assert ok.exit_code == 0, ok.output
    monkeypatch.setenv("LYO_ENV", "production")
    refused = runner.invoke(main, ["check"])
    assert refused.exit_code == 2
    assert "refusing to start in production" in refused.output
    assert "LYO_SECRET_KEY" in refused.output
