"""Community reads through the whole kernel vs bare asyncpg running the same statements,
and search latency.

A fresh PostgreSQL database gets the kernel's and the community plugin's migrations,
2,000 discussions over 10 courses (two pinned in each), 100,000 replies, and one
discussion holding a 200-reply thread (20 top-level replies with 9 answers each; 40 of
them and the discussion carry reactions). Then, in the same run, for each read:

- kernel: ``lyo serve`` (one worker, production settings, Redis; Hypercorn, or Granian
  with ``--server granian``, or both with ``--server both``: each read answered by both
  servers in the same round, against the same baseline run, the one going first
  changing from turn to turn) with the community plugin, loaded by wrk (or, where wrk
  is not installed, ``bench/_load.py``; ``--httpx``: this script's httpx client, as the
  figures before 2026-12-07 22:00 were taken; all uncompressed) from another process,
  anonymous:
  ``GET /api/community/discussions?course_id=...&sort=active`` (a course's active
  discussions, the first numbered page of 20 with its total: ``list``),
  ``GET /api/community/courses/{id}/discussions?sort=active`` (the same as the course's
  feed, the first cursor page of 20: ``feed``) and ``GET /api/community/discussions/{id}``
  (the 200-reply thread: the discussion, its reactions and one page of 20 top-level
  replies with their subtrees: ``thread``). Twice: with the plugin's read cache (the
  default) and without it (``LYO_COMMUNITY__READ_CACHE_TTL=0``: every read runs its
  statements). In every round the same server also answers the trivial kernel route
  (``/health/live``), for what the HTTP stack alone costs;
- asyncpg: the statements the uncached route runs (same columns, same order, same
  limits; the listing's ``count(*)`` and page, the feed's page, the thread's four),
  shaped into the same JSON with orjson, by as many concurrent coroutines as the load
  generator has connections, over a 10-connection pool, in its own process;
- search: ``GET /api/community/search?q=...`` one request at a time, p50/p99.

Kernel runs and baseline runs alternate (``--rounds``); the figures are medians over
rounds. The main figure is CPU time per answer, server against baseline process
(``/proc/<pid>/stat`` of the server and all its descendants, as Granian serves from a
worker process; ``time.process_time()``): on a machine shared with other
work it moves much less than throughput. PostgreSQL's and Redis's own CPU is counted
for neither side.

Run from the repository root (``pip install -e . -e plugins/community``)::

    python bench/community.py            # --quick: one short round
    python bench/community.py --server both
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = os.path.dirname(sys.path[0])  # run as a script: import bench.learning

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import time
import urllib.request
import uuid
from typing import Any

from bench._community import BIG, COURSES, run_baseline, seed
from bench._load import server_cpu
from bench.learning import free_port, percentiles, pins, wrk

POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TERMS = ["bowline knot", "reef", "sheet bend", '"figure eight"', "hitch -clove"]

#: the runs of the trivial route (``/health/live``), measured in every round
FLOOR = "floor"


# -- load ------------------------------------------------------------------------------------


async def run_load(url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    import httpx

    durations: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency)
    # uncompressed, as wrk asks: the baseline compresses nothing either
    headers = {"Accept-Encoding": "identity"}
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:

        async def lane() -> None:
            nonlocal errors
            while (started := time.perf_counter()) < deadline:
                response = await client.get(url)
                errors += response.status_code != 200
                durations.append(time.perf_counter() - started)

        begun = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begun
    return {"rps": len(durations) / elapsed, **percentiles(durations),
            "requests": len(durations), "errors": errors}  # fmt: skip


def load(url: str, seconds: float, args: argparse.Namespace, pin: Any) -> dict[str, Any]:
    """wrk where installed, else ``bench/_load.py`` (raw keep-alive HTTP/1.1, tens of
    microseconds a request), or this script's httpx client with ``--httpx``: each in a
    process of its own on ``pin``'s CPU."""
    if args.generator == "wrk":
        return wrk(url, seconds, args.connections, pin)
    cmd = [sys.executable, "-m", "bench._load", url] if args.generator == "raw" else [
        sys.executable, __file__, "--load", url]  # fmt: skip
    cmd += ["--seconds", str(seconds), "--connections", str(args.connections)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=pin,
                         cwd=ROOT)  # fmt: skip
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def baseline(url: str, name: str, seconds: float, connections: int, pin: Any) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--baseline", url, "--scenario", name,
           "--seconds", str(seconds), "--connections", str(connections)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=pin)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


