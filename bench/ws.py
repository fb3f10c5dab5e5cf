"""Websocket fan-out latency: C clients subscribed to one topic on one server process, M
messages broadcast, p50/p99 from the send time in the payload to the client receiving it;
the kernel's ``/ws`` (in-process hub, and the Redis hub) against a bare Quart websocket
broadcast (a set of queues) on the same server, with the same clients, in the same run.

- kernel: ``kernel.app.serving_app`` (``lyo serve``'s app: ``create_app`` plus the
  garbage collector tuning it does once started) with a token plugin
  (``kernel.testing.token_plugin``) and the bench plugin (``authorize_topic`` allows
  ``bench:*``; ``POST /api/bench/broadcast`` publishes through ``kernel.hub``), served by
  Hypercorn as ``lyo serve`` serves it.
- kernel+redis: the same with ``LYO_REDIS_URL``: ``RedisHub`` (PUBLISH, then the API
  process's pattern subscription routes it to the connections).
- quart: a bare Quart app speaking the same protocol (auth, subscribe, message), one
  ``asyncio.Queue`` per connection, each frame encoded once and put in every queue.

The server runs on the first CPU and the clients (the ``websockets`` package, one process)
on the second. Run it from the repository root::

    python -m bench.ws --json bench/results/ws.json
    python -m bench.ws --quick

Timings are printed, never asserted.
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = os.path.dirname(sys.path[0])  # run as ``python bench/ws.py``

import argparse
import asyncio
import json
import resource
import selectors
import subprocess
import time
import urllib.request
import uuid
from typing import Any

from bench import _runtime as rt

TOKEN = "bench-token"
TOPIC = "bench:fanout"
TARGETS = ("quart", "kernel", "kernel+redis")
BROADCAST = {"quart": "/broadcast", "kernel": "/api/bench/broadcast"}


def raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# -- the servers -----------------------------------------------------------------------------


def kernel_app(redis: bool) -> Any:
    from bench import benchplugin
    from kernel import Identity, Settings
    from kernel.testing import token_plugin
    from kernel.web.app import serving_app

    settings = Settings(
        env="test",
        database_url="sqlite://:memory:",
        redis_url=rt.REDIS_URL if redis else None,
        redis_prefix=os.environ.get("BENCH_PREFIX", "bench"),
        access_log=False,
        log_level="WARNING",
    )
    tokens = token_plugin({TOKEN: Identity(id="bench", kind="user")})
    return serving_app(settings, [benchplugin, tokens], discover=False)


def quart_app() -> Any:
    """The baseline: the same protocol with nothing but a set of queues."""
    import orjson
    from quart import Quart, request, websocket

    app = Quart("bare")
    queues: set[asyncio.Queue[str]] = set()
    running: set[asyncio.Task[None]] = set()

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket("/ws")
    async def ws() -> None:
        auth = orjson.loads(await websocket.receive())
        if auth.get("type") != "auth" or auth.get("token") != TOKEN:
            await websocket.close(4401)
            return
        await websocket.send('{"type":"ready"}')
        queue: asyncio.Queue[str] = asyncio.Queue()

        async def read() -> None:
            while True:
                message = orjson.loads(await websocket.receive())
                if message.get("type") == "subscribe":
                    topic = message["topic"]
                    await websocket.send(orjson.dumps({"type": "subscribed", "topic": topic}))
                    queues.add(queue)
                elif message.get("type") == "ping":
                    await websocket.send('{"type":"pong"}')

        reader = asyncio.create_task(read())
        try:
            while True:
                await websocket.send(await queue.get())
        finally:
            queues.discard(queue)
            reader.cancel()

    @app.post("/broadcast")
    async def broadcast() -> tuple[dict[str, Any], int]:
        count = int(request.args.get("count", "10"))
        interval = float(request.args.get("interval", "0.1"))

        async def run() -> None:
            for seq in range(count):
                data = {"seq": seq, "ts": time.time()}
                frame = {"type": "message", "topic": TOPIC, "id": uuid.uuid4().hex, "data": data}
                text = orjson.dumps(frame).decode()
                for queue in tuple(queues):
                    queue.put_nowait(text)
                await asyncio.sleep(interval)

        task = asyncio.create_task(run())
        running.add(task)
        task.add_done_callback(running.discard)
        return {"count": count, "interval": interval}, 202

    return app


def serve(target: str, port: int) -> None:
    """One server process, configured as ``lyo serve`` configures Hypercorn."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    raise_open_files()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.backlog = 2048
    app = quart_app() if target == "quart" else kernel_app(redis=target == "kernel+redis")
    asyncio.run(hypercorn_serve(app, config))


# -- the clients -----------------------------------------------------------------------------


