"""The kernel under real servers: Hypercorn in-process, and `lyo serve` as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from kernel import Identity, Settings, create_app
from kernel.testing import free_port, serve, token_plugin


async def test_real_hypercorn_serves_problems_identity_and_lifecycle() -> None:
    tokens = token_plugin({"t": Identity(id="u1", kind="user")})
    app = create_app(Settings(env="test", access_log=False), [tokens], discover=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        live = await client.get("/health/live", headers={"X-Request-ID": "req-1"})
        assert live.status_code == 200 and live.headers["x-request-id"] == "req-1"
        missing = await client.get("/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        listing = (await client.get("/-/plugins")).json()
        assert listing["plugins"][0]["state"] == "active"
    assert app.kernel.plugin("tokens").state == "active"
    assert not app.kernel.started  # shutdown ran when the server stopped


def _wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds} s")


@pytest.mark.parametrize("workers", [1, 2])
def test_lyo_serve_runs_and_merges_metrics_across_workers(workers: int) -> None:
    port = free_port()
    env = {**os.environ, "LYO_ENV": "test", "LYO_PORT": str(port), "LYO_ACCESS_LOG": "false"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernel", "serve", "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/health/live", proc)
        for _ in range(20):
            assert httpx.get(f"{base}/health/live").status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        counts = [
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("lyo_http_request_duration_seconds_count")
            and 'route="/health/live"' in line
        ]
        # with several workers each sample lives in its own process's file; the
        # exposition must still add up to every request served
        assert sum(counts) >= 20
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def test_lyo_serve_refuses_bad_production_config() -> None:
    env = {**os.environ, "LYO_ENV": "production"}
    result = subprocess.run(
        [sys.executable, "-m", "kernel", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "LYO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("workers", [1, 2])
async def test_lyo_serve_closes_websockets_with_going_away_on_sigterm(workers: int) -> None:
    import json

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    port = free_port()
    env = {
        **os.environ,
        "LYO_ENV": "test",
        "LYO_PORT": str(port),
        "LYO_ACCESS_LOG": "false",
        "LYO_DATABASE_URL": "sqlite://:memory:",
        "LYO_PLUGINS__MODULES": "tests.wsauth",
    }
    command = [sys.executable, "-m", "kernel", "serve", "--workers", str(workers)]
    proc = subprocess.Popen(command, env=env)  # noqa: ASYNC220
    try:
        _wait_for(f"http://127.0.0.1:{port}/health/live", proc)
        async with connect(f"ws://127.0.0.1:{port}/ws", proxy=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": "good"}))
            assert json.loads(await ws.recv())["type"] == "ready"
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
            assert time.monotonic() - started < 10  # not after the 30 s graceful wait
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_a_served_app_freezes_its_heap_and_collects_young_objects_less_often(
    lyo_settings: Settings,
) -> None:
    """``lyo serve``'s app (kernel.app.serving_app) tunes the garbage collector once
    started; this process's collector is put back afterwards."""
    import gc

    from kernel.web.app import GC_YOUNG_THRESHOLD, serving_app

    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    app = serving_app(lyo_settings, discover=False)
    try:
        async with app.test_app():
            assert gc.get_freeze_count() > frozen
            assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_lyo_serve_announces_itself_only_once_ready() -> None:
    """ "serving on" means it: never printed by a server that fails to build its app
    (a route outside its plugin's prefix), printed once /health/live answers."""
    env = {**os.environ, "LYO_ENV": "test", "LYO_PORT": str(free_port())}
    env["LYO_PLUGINS__MODULES"] = "tests.badroute"
    failed = subprocess.run(
        [sys.executable, "-m", "kernel", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode != 0
    assert "/elsewhere/x" in failed.stderr
    assert "serving on" not in failed.stderr

    port = free_port()
    env = {**os.environ, "LYO_ENV": "test", "LYO_PORT": str(port), "LYO_ACCESS_LOG": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernel", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # the announcement comes (or the process ends)
            if "serving on" in line:
                break
        assert httpx.get(f"http://127.0.0.1:{port}/health/live").status_code == 200
        assert f"serving on http://127.0.0.1:{port}" in line
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


@pytest.mark.parametrize("server", ["hypercorn", "granian"])
async def test_a_subscribed_client_that_only_listens_stays_connected(server: str) -> None:
    """A client following a long task through a quiet phase (no frames of its topic for
    several idle timeouts) never sends a message and is not cut off (it was closed 4408
    after idle_timeout); it still gets its topic's frames and answers afterwards."""
    import json

    from websockets.asyncio.client import connect

    if server == "granian":
        pytest.importorskip("granian")
    port = free_port()
    env = {
        **os.environ,
        "LYO_ENV": "test",
        "LYO_PORT": str(port),
        "LYO_ACCESS_LOG": "false",
        "LYO_DATABASE_URL": "sqlite://:memory:",
        "LYO_PLUGINS__MODULES": "tests.wsauth",
        "LYO_WS__IDLE_TIMEOUT": "1",
        "LYO_WS__PING_INTERVAL": "0.3",
    }
    command = [sys.executable, "-m", "kernel", "serve", "--server", server]
    proc = subprocess.Popen(command, env=env)  # noqa: ASYNC220
    try:
        _wait_for(f"http://127.0.0.1:{port}/health/live", proc)
        # the client answers protocol pings by itself, as browsers do; never a message
        async with connect(f"ws://127.0.0.1:{port}/ws", proxy=None, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": "good"}))
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.send(json.dumps({"type": "subscribe", "topic": "wsauth:long-task"}))
            assert json.loads(await ws.recv())["type"] == "subscribed"
            listened = time.monotonic()
            while time.monotonic() - listened < 4:  # four idle timeouts, only listening
                frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert frame["type"] == "ping", frame  # never a close
            await ws.send(json.dumps({"type": "ping"}))
            while (frame := json.loads(await asyncio.wait_for(ws.recv(), 5)))["type"] == "ping":
                pass
            assert frame == {"type": "pong"}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
