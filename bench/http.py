"""Requests/s and p50/p99 latency of a trivial plugin JSON route through the whole kernel,
against bare Quart on the same server and FastAPI on Uvicorn, all measured in one run.

From the repository root, with ``pip install -e '.[bench]'`` and wrk
(``apt-get install -y wrk``)::

    python -m bench.http --duration 10 --repeat 3 --json var/bench-http.json

Each server runs in its own process with one worker and wrk in another; with two CPUs
or more the server is pinned to the first and wrk to the second.
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # run as ``python bench/http.py``: this file would hide the stdlib's http

import argparse
import asyncio
import json
import logging
import platform
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = "/api/bench/ping"
ORIGIN = "https://app.example.com"
HOSTS = ["127.0.0.1", "localhost"]
#: every request: a browser-like cross-origin call from a client that accepts gzip
HEADERS = {"Accept-Encoding": "gzip", "Origin": ORIGIN}
#: target -> (app factory in this module, server)
TARGETS = {
    "kernel/hypercorn": ("kernel_app", "hypercorn"),
    "kernel/granian": ("kernel_app", "granian"),
    "quart/hypercorn": ("quart_app", "hypercorn"),
    "quart/granian": ("quart_app", "granian"),
    "fastapi+mw/uvicorn": ("fastapi_mw_app", "uvicorn"),
    "fastapi/uvicorn": ("fastapi_app", "uvicorn"),
}
FASTAPI_MW = "fastapi+mw/uvicorn"
#: what the answers of the targets with middleware must carry
MIDDLEWARE_HEADERS = ("x-request-id", "access-control-allow-origin")
#: versions recorded (uvicorn uses uvloop and httptools when installed)
PACKAGES = ("quart", "hypercorn", "granian", "fastapi", "starlette", "uvicorn",
            "uvloop", "httptools")  # fmt: skip
Pin = Callable[[], None] | None


# -- the apps under test -------------------------------------------------------------------


def kernel_app() -> Any:
    """The kernel with one plugin, set up like a deployment: JSON access log (to stderr,
    which the benchmark sends to a file), CORS and trusted hosts; built as `lyo serve`
    builds it (``serving_app``: the heap frozen after start-up)."""
    from quart import Blueprint

    from kernel import Settings
    from kernel.testing import make_plugin
    from kernel.web.app import serving_app

    bp = _with_ping(Blueprint("bench", __name__), "/ping")
    settings = Settings(
        env="test", log_json=True, access_log=True, cors_origins=[ORIGIN], trusted_hosts=HOSTS
    )
    plugin = make_plugin("bench", blueprints=lambda kernel: [bp])
    return serving_app(settings, [plugin], discover=False)  # as `lyo serve` runs it


def quart_app() -> Any:
    from quart import Quart

    return _with_ping(Quart("bare"))


def fastapi_app() -> Any:
    from fastapi import FastAPI

    return _with_ping(FastAPI())


def _with_ping(app: Any, path: str = PATH) -> Any:
    @app.get(path)
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


def fastapi_mw_app() -> Any:
    """FastAPI with the predecessor's middleware, outermost first: request id and JSON
    access log, trusted hosts, CORS, gzip."""
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    app = fastapi_app()
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ORIGIN],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID"],
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=HOSTS)
    app.add_middleware(RequestLogMiddleware)
    return app


class RequestLogMiddleware:
    """X-Request-ID in and out, one JSON access-log line per request (plain ASGI)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.log = logging.getLogger("access")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = [v for k, v in scope["headers"] if k == b"x-request-id"]
        request_id = given[0] if given else uuid.uuid4().hex.encode()
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            line = {"event": "request", "method": scope["method"], "path": scope["path"],
                    "status": status, "duration_ms": elapsed,
                    "client": (scope.get("client") or ("-",))[0],
                    "request_id": request_id.decode(),
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip
            self.log.info(json.dumps(line))


def serve(target: str, port: int) -> None:
    """Run one target's server in this process (``--serve``)."""
    factory, server = TARGETS[target]
    if server == "granian":
        from granian import Granian
        from granian.constants import Interfaces

        app_path = f"bench.http:{factory}"
        Granian(app_path, port=port, interface=Interfaces.ASGI, factory=True).serve()
    elif server == "hypercorn":  # configured as ``lyo serve`` configures it
        from hypercorn.asyncio import serve as hypercorn_serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = None
        asyncio.run(hypercorn_serve(globals()[factory](), config))
    else:
        import uvicorn

        app = globals()[factory]()
        uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


# -- measuring -----------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: int, connections: int, pin: Pin) -> dict[str, Any]:
    headers = [arg for k, v in HEADERS.items() for arg in ("-H", f"{k}: {v}")]
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *headers, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=pin).stdout
    pcts = re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    latency = {pct: float(value) * _UNITS[unit] for pct, value, unit in pcts}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.findall(r"Requests/sec:\s+([\d.]+)", out)[0]),
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "requests": int(re.findall(r"(\d+) requests in", out)[0]),
        "errors": int(bad[1]) if bad else 0,
        "socket_errors": socket_errors[1] if socket_errors else None,
    }


