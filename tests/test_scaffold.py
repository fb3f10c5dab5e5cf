"""``lyo new-plugin``: the generated package passes its own tests, on SQLite and on
PostgreSQL with Redis (where its migration is applied, undone and applied again), and
is lint-clean; bad names and existing directories are refused."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kernel.cli import main
from kernel.cli.scaffold import kernel_range

NAME = "scaffolded_plugin"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("new-plugin") / f"lyo-{NAME}"
    result = CliRunner().invoke(main, ["new-plugin", NAME, "--directory", str(target)])
    assert result.exit_code == 0, result.output
    assert f"pip install -e './{target}[test]'" in result.output
    return target


def run_generated_tests(target: Path, **env: str) -> str:
    """The generated plugin's tests in a fresh interpreter, the package importable
    from its folder (as if installed) and loaded through its module."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LYO_")}
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(target / "tests")],
        env={**clean, "PYTHONPATH": str(target), **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert process.returncode == 0, process.stdout[-5000:] + process.stderr[-2000:]
    return process.stdout


def test_the_package_has_every_part(generated: Path) -> None:
    package = generated / f"lyo_{NAME}"
    (migration,) = (package / "migrations" / NAME).glob("0_*_init.py")
    assert f'CREATE TABLE IF NOT EXISTS "{NAME}_entry"' in migration.read_text()
    pyproject = (generated / "pyproject.toml").read_text()
    assert f'{NAME} = "lyo_{NAME}.plugin"' in pyproject
    assert f'"lyo-kernel{kernel_range()}"' in pyproject
    plugin = (package / "plugin.py").read_text()
    for hook in (
        "manifest",
        "settings_model",
        "permissions",
        "models",
        "tasks",
        "event_handlers",
        "authorize_topic",
        "blueprints",
        "cli_commands",
    ):
        assert f"@hookimpl\ndef {hook}(" in plugin
    assert not list(generated.rglob("*.tmpl"))


def test_generated_tests_pass_on_sqlite(generated: Path) -> None:
    output = run_generated_tests(generated)
    assert "test_the_task_runs_for_its_owner PASSED" in output
    assert "test_a_completed_lesson_is_recorded PASSED" in output


def test_generated_tests_pass_on_postgres_with_redis(generated: Path) -> None:
    redis = os.environ.get("LYO_TEST_REDIS", "redis://127.0.0.1:6379/0")
    output = run_generated_tests(generated, LYO_TEST_DATABASE="postgres", LYO_TEST_REDIS=redis)
    assert "test_the_migrations_go_up_down_and_up_again PASSED" in output
    assert "test_the_task_runs_for_its_owner PASSED" in output


def test_generated_code_is_lint_clean(generated: Path) -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed here (tox runs it in the lint env)")
    for args in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run([ruff, *args], cwd=generated, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_default_directory_is_lyo_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["new-plugin", "demo"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lyo-demo" / "lyo_demo" / "plugin.py").is_file()
    assert "lyo_demo" not in sys.modules  # imported to make its migration, then let go


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Badges", "not a plugin name"),
        ("2fa", "not a plugin name"),
        ("my-plugin", "not a plugin name"),
        ("tasks", "reserved by the kernel"),
        ("ws", "reserved by the kernel"),
    ],
)
def test_bad_names_are_refused(name: str, why: str, tmp_path: Path) -> None:
    target = tmp_path / "out"
    result = CliRunner().invoke(main, ["new-plugin", name, "--directory", str(target)])
    assert result.exit_code == 2
    assert "Invalid value for NAME" in result.output and why in result.output
    assert not target.exists()


def test_an_existing_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["new-plugin", "demo", "--directory", str(tmp_path)])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
