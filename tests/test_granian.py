"""`lyo serve --server granian` as a process: the kernel's answers are the same on Granian."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from kernel.testing import free_port

pytest.importorskip("granian")


def _wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}:\n{output}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def test_lyo_serve_granian_serves_health_and_problems() -> None:
    port = free_port()
    env = {**os.environ, "LYO_ENV": "test", "LYO_PORT": str(port), "LYO_ACCESS_LOG": "false"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernel", "serve", "--server", "granian"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/health/live", proc)
        live = httpx.get(f"{base}/health/live", headers={"X-Request-ID": "req-granian"})
        assert live.status_code == 200
        assert live.headers.get_list("server") == ["lyo"]  # Granian's own is replaced
        assert live.headers["x-request-id"] == "req-granian"
        assert live.headers["x-content-type-options"] == "nosniff"

        missing = httpx.get(f"{base}/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        problem = missing.json()
        assert problem["status"] == 404 and problem["instance"] == "/nope"
        assert problem["request_id"] == missing.headers["x-request-id"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0