async def clients(url: str, count: int, expected: int, seconds: float) -> dict[str, Any]:
    """Connect ``count`` clients, print READY, then receive ``expected`` messages each."""
    import orjson
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed

    raise_open_files()
    gate = asyncio.Semaphore(50)

    async def recv_type(ws: ClientConnection, kind: str) -> None:
        while True:
            message = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
            if message.get("type") == kind:
                return
            if message.get("type") == "error":
                raise SystemExit(f"server answered {message}")

    async def open_one() -> ClientConnection:
        async with gate:
            ws = await connect(url, proxy=None, ping_interval=None, open_timeout=60, max_queue=None)
            await ws.send(orjson.dumps({"type": "auth", "token": TOKEN}).decode())
            await recv_type(ws, "ready")
            await ws.send(orjson.dumps({"type": "subscribe", "topic": TOPIC}).decode())
            await recv_type(ws, "subscribed")
            return ws

    started = time.monotonic()
    conns = await asyncio.gather(*(open_one() for _ in range(count)))
    connect_s = time.monotonic() - started
    delays: list[float] = []
    #: seq -> the latest arrival among clients (the time to reach everyone)
    last: dict[int, float] = {}
    got = [0] * count
    closed: dict[str, int] = {}

    async def consume(n: int, ws: ClientConnection) -> None:
        try:
            while got[n] < expected:
                raw = await ws.recv()
                now = time.time()
                message = orjson.loads(raw)
                if message.get("type") == "message":
                    data = message["data"]
                    delay = now - data["ts"]
                    delays.append(delay)
                    last[data["seq"]] = max(last.get(data["seq"], 0.0), delay)
                    got[n] += 1
                elif message.get("type") == "ping":
                    await ws.send('{"type":"pong"}')
        except ConnectionClosed as exc:
            code = str(exc.rcvd.code if exc.rcvd else "none")
            closed[code] = closed.get(code, 0) + 1

    tasks = [asyncio.create_task(consume(n, ws)) for n, ws in enumerate(conns)]
    print("READY", flush=True)
    cpu = time.process_time()
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    cpu = time.process_time() - cpu
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    fanout = list(last.values())
    return {
        "clients": count,
        "messages": expected,
        "connect_s": round(connect_s, 2),
        "delivered": len(delays),
        "missing": count * expected - len(delays),
        "closed": closed,
        "timed_out": len(pending),
        "client_cpu_s": round(cpu, 3),
        "delivery": rt.percentiles(delays),
        "fanout": rt.percentiles(fanout),
    }


# -- the benchmark ---------------------------------------------------------------------------


def _pin(cpu: int | None) -> Any:
    return None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))


def _wait_live(base: str, proc: subprocess.Popen[bytes], target: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{target}: server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/health/live", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{target}: {base} did not answer in 60 s") from None
            time.sleep(0.2)


def _read_line(proc: subprocess.Popen[str], seconds: float) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(seconds):
            raise SystemExit(f"the clients said nothing in {seconds:.0f} s")
    return proc.stdout.readline()


def measure(target: str, args: argparse.Namespace, cpus: tuple[Any, Any]) -> dict[str, Any]:
    from kernel.testing import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    prefix = rt.unique_prefix()
    env = {**os.environ, "BENCH_PREFIX": prefix}
    server_cmd = [sys.executable, "-m", "bench.ws", "--serve", target, "--port", str(port)]
    server = subprocess.Popen(
        server_cmd,
        cwd=rt.ROOT,
        env=env,
        preexec_fn=cpus[0],
        stdout=None if os.environ.get("BENCH_VERBOSE") else subprocess.DEVNULL,
        stderr=None if os.environ.get("BENCH_VERBOSE") else subprocess.DEVNULL,
    )
    client_cmd = [sys.executable, "-m", "bench.ws", "--client", base.replace("http", "ws") + "/ws"]
    client_cmd += ["--clients", str(args.clients), "--messages", str(args.messages)]
    client_cmd += ["--timeout", str(args.timeout)]
    try:
        _wait_live(base, server, target)
        client = subprocess.Popen(
            client_cmd, cwd=rt.ROOT, preexec_fn=cpus[1], stdout=subprocess.PIPE, text=True
        )
        try:
            line = _read_line(client, 180)
            if line.strip() != "READY":
                raise SystemExit(f"{target}: the clients failed to connect: {line!r}")
            redis_pids = rt.pids_named("redis-server")
            cpu_before = rt.cpu_of_pids([server.pid, *redis_pids])
            path = BROADCAST["quart" if target == "quart" else "kernel"]
            query = f"?count={args.messages}&interval={args.interval}"
            post = urllib.request.Request(base + path + query, data=b"", method="POST")
            with urllib.request.urlopen(post, timeout=10) as answer:
                assert answer.status == 202, answer.status
            out, _ = client.communicate(timeout=args.timeout + 60)
            cpu_after = rt.cpu_of_pids([server.pid, *redis_pids])
        finally:
            if client.poll() is None:
                client.kill()
        result = json.loads(out.strip().splitlines()[-1])
        frames = max(1, result["delivered"])
        server_s = cpu_after[server.pid] - cpu_before[server.pid]
        redis_s = sum(cpu_after.get(p, 0) - cpu_before.get(p, 0) for p in redis_pids)
        result["cpu_us_per_frame"] = {
            "server": round(server_s * 1e6 / frames, 1),
            "clients": round(result["client_cpu_s"] * 1e6 / frames, 1),
            "redis": round(redis_s * 1e6 / frames, 1),
        }
    finally:
        rt.stop([server], grace=10)
        if target == "kernel+redis":
            asyncio.run(_clean(prefix))
    return {"target": target, **result}