# -- the run -------------------------------------------------------------------------------


def env_for(url: str, cached: bool) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
        "LYO_ENV": "production",
        "LYO_DATABASE_URL": url,
        "LYO_PLUGINS__ENABLED": "community",
        "LYO_SECRET_KEY": "bench-" + "k" * 40,
        "LYO_REDIS_URL": REDIS_URL,
        "LYO_REDIS_PREFIX": f"bench-community-{uuid.uuid4().hex[:8]}",
        "LYO_TRUSTED_HOSTS": "127.0.0.1",
        "LYO_COMMUNITY__READ_CACHE_TTL": "60" if cached else "0",
    }


def start_server(
    url: str, cached: bool, pin: Any, kind: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kernel", "serve", "--port", str(port), "--server", kind],
        env=env_for(url, cached),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pin,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/community/discussions/{BIG}") as answer:
                thread = json.loads(answer.read())
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not answer") from None
            time.sleep(0.3)
    replies = sum(1 + len(r["children"]) for r in thread["replies"]["items"])
    assert replies == 200, replies
    return server, base


Runs = dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]


def served(server: Any, target: str, args: argparse.Namespace, pin: Any) -> dict[str, Any]:
    """Load ``target`` for ``args.seconds``; the server's CPU per answer summed over its
    whole process tree (Granian serves from worker processes)."""
    cpu = server_cpu(server.pid)
    result = load(target, args.seconds, args, pin)
    result["cpu_ms"] = (server_cpu(server.pid) - cpu) * 1000 / result["requests"]
    return result


def turns(servers: dict[str, Any], n: int) -> list[tuple[str, Any]]:
    """The servers in turn ``n``: the one that goes first changes from turn to turn."""
    order = list(servers.items())
    return order if n % 2 == 0 else order[::-1]