def _wait_and_check(url: str, proc: subprocess.Popen[bytes], target: str) -> None:
    """Wait for the server, then make sure it answers the route as it should."""
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{target}: server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=HEADERS)) as answer:
                body, headers = json.loads(answer.read()), answer.headers
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{target}: {url} did not answer in 60 s") from None
            time.sleep(0.2)
    expected = MIDDLEWARE_HEADERS if target.startswith(("kernel/", FASTAPI_MW)) else ()
    missing = [name for name in expected if name not in headers]
    if body != {"ok": True} or missing:
        raise SystemExit(f"{target}: answered {body!r}, missing headers {missing}")


def measure(target: str, args: argparse.Namespace, pins: tuple[Pin, Pin]) -> dict[str, Any]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}{PATH}"
    cmd = [sys.executable, "-m", "bench.http", "--serve", target, "--port", str(port)]
    with tempfile.TemporaryFile() as log:  # the server's stderr, where access logs go
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log, preexec_fn=pins[0])
        try:
            _wait_and_check(url, proc, target)
            wrk(url, args.warmup, args.connections, pins[1])
            result = wrk(url, args.duration, args.connections, pins[1])
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.seek(0)  # proof that the access log was written, warm-up included
        result["access_log_lines"] = sum(b'"event": "request"' in line for line in log)
    return {"target": target, **result}


def add_ratios(results: list[dict[str, Any]]) -> dict[str, tuple[float, bool]]:
    """Add each result's ratios to bare Quart and FastAPI+middleware; the issue's goals."""
    rps = {r["target"]: r["rps"] for r in results}
    for r in results:
        app, server = r["target"].split("/")
        bare = rps.get(f"quart/{server}") if app in ("kernel", "quart") else None
        r["vs_bare_quart"] = round(r["rps"] / bare, 3) if bare else None
        r["vs_fastapi_mw"] = round(r["rps"] / rps[FASTAPI_MW], 3) if FASTAPI_MW in rps else None
    goals = {}
    for server in ("hypercorn", "granian"):
        if f"kernel/{server}" in rps and f"quart/{server}" in rps:
            ratio = rps[f"kernel/{server}"] / rps[f"quart/{server}"]
            goals[f"kernel/{server} >= 0.8 x quart/{server}"] = (round(ratio, 3), ratio >= 0.8)
    kernels = [t for t in rps if t.startswith("kernel/")]
    if kernels and FASTAPI_MW in rps:
        best = max(kernels, key=rps.__getitem__)
        ratio = rps[best] / rps[FASTAPI_MW]
        goals[f"{best} (fastest) >= 1.0 x {FASTAPI_MW}"] = (round(ratio, 3), ratio >= 1.0)
    return goals


def print_table(results: list[dict[str, Any]], goals: dict[str, tuple[float, bool]]) -> None:
    head = ("target", "req/s", "p50 ms", "p99 ms", "vs quart", "vs fa+mw")
    print("\n{:<20} {:>7} {:>7} {:>7} {:>9} {:>9}".format(*head))
    for r in results:
        ratios = [r[k] for k in ("vs_bare_quart", "vs_fastapi_mw")]
        cells = [f"{value:.2f}" if value is not None else "-" for value in ratios]
        print(f"{r['target']:<20} {r['rps']:>7.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
              f"{cells[0]:>9} {cells[1]:>9}")  # fmt: skip
    for goal, (ratio, met) in goals.items():
        print(f"{'met   ' if met else 'MISSED'} {goal}: {ratio:.2f}")


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per target")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1, help="runs per target; median kept")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma separated")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.port)
    if not shutil.which("wrk"):
        raise SystemExit("bench.http needs wrk: apt-get install -y wrk (Debian/Ubuntu), "
                         "brew install wrk (macOS), or build github.com/wg/wrk")  # fmt: skip
    affinity = sorted(os.sched_getaffinity(0))
    pinned = len(affinity) >= 2 and not args.no_pin
    pins: tuple[Pin, Pin] = (None, None)
    if pinned:
        pins = (lambda: os.sched_setaffinity(0, {affinity[0]}),
                lambda: os.sched_setaffinity(0, {affinity[1]}))  # fmt: skip
    packages = {name: _version(name) for name in PACKAGES}
    loop, parser_name = ("uvloop", "asyncio"), ("httptools", "h11")
    io = f"{loop[not packages['uvloop']]}+{parser_name[not packages['httptools']]}"
    print(f"{os.cpu_count()} CPUs, pinned: {pinned}, uvicorn on {io}", file=sys.stderr)
    targets = [t for t in args.targets.split(",") if t]
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    for _ in range(args.repeat):
        for target in targets:  # interleaved, so drift hits every target alike
            runs[target].append(measure(target, args, pins))
            print(f"  {target}: {runs[target][-1]['rps']:.0f} req/s", file=sys.stderr)
    results = [sorted(runs[t], key=lambda r: r["rps"])[(len(runs[t]) - 1) // 2] for t in targets]
    goals = add_ratios(results)
    print_table(results, goals)
    if args.json:
        machine = {"python": platform.python_version(), "cpus": os.cpu_count(),
                   "pinned": pinned, "uvicorn_io": io}  # fmt: skip
        settings = {"duration_s": args.duration, "connections": args.connections,
                    "repeat": args.repeat, "wrk_threads": 1}  # fmt: skip
        report = {"machine": machine, "packages": packages, "settings": settings,
                  "results": results, "goals": goals}  # fmt: skip
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return None


if __name__ == "__main__":
    main()
