"""`lyo users export ID` and `lyo users erase ID`: every plugin's data and the kernel's
own (task runs), one transaction for the erase, a confirmation before it."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from kernel import Kernel, Settings
from kernel.cli import main
from kernel.data.models import TaskRun


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A file SQLite database with task runs of users "ada" and "fail"."""
    url = f"sqlite://{tmp_path / 'lyo.sqlite3'}"
    demo = tmp_path / "demo.txt"
    demo.write_text("ada\nada\nbob\nfail\n")
    for name, value in {
        "LYO_DATABASE_URL": url,
        "LYO_ENV": "test",
        "LYO_PLUGINS__MODULES": "tests.privacydemo",
        "LYO_PLUGINS__ENABLED": "privacydemo",
        "PRIVACYDEMO_FILE": str(demo),
    }.items():
        monkeypatch.setenv(name, value)

    async def seed() -> None:
        kernel = Kernel.load(Settings(env="test", database_url=url), discover=False)
        await kernel.start()
        try:
            for owner, finished in (("ada", True), ("ada", False), ("fail", True), ("bob", True)):
                await TaskRun.create(
                    id=uuid.uuid4(),
                    name="privacydemo:job",
                    owner_id=owner,
                    status="succeeded" if finished else "running",
                    finished_at=datetime.now(UTC) if finished else None,
                )
        finally:
            await kernel.stop()

    asyncio.run(seed())
    return url


def runs(url: str) -> list[tuple[str | None, bool]]:
    async def read() -> list[tuple[str | None, bool]]:
        kernel = Kernel.load(Settings(env="test", database_url=url), discover=False)
        await kernel.start()
        try:
            rows = await TaskRun.all().order_by("owner_id").values("owner_id", "finished_at")
            return sorted(((r["owner_id"], r["finished_at"] is not None) for r in rows), key=str)
        finally:
            await kernel.stop()

    return asyncio.run(read())


def test_export_prints_every_plugins_data(database: str) -> None:
    result = CliRunner().invoke(main, ["users", "export", "ada"])
    assert result.exit_code == 0, result.output
    exported = json.loads(result.output)
    assert exported["user_id"] == "ada"
    assert exported["data"]["privacydemo"] == {"mentions": 2}
    assert [r["status"] for r in exported["data"]["kernel"]["task_runs"]] == [
        "succeeded",
        "running",
    ]
    nobody = json.loads(CliRunner().invoke(main, ["users", "export", "nobody"]).output)
    assert nobody == {"user_id": "nobody", "data": {}}


def test_erase_asks_first_and_removes_everything(database: str, tmp_path: Path) -> None:
    refused = CliRunner().invoke(main, ["users", "erase", "ada"], input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert (tmp_path / "demo.txt").read_text().split().count("ada") == 2

    result = CliRunner().invoke(main, ["users", "erase", "ada", "--yes"])
    assert result.exit_code == 0, result.output
    assert "erased user ada from: privacydemo, kernel" in result.output
    assert "ada" not in (tmp_path / "demo.txt").read_text().split()
    # ada's finished run is gone; her running one stays, detached from her
    assert runs(database) == [("bob", True), ("fail", True), (None, False)]
    assert json.loads(CliRunner().invoke(main, ["users", "export", "ada"]).output)["data"] == {}


def test_a_failing_plugin_erases_nothing(database: str) -> None:
    result = CliRunner().invoke(main, ["users", "erase", "fail", "--yes"])
    assert result.exit_code == 2
    assert "plugin 'privacydemo' failed to erase user fail, so nothing was erased" in result.output
    assert ("fail", True) in runs(database)