def measure(
    url: str, cached: bool, args: argparse.Namespace, pin: tuple[Any, Any]
) -> tuple[dict[str, Runs], list[float]]:
    """Per HTTP server: alternating kernel and baseline runs per read (every server
    answers each read in the same round, against the same baseline run); search
    latencies (cached, the first server)."""
    servers = {kind: start_server(url, cached, pin[0], kind) for kind in args.servers}
    paths = {
        "list": f"/api/community/discussions?course_id={COURSES[3]}&sort=active",
        "feed": f"/api/community/courses/{COURSES[3]}/discussions?sort=active",
        "thread": f"/api/community/discussions/{BIG}",
    }
    runs: dict[str, Runs] = {kind: {name: [] for name in paths} for kind in servers}
    latencies: list[float] = []
    mode = "cached" if cached else "uncached"
    try:
        for _, base in servers.values():
            for path in paths.values():
                load(base + path, 1, args, pin[1])  # warm-up
        for n in range(args.rounds):
            # the floor, every round: what a trivial kernel route costs the same server
            for kind, (server, base) in turns(servers, n):
                floor = served(server, f"{base}/health/live", args, pin[1])
                runs[kind].setdefault(FLOOR, []).append((floor, {}))
                print(f"  {kind} /health/live: {floor['rps']:.0f} req/s, "
                      f"{floor['cpu_ms']:.2f} CPU ms", file=sys.stderr)  # fmt: skip
            for k, (name, path) in enumerate(paths.items()):
                kernel = {kind: served(s, base + path, args, pin[1])
                          for kind, (s, base) in turns(servers, n + k + 1)}  # fmt: skip
                bare = baseline(url, name, args.seconds, args.connections, pin[0])
                for kind in servers:
                    result = kernel[kind]
                    runs[kind][name].append((result, bare))
                    print(f"  {kind} {mode} {name}: kernel {result['rps']:.0f} req/s "
                          f"{result['cpu_ms']:.2f} CPU ms, asyncpg {bare['rps']:.0f} "
                          f"pages/s {bare['cpu_ms']:.2f} CPU ms", file=sys.stderr)  # fmt: skip
        if cached:
            base = next(iter(servers.values()))[1]
            for n in range(args.searches):
                term = urllib.request.quote(TERMS[n % len(TERMS)])
                started = time.perf_counter()
                with urllib.request.urlopen(f"{base}/api/community/search?q={term}") as answer:
                    answer.read()
                latencies.append(time.perf_counter() - started)
    finally:
        for server, _ in servers.values():
            server.terminate()
        for server, _ in servers.values():
            server.wait(timeout=30)
    return runs, latencies


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(mode: str, runs: Runs) -> None:
    floors = [k["cpu_ms"] for k, _ in runs[FLOOR]]
    for name, pairs in runs.items():
        if name == FLOOR:
            continue
        k_cpu = median([k["cpu_ms"] for k, _ in pairs])
        b_cpu = median([b["cpu_ms"] for _, b in pairs])
        cpu_ratio = median([b["cpu_ms"] / k["cpu_ms"] for k, b in pairs])
        wall_ratio = median([k["rps"] / b["rps"] for k, b in pairs])
        each = ", ".join(f"{b['cpu_ms'] / k['cpu_ms']:.2f}" for k, b in pairs)
        # what the HTTP stack alone (the trivial route, same round) costs, per bare answer
        floor = median([f / b["cpu_ms"] for f, (_, b) in zip(floors, pairs, strict=True)])
        k_rps, b_rps = median([k["rps"] for k, _ in pairs]), median([b["rps"] for _, b in pairs])
        k50, k99 = median([k["p50_ms"] for k, _ in pairs]), median([k["p99_ms"] for k, _ in pairs])
        errors = sum(k.get("errors", 0) for k, _ in pairs)
        print(
            f"| {name} | {mode} | {k_cpu:.2f} / {b_cpu:.2f} | **{cpu_ratio:.2f}** ({each}) | "
            f"{floor:.2f} | {k_rps:.0f} / {b_rps:.0f} | {wall_ratio:.2f} | "
            f"{k50:.1f} / {k99:.1f} | {errors} |"
        )
    rps = median([k["rps"] for k, _ in runs[FLOOR]])
    each = ", ".join(f"{f:.2f}" for f in floors)
    print(f"| /health/live | {mode} | {median(floors):.2f} ({each}) | | | {rps:.0f} | | | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument(
        "--server",
        choices=["hypercorn", "granian", "both"],
        default="hypercorn",
        help="the HTTP server lyo serve runs (both: each read on both, same rounds)",
    )
    parser.add_argument(
        "--httpx",
        action="store_true",
        help="load with this script's httpx client (as before), not bench/_load.py",
    )
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        result = asyncio.run(
            run_baseline(args.baseline, args.scenario, args.seconds, args.connections)
        )
        print(json.dumps(result))
        return
    if args.load:
        print(json.dumps(asyncio.run(run_load(args.load, args.seconds, args.connections))))
        return
    if args.quick:
        args.rounds, args.seconds, args.searches = 1, 3.0, 60
    args.servers = ["hypercorn", "granian"] if args.server == "both" else [args.server]
    args.generator = "httpx" if args.httpx else "wrk" if shutil.which("wrk") else "raw"
    database = f"bench_community_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    url = f"{POSTGRES}/{database}"
    load_before = os.getloadavg()
    try:
        subprocess.run([sys.executable, "-m", "kernel", "migrate"], env=env_for(url, True),
                       check=True, capture_output=True)  # fmt: skip
        began = time.perf_counter()
        asyncio.run(seed(url))
        print(
            f"seeded 2,000 discussions and 100,000 replies in {time.perf_counter() - began:.0f} s"
        )
        server_pin, load_pin, pinned = pins(args.no_pin)
        cached, latencies = measure(url, True, args, (server_pin, load_pin))
        uncached, _ = measure(url, False, args, (server_pin, load_pin))
    finally:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", database])
    generator = {"wrk": "wrk", "raw": "bench/_load.py", "httpx": "httpx (this script)"}[
        args.generator
    ]
    print(
        f"\nload: {generator}, {args.connections} connections, {args.rounds} round(s) of "
        f"{args.seconds:.0f} s per read and side, pinned: {pinned}, load average before: "
        f"{', '.join(f'{x:.1f}' for x in load_before)}, after: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        "| read | server | CPU ms per answer: kernel / asyncpg | CPU ratio (each round) | "
        "trivial route / asyncpg CPU | req/s: kernel / asyncpg | wall ratio | "
        "kernel p50 / p99 ms | errors |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind in args.servers:
        report(f"read cache, {kind}", cached[kind])
    for kind in args.servers:
        report(f"no cache, {kind}", uncached[kind])
    cuts = percentiles(latencies)
    print(
        f"\nsearch over 102,000 posts, one request at a time: p50 {cuts['p50_ms']} ms, "
        f"p99 {cuts['p99_ms']} ms ({len(latencies)} requests)"
    )


if __name__ == "__main__":
    main()
