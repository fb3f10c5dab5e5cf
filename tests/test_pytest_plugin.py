"""lyo-kernel's pytest entry point never breaks an unrelated pytest run: in a real new
virtualenv holding lyo-kernel without its testing extra (and without its dependencies,
the strictest case) and bare pytest, a trivial test passes, and a test asking for a
kernel fixture is told what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_pytest_runs_where_lyo_kernel_lacks_its_testing_extra(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True, capture_output=True)
    subprocess.run([*pip, "pytest"], check=True)
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_unrelated.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    (project / "test_wants_fixture.py").write_text(
        textwrap.dedent(
            """
            def test_client(lyo_client):
                pass
            """
        )
    )
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-rf"],
        cwd=project,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    out = run.stdout + run.stderr
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "--version", "--version"],
        capture_output=True,
        text=True,
    )
    assert "lyo-kernel" in listed.stdout + listed.stderr  # the entry point was loaded
    assert "1 passed, 1 error" in out, out
    assert "pip install 'lyo-kernel[testing]'" in out, out
    assert "Error while loading" not in out and "INTERNALERROR" not in out, out
