"""Follow the README's guides literally: ``python tests/guides.py [README.md] [GUIDE...]``.

Every ```` ```sh ```` block under a guide's heading (``### The first minute``,
``## Plugin author guide``, ``## Operations``) is run, in order, by one ``bash -euo
pipefail`` in a fresh copy of the working tree, with an environment holding nothing of
this one's (no virtualenv, no ``LYO_*`` variable), so each guide starts where a reader
starts: a clone, ``python3`` and ``pip``. Processes a guide starts in the background are
stopped at its end. Exit status 1 names the failing guide; each line is echoed as it
runs (``bash -v``).

The first minute follows the quick start: its first command (install and ``lyo serve``,
the first ```` ``` ```` block under ``## Quick start``) runs in the background and the
guide's lines run once ``/health/ready`` answers.

Before the operations guide, the database and Redis keys it uses (``lyo``) are reset,
so a run never sees a previous one's state. tox env ``guides`` (in CI) runs this.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ("The first minute", "Plugin author guide", "Operations")
TIMEOUT = 900
#: What the operations guide creates: dropped before it runs.
OPERATIONS_DATABASE = "lyo"
OPERATIONS_REDIS_PATTERN = "lyo:*"


def section(readme: str, heading: str) -> str:
    """The text under ``heading`` (any level) up to the next heading of its level or
    above."""
    match = re.search(rf"^(#+) {re.escape(heading)}\n", readme, re.M)
    if match is None:
        raise SystemExit(f"README has no section '{heading}'")
    level = len(match.group(1))
    rest = readme[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def blocks(readme: str, heading: str) -> list[str]:
    """The ```` ```sh ```` blocks of the ``heading`` section, in order."""
    found = re.findall(r"^ *```sh\n(.*?)^ *```$", section(readme, heading), re.M | re.S)
    if not found:
        raise SystemExit(f"'{heading}' has no ```sh block to follow")
    return [_dedent(block) for block in found]


def quick_start_prelude(readme: str) -> str:
    """The quick start's first command in the background, then a wait until the served
    platform is ready (the install is part of the wait)."""
    found = re.findall(r"^```[a-z]*\n(.*?)^```$", section(readme, "Quick start"), re.M | re.S)
    serve = next(x for x in found[0].splitlines() if x.strip() and not x.startswith("#"))
    return (
        f"( {serve} ) > quickstart.log 2>&1 &\n"
        "for _ in $(seq 600); do curl -fs -o /dev/null http://127.0.0.1:8000/health/ready"
        " && break; sleep 1; done\n"
        "curl -fsS -o /dev/null http://127.0.0.1:8000/health/ready || "
        "{ tail -50 quickstart.log; exit 1; }\n"
    )


PRELUDES = {"The first minute": quick_start_prelude}


def _dedent(block: str) -> str:
    lines = block.splitlines()
    indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    return "\n".join(x[indent:] for x in lines) + "\n"


def copy_tree(dest: Path) -> None:
    """The working tree as git sees it (tracked and untracked, not ignored), so a guide
    runs against uncommitted changes too, and never against local build output."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def clean_env() -> dict[str, str]:
    """This environment less what a reader would not have: virtualenvs on ``PATH``,
    ``VIRTUAL_ENV``, ``PYTHON*``, tox's variables and every ``LYO_*`` setting (pip's
    own configuration stays: it says where packages come from)."""
    drop = ("LYO_", "TOX_", "PYTHON", "VIRTUAL_ENV", "_TOX")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    venv = os.environ.get("VIRTUAL_ENV", "")
    env["PATH"] = os.pathsep.join(
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if p and not (venv and p.startswith(venv)) and "/.tox/" not in p and "/.venv/" not in p
    )
    return env


def reset_operations_state() -> None:
    subprocess.run(
        [
            "dropdb",
            "--if-exists",
            "--force",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            OPERATIONS_DATABASE,
        ],
        check=True,
    )
    keys = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "--scan", "--pattern", OPERATIONS_REDIS_PATTERN],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for start in range(0, len(keys), 500):
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "del", *keys[start : start + 500]],
            check=True,
            capture_output=True,
        )


def follow(heading: str, script: str) -> bool:
    print(f"\n=== {heading} ===", flush=True)
    if heading == "Operations":
        reset_operations_state()
    with tempfile.TemporaryDirectory(prefix="lyo-guide-") as tmp:
        clone = Path(tmp) / "lyo"
        copy_tree(clone)
        started = time.monotonic()
        path = Path(tmp) / "guide.sh"
        path.write_text(script)
        proc = subprocess.Popen(
            ["bash", "-euvo", "pipefail", str(path)],  # -v: each line as it is run
            cwd=clone,
            env=clean_env(),
            start_new_session=True,  # its own process group: background processes included
        )
        try:
            status = proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"guide '{heading}' ran past {TIMEOUT} s", flush=True)
            status = -1
        finally:
            _stop_group(proc.pid)
        print(f"=== {heading}: exit {status} in {time.monotonic() - started:.0f} s ===", flush=True)
        return status == 0


def _stop_group(pgid: int) -> None:
    for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def main(argv: list[str]) -> int:
    readme = Path(argv[0]) if argv else ROOT / "README.md"
    chosen = argv[1:] or list(GUIDES)
    text = readme.read_text()
    failed = [
        g
        for g in chosen
        if not follow(g, (PRELUDES[g](text) if g in PRELUDES else "") + "".join(blocks(text, g)))
    ]
    if failed:
        print(f"guides that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
