"""The `lyo` command: plugin listing and plugins' own commands."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kernel.cli import main


@pytest.fixture(autouse=True)
def _demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_PLUGINS__MODULES", "tests.clidemo,tests.notes.plugin")


def test_plugin_commands_run_with_a_started_kernel() -> None:
    result = CliRunner().invoke(main, ["clidemo", "greet", "ada"])
    assert result.exit_code == 0, result.output
    assert "hello ada from kernel 0.1.0 (active)" in result.output
    assert "clidemo" in CliRunner().invoke(main, ["--help"]).output


def test_lyo_plugins_lists_versions_states_hooks_and_routes() -> None:
    text = CliRunner().invoke(main, ["plugins"])
    assert text.exit_code == 0, text.output
    assert "clidemo" in text.output and "2.0.0" in text.output
    rows = {
        row["name"]: row
        for row in json.loads(CliRunner().invoke(main, ["plugins", "--json"]).output)
    }
    assert rows["clidemo"]["state"] == "active"
    assert rows["clidemo"]["hooks"] == ["cli_commands", "manifest"]
    assert "POST /api/notes/notes" in rows["notes"]["routes"]
    assert rows["notes"]["tasks"] == ["notes:echo", "notes:flaky", "notes:write_note"]


def test_a_broken_setup_is_reported_by_lyo_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYO_PLUGINS__MODULES", "tests.no_such_plugin")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2
    assert "tests.no_such_plugin" in result.output


def test_lyo_check_builds_the_blueprints(monkeypatch: pytest.MonkeyPatch) -> None:
    """A route outside the plugin's prefix fails `check` as it fails `serve`."""
    monkeypatch.setenv("LYO_PLUGINS__MODULES", "tests.badroute")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 2, result.output
    assert "badroute" in result.output and "/elsewhere/x" in result.output


def test_lyo_plugins_shows_tasks_handlers_and_topics() -> None:
    text = CliRunner().invoke(main, ["plugins"]).output
    assert "task:   notes:write_note" in text
    assert "handler: notes:" in text
    assert "(authorize_topic)" in text  # the installed example (hello) authorizes topics


def test_unknown_plugin_variables_warn_and_fail_check_in_staging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LYO_CLIDEMO__TYPO", "1")
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "clidemo: LYO_CLIDEMO__TYPO name no setting of the plugin (ignored)" in result.output
    for name, value in {
        "LYO_ENV": "staging",
        "LYO_SECRET_KEY": "s" * 40,
        "LYO_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "LYO_REDIS_URL": "redis://127.0.0.1:6379/0",
    }.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 1, result.output
    assert "LYO_CLIDEMO__TYPO name no setting of the plugin (refused" in result.output