async def _clean(prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(rt.REDIS_URL)
    await rt.delete_prefix(redis, prefix)
    await redis.aclose()


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    base = next(r for r in results if r["target"] == "quart")
    print(
        f"\n{args.clients} clients, {args.messages} messages every {args.interval:g} s "
        f"({args.clients / args.interval:.0f} frames/s); ratios: latency / bare quart's"
    )
    print(
        f"{'target':<13} {'p50 ms':>7} {'p99 ms':>7} {'p50 x':>6} {'p99 x':>6} "
        f"{'all p50':>8} {'all p99':>8} {'all p99 x':>9} {'missing':>8} closed"
    )
    for r in results:
        d, f = r["delivery"], r["fanout"]
        r["p50_vs_quart"] = rt.ratio(d["p50_ms"], base["delivery"]["p50_ms"])
        r["p99_vs_quart"] = rt.ratio(d["p99_ms"], base["delivery"]["p99_ms"])
        r["fanout_p99_vs_quart"] = rt.ratio(f["p99_ms"], base["fanout"]["p99_ms"])
        print(
            f"{r['target']:<13} {d['p50_ms']:>7.2f} {d['p99_ms']:>7.2f} "
            f"{rt.fmt(r['p50_vs_quart']):>6} {rt.fmt(r['p99_vs_quart']):>6} "
            f"{f['p50_ms']:>8.2f} {f['p99_ms']:>8.2f} {rt.fmt(r['fanout_p99_vs_quart']):>9} "
            f"{r['missing']:>8} {r['closed'] or '-'}"
        )
    print("all p50/p99: time for one message to reach every client")
    print(f"\nCPU us per delivered frame  {'server':>8} {'x quart':>8} {'clients':>8} {'redis':>7}")
    for r in results:
        cpu = r["cpu_us_per_frame"]
        r["server_cpu_vs_quart"] = rt.ratio(cpu["server"], base["cpu_us_per_frame"]["server"])
        print(
            f"{r['target']:<27} {cpu['server']:>8.1f} {rt.fmt(r['server_cpu_vs_quart']):>8} "
            f"{cpu['clients']:>8.1f} {cpu['redis']:>7.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000, help="connected clients")
    parser.add_argument("--messages", type=int, default=60, help="messages broadcast")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between messages")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per target; median kept")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to receive")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--quick", action="store_true", help="a small run (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="write the results here")
    for internal in ("--serve", "--port", "--client"):
        parser.add_argument(internal, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, int(args.port))
    if args.client:
        result = asyncio.run(clients(args.client, args.clients, args.messages, args.timeout))
        print(json.dumps(result), flush=True)
        return None
    if args.quick:
        args.clients, args.messages, args.interval, args.repeat = 200, 30, 0.05, 1
        args.timeout = min(args.timeout, 30)
    raise_open_files()
    affinity = sorted(os.sched_getaffinity(0))
    pinned = len(affinity) >= 2 and not args.no_pin
    cpus = (_pin(affinity[0]), _pin(affinity[1])) if pinned else (None, None)
    targets = [t for t in args.targets.split(",") if t]
    if "quart" not in targets:
        targets.insert(0, "quart")  # the baseline
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
    for _ in range(args.repeat):
        for target in targets:  # interleaved, so drift hits every target alike
            r = measure(target, args, cpus)
            runs[target].append(r)
            print(
                f"  {target}: p50 {r['delivery']['p50_ms']:.2f} ms, "
                f"p99 {r['delivery']['p99_ms']:.2f} ms, missing {r['missing']}",
                file=sys.stderr,
            )
    key = lambda r: r["delivery"]["p50_ms"]  # noqa: E731
    results = [sorted(runs[t], key=key)[(len(runs[t]) - 1) // 2] for t in targets]
    report(results, args)
    print(
        "every run's p50 ms: "
        + "; ".join(
            f"{t} " + ", ".join(f"{r['delivery']['p50_ms']:.1f}" for r in runs[t]) for t in targets
        )
    )
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "serve", "port", "client")}
    report_ = {"settings": settings, "pinned": pinned, "results": results, "runs": runs}
    rt.write_json(args.json, report_)
    return None


if __name__ == "__main__":
    main()
