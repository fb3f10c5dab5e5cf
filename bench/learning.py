"""Course listing through the whole kernel vs a bare asyncpg query of the same page.

A fresh PostgreSQL database gets the kernel's and the learning plugin's migrations and
10,000 courses (3 lessons and 2 tags each, 90 % published). Then, in the same run:

- kernel: ``lyo serve`` (Hypercorn, one worker, production settings: JSON access log,
  Redis, no docs) with the learning plugin and an auth stand-in, loaded by wrk (or, without
  wrk, ``bench/_load.py``, raw keep-alive HTTP/1.1) in another process, for each listing below;
- asyncpg: the same page fetched with asyncpg alone (the count, the page, its tags, its
  lesson outlines: the four statements the route runs) and encoded to JSON with orjson,
  by as many concurrent coroutines as wrk has connections, in one process.

Server and baseline each get the first CPU, the load generator the second (when there
are two); PostgreSQL runs unpinned. Run from the repository root::

    pip install -e . -e plugins/learning     # and apt-get install -y wrk
    python bench/learning.py                 # --quick for a short run

It prints a table and writes it into ``bench/README-learning.md`` (``--readme``).
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # run as ``python bench/learning.py``: bench/http.py would hide the stdlib's

import argparse
import asyncio
import json
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points, version
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDIN_DIR = os.path.join(ROOT, "plugins", "learning", "tests")
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
README = os.path.join(ROOT, "bench", "README-learning.md")
TAGS = ["python", "sql", "rust", "go", "web", "data", "ml", "devops", "security", "design"]
LEVELS = ["beginner", "intermediate", "advanced"]
Pin = Callable[[], None] | None
CATALOG_TTL = ["60"]  # the server's catalog cache (--catalog-ttl; 0: no cache)

# -- the listings measured, as URLs and as the SQL of the same page ------------------------

PAGE_COLUMNS = (
    "id, title, slug, description, level, status, author_id, metadata, created_at, "
    "updated_at, published_at"
)
SCENARIOS: dict[str, dict[str, Any]] = {
    "catalog, page 1": {
        "query": "page=1&size=20",
        "where": "c.status = 'published'",
        "args": [],
        "offset": 0,
    },
    "tag + level, page 3": {
        "query": "tag=python&level=advanced&page=3&size=20",
        "where": "c.status = 'published' AND c.level = $1 AND t.name = $2",
        "join": "JOIN learning_course_tag t ON t.course_id = c.id",
        "args": ["advanced", "python"],
        "offset": 40,
    },
    "text search, page 1": {
        "query": "q=lesson%2042&page=1&size=20",
        # the statement Tortoise's icontains makes, served by the trigram indexes
        "where": "c.status = 'published' AND "
        "(UPPER(c.title) LIKE UPPER($1) OR UPPER(c.description) LIKE UPPER($1))",
        "args": ["%lesson 42%"],
        "offset": 0,
    },
}


def page_sql(scenario: dict[str, Any]) -> tuple[str, str]:
    source = f"learning_course c {scenario.get('join', '')}"
    count = f"SELECT count(*) FROM {source} WHERE {scenario['where']}"
    columns = ", ".join(f"c.{name.strip()}" for name in PAGE_COLUMNS.split(","))
    page = (
        f"SELECT {columns} FROM {source} WHERE {scenario['where']} "
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT 20 OFFSET {scenario['offset']}"
    )
    return count, page


# -- database ------------------------------------------------------------------------------


def dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def create_database() -> str:
    import asyncpg  # type: ignore[import-untyped]

    name = f"lyo_bench_learning_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn(POSTGRES) + "/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{POSTGRES}/{name}"


async def drop_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(dsn(POSTGRES) + "/postgres")
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await admin.close()


async def seed(url: str, count: int) -> int:
    """``count`` courses with 3 lessons and 2 tags each; returns how many are published."""
    import asyncpg

    rng = random.Random(42)
    now = datetime.now(UTC)
    courses, lessons, tags, published = [], [], [], 0
    for n in range(count):
        course_id = uuid.uuid4()
        status = "draft" if n % 20 == 0 else "archived" if n % 20 == 1 else "published"
        published += status == "published"
        created = now - timedelta(seconds=count - n)
        courses.append((
            course_id, f"Course {n}: {rng.choice(TAGS)} in practice", f"course-{n}",
            f"Lesson {n} of the catalogue, about {rng.choice(TAGS)}.", LEVELS[n % 3], status,
            str(uuid.uuid4()), "{}", created, created,
            created if status == "published" else None,
        ))  # fmt: skip
        for position in range(3):
            content = json.dumps([{"type": "text", "text": f"Part {position} " * 40}])
            lessons.append((
                uuid.uuid4(), course_id, position, f"Part {position}", content, 10, created,
                created,
            ))  # fmt: skip
        tags.extend((course_id, name) for name in rng.sample(TAGS, 2))
    connection = await asyncpg.connect(dsn(url))
    try:
        await connection.copy_records_to_table(
            "learning_course", records=courses, columns=[c.strip() for c in PAGE_COLUMNS.split(",")]
        )
        await connection.copy_records_to_table(
            "learning_lesson",
            records=lessons,
            columns=["id", "course_id", "position", "title", "content", "estimated_minutes",
                     "created_at", "updated_at"],
        )  # fmt: skip
        await connection.copy_records_to_table(
            "learning_course_tag", records=tags, columns=["course_id", "name"]
        )
        await connection.execute("VACUUM ANALYZE")  # as autovacuum would after a load
    finally:
        await connection.close()
    return published


# -- the kernel's server -------------------------------------------------------------------


def kernel_env(url: str, env: str) -> dict[str, str]:
    """``lyo`` with the learning plugin and, unless the real one is installed, the auth
    stand-in; production settings unless ``env`` says otherwise."""
    real_auth = any(ep.name == "auth" for ep in entry_points(group="lyo.plugins"))
    values = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
        "LYO_ENV": env,
        "LYO_DATABASE_URL": url,
        "LYO_PLUGINS__ENABLED": "auth,learning",
        "LYO_SECRET_KEY": "bench-" + "k" * 40,
        "LYO_REDIS_URL": REDIS_URL,
        "LYO_REDIS_PREFIX": f"bench-learning-{uuid.uuid4().hex[:8]}",
        "LYO_LEARNING__CATALOG_TTL": CATALOG_TTL[0],
    }
    if not real_auth:
        values["LYO_PLUGINS__MODULES"] = "learning_auth_standin"
        values["PYTHONPATH"] = STANDIN_DIR + os.pathsep + os.environ.get("PYTHONPATH", "")
    return values


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_listing(url: str, proc: subprocess.Popen[bytes], published: int) -> None:
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url) as answer:
                body = json.loads(answer.read())
            break
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer in 90 s") from None
            time.sleep(0.3)
    if body["total"] != published or len(body["items"]) != 20:
        raise SystemExit(f"unexpected listing: total {body['total']}, {len(body['items'])} items")


# -- load: wrk, or bench/_load.py (raw asyncio HTTP/1.1) ------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, connections: int, pin: Pin) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=pin).stdout
    pcts = re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    latency = {pct: float(value) * _UNITS[unit] for pct, value, unit in pcts}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.findall(r"Requests/sec:\s+([\d.]+)", out)[0]),
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "requests": int(re.findall(r"(\d+) requests in", out)[0]),
        "errors": int(bad[1]) if bad else 0,
    }


def python_load(url: str, seconds: float, connections: int, pin: Pin) -> dict[str, Any]:
    """``bench/_load.py`` in its own process: a few tens of microseconds of its own CPU per
    request (httpx, used before, cost ten times that and kept the server idle between
    requests, which inflated the server's CPU per answer)."""
    cmd = [sys.executable, "-m", "bench._load", url, "--seconds", str(seconds),
           "--connections", str(connections)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=pin, cwd=ROOT)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


# -- the asyncpg baseline ------------------------------------------------------------------


async def run_baseline(url: str, name: str, seconds: float, concurrency: int) -> dict[str, Any]:
    """The same page, as the route builds it, with asyncpg and orjson only."""
    import asyncpg
    import orjson

    scenario = SCENARIOS[name]
    count_sql, page_sql_ = page_sql(scenario)
    tags_sql = (
        "SELECT course_id, id, name FROM learning_course_tag WHERE course_id = ANY($1) ORDER BY id"
    )
    lessons_sql = (
        "SELECT id, course_id, position, title, estimated_minutes FROM learning_lesson "
        "WHERE course_id = ANY($1) ORDER BY position"
    )
    pool = await asyncpg.create_pool(dsn(url), min_size=10, max_size=10)
    durations: list[float] = []

    async def one_page() -> bytes:
        total = await pool.fetchval(count_sql, *scenario["args"])
        rows = await pool.fetch(page_sql_, *scenario["args"])
        ids = [row["id"] for row in rows]
        by_course: dict[Any, dict[str, list[Any]]] = {i: {"tags": [], "lessons": []} for i in ids}
        for tag in await pool.fetch(tags_sql, ids):
            by_course[tag["course_id"]]["tags"].append(tag["name"])
        for lesson in await pool.fetch(lessons_sql, ids):
            by_course[lesson["course_id"]]["lessons"].append(dict(lesson))
        items = []
        for row in rows:
            extra = by_course[row["id"]]
            items.append({
                **dict(row), "metadata": orjson.loads(row["metadata"]), "tags": extra["tags"],
                "lesson_count": len(extra["lessons"]),
                "estimated_minutes": sum(x["estimated_minutes"] for x in extra["lessons"]),
                "lessons": extra["lessons"],
            })  # fmt: skip
        page = {"items": items, "total": total, "page": scenario["offset"] // 20 + 1, "size": 20}
        return orjson.dumps({**page, "pages": -(-total // 20)}, default=str)

    for _ in range(20):  # warm the pool's prepared statements
        await one_page()
    deadline = time.perf_counter() + seconds

    async def lane() -> None:
        while (started := time.perf_counter()) < deadline:
            await one_page()
            durations.append(time.perf_counter() - started)

    begun, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - begun, time.process_time() - cpu
    await pool.close()
    return {
        "rps": len(durations) / elapsed,
        **percentiles(durations),
        "cpu_ms": round(cpu * 1000 / len(durations), 3),
        "errors": 0,
    }


def baseline(url: str, name: str, seconds: float, connections: int, pin: Pin) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--baseline", url, "--scenario", name,
           "--seconds", str(seconds), "--concurrency", str(connections)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=pin)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2)}


# -- the run -------------------------------------------------------------------------------


def pins(no_pin: bool) -> tuple[Pin, Pin, bool]:
    affinity = sorted(os.sched_getaffinity(0))
    if no_pin or len(affinity) < 2:
        return None, None, False
    first, second = affinity[0], affinity[1]
    return (
        lambda: os.sched_setaffinity(0, {first}),
        lambda: os.sched_setaffinity(0, {second}),
        True,
    )


def load_generator(args: argparse.Namespace) -> Callable[..., dict[str, Any]]:
    return wrk if shutil.which("wrk") and not args.python_load else python_load


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_one(
    server_pid: int,
    base: str,
    name: str,
    scenario: dict[str, Any],
    url: str,
    args: argparse.Namespace,
    pins_: tuple[Pin, Pin],
) -> dict[str, Any]:
    """One listing through the kernel, then the same page with asyncpg."""
    target = f"{base}?{scenario['query']}"
    load = load_generator(args)
    load(target, args.warmup, args.connections, pins_[1])
    cpu = cpu_seconds(server_pid)
    kernel = load(target, args.duration, args.connections, pins_[1])
    kernel["cpu_ms"] = round((cpu_seconds(server_pid) - cpu) * 1000 / kernel["requests"], 3)
    bare = baseline(url, name, args.duration, args.connections, pins_[0])
    print(f"  {name}: kernel {kernel['rps']:.0f} req/s, asyncpg {bare['rps']:.0f} pages/s",
          file=sys.stderr)  # fmt: skip
    return {
        "url": target,
        "kernel": kernel,
        "asyncpg": bare,
        "ratio": kernel["rps"] / bare["rps"],
        "cpu_ratio": bare["cpu_ms"] / kernel["cpu_ms"],
    }


def summarize(name: str, runs: list[dict[str, Any]], port: int) -> dict[str, Any]:
    """The median run of each side, and the median of the paired ratios (each ratio pairs
    two measurements taken back to back, so machine drift cancels best there)."""

    def median_run(side: str) -> dict[str, Any]:
        ordered = sorted((r[side] for r in runs), key=lambda x: x["rps"])
        return ordered[(len(ordered) - 1) // 2]

    return {
        "scenario": name,
        "url": runs[0]["url"].split(str(port), 1)[1],
        "kernel": median_run("kernel"),
        "asyncpg": median_run("asyncpg"),
        "ratio": round(statistics.median(r["ratio"] for r in runs), 3),
        "ratios": [round(r["ratio"], 3) for r in runs],
        "cpu_ratio": round(statistics.median(r["cpu_ratio"] for r in runs), 3),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    server_pin, load_pin, pinned = pins(args.no_pin)
    pins_ = (server_pin, load_pin)
    load = load_generator(args)
    load_before = [round(x, 2) for x in os.getloadavg()]
    url = asyncio.run(create_database())
    try:
        migrate = subprocess.run(
            [sys.executable, "-m", "kernel", "migrate"],
            cwd=ROOT, env=kernel_env(url, "test"), capture_output=True, text=True,
        )  # fmt: skip
        if migrate.returncode != 0:
            raise SystemExit(f"lyo migrate failed:\n{migrate.stdout}{migrate.stderr}")
        started = time.perf_counter()
        published = asyncio.run(seed(url, args.courses))
        print(f"seeded {args.courses} courses in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)  # fmt: skip
        port = free_port()
        cmd = [sys.executable, "-m", "kernel", "serve", "--port", str(port), "--workers", "1"]
        with tempfile.TemporaryFile() as log:
            server = subprocess.Popen(
                cmd, cwd=ROOT, env=kernel_env(url, args.env), stdout=log, stderr=log,
                preexec_fn=server_pin,
            )  # fmt: skip
            try:
                base = f"http://127.0.0.1:{port}/api/learning/courses"
                wait_until_listing(f"{base}?page=1&size=20", server, published)
                runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SCENARIOS}
                for _ in range(args.repeat):  # interleaved, so drift hits every listing
                    for name, scenario in SCENARIOS.items():
                        runs[name].append(
                            measure_one(server.pid, base, name, scenario, url, args, pins_)
                        )
                results = [summarize(name, runs[name], port) for name in SCENARIOS]
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(20)
                except subprocess.TimeoutExpired:
                    server.kill()
    finally:
        if not args.keep:
            asyncio.run(drop_database(url))
    return {
        "settings": {
            "courses": args.courses, "published": published, "duration_s": args.duration,
            "connections": args.connections, "pinned": pinned,
            "load": "wrk" if load is wrk else "bench/_load.py",
            "env": args.env, "repeat": args.repeat, "catalog_ttl": args.catalog_ttl,
            "load_average_before": load_before,
        },
        "machine": {
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "packages": {p: version(p) for p in ("quart", "hypercorn", "tortoise-orm", "asyncpg")},
        },
        "results": results,
    }  # fmt: skip


def table(report: dict[str, Any]) -> str:
    lines = [
        "| listing | kernel req/s | p50 / p99 ms | asyncpg pages/s | p50 / p99 ms "
        "| kernel / asyncpg (each run) | CPU ms: kernel / asyncpg | CPU ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["results"]:
        k, b = r["kernel"], r["asyncpg"]
        runs = ", ".join(f"{x:.2f}" for x in r["ratios"])
        lines.append(
            f"| {r['scenario']} | {k['rps']:.0f} | {k['p50_ms']:.1f} / {k['p99_ms']:.1f} "
            f"| {b['rps']:.0f} | {b['p50_ms']:.1f} / {b['p99_ms']:.1f} "
            f"| **{r['ratio']:.2f}** ({runs}) | {k['cpu_ms']:.2f} / {b['cpu_ms']:.2f} "
            f"| **{r['cpu_ratio']:.2f}** |"
        )
    lines.append("")
    lines.extend(f"- {r['scenario']}: `GET {r['url']}`" for r in report["results"])
    return "\n".join(lines)


def write_readme(path: str, report: dict[str, Any], command: str) -> None:
    s, m = report["settings"], report["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    text = f"""# Benchmark: course listing (learning plugin)

Written by `{command}` on {datetime.now(UTC):%Y-%m-%d}.
Machine: {m["cpus"]} CPUs, Python {m["python"]}, {m["platform"]}.
Packages: {packages}.

## What runs

- A fresh PostgreSQL database with the kernel's and the plugin's migrations and
  {s["courses"]:,} courses ({s["published"]:,} published), 3 lessons and 2 tags each.
- **kernel**: `lyo serve` (Hypercorn, 1 worker, `LYO_ENV={s["env"]}`: JSON access log,
  Redis, trusted hosts, security headers) with the learning plugin and an auth stand-in;
  catalog cache `LYO_LEARNING__CATALOG_TTL={s["catalog_ttl"]}` (0: every page built from
  the database; otherwise repeated pages come from the cache in Redis).
  Load: {s["load"]}, {s["connections"]} connections, {s["duration_s"]:g} s per listing
  after a warm-up.
- **asyncpg**: the same page, i.e. the four statements the route runs (count, page, its
  tags, its lesson outlines), with a 10-connection asyncpg pool (the kernel's pool size),
  assembled and encoded with orjson; {s["connections"]} concurrent coroutines, one process.
- Server and baseline pinned to one CPU, the load generator to the other (pinned:
  {s["pinned"]}); PostgreSQL unpinned on the same machine. Runs per listing:
  {s["repeat"]}, interleaved, each kernel run followed at once by its baseline. The table shows the
  median run of each side and the median of the paired ratios (each run's ratio in
  brackets). Load average before the run: {s["load_average_before"]}: on a shared machine
  the absolute figures move with whatever else runs; the paired ratios move less.

## Results

{table(report)}

"kernel / asyncpg" is the share of the bare driver's throughput left once HTTP, the
kernel's middleware, Tortoise ORM (query building, rows), pydantic (the response model)
and JSON encoding are added on the same CPU. "CPU ms" is the CPU time the server process
spent per request, and the baseline process per page (`/proc/<pid>/stat` and
`time.process_time()`), over the same runs; their ratio (asyncpg / kernel) depends much
less on what else the machine was doing, so it is the steadier figure on a shared host.
Without the catalog cache the database's work is the same for both (count, page, tags,
outlines; text search on the trigram indexes of migration 2); with it, the kernel
answers a repeated page with two Redis reads (the catalog version, the page) and sends
the cached JSON as it is, while the baseline still runs its four statements.
"""
    with open(path, "w") as out:
        out.write(text)
    print(f"wrote {os.path.relpath(path, ROOT)}", file=sys.stderr)


def stats_section(args: argparse.Namespace) -> None:
    """The instructor statistics section: ``bench/learning_stats.py`` (its own module,
    loaded by path: the bench folder is off ``sys.path``; it reuses this one's helpers)."""
    import importlib.util

    sys.modules.setdefault("learning", sys.modules[__name__])
    path = os.path.join(ROOT, "bench", "learning_stats.py")
    spec = importlib.util.spec_from_file_location("learning_stats", path)
    assert spec is not None and spec.loader is not None
    section = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(section)
    readme = section.README if args.readme == README else args.readme
    misses, hits = (10, 100) if args.quick else (30, 400)
    section.run(args.enrollments, misses, hits, readme, args.quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one run of 3 s per listing, 1 s warm-up"
    )
    parser.add_argument("--courses", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=10, help="seconds per listing")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="runs per listing; medians kept")
    parser.add_argument("--env", default="production", help="LYO_ENV of the server")
    parser.add_argument(
        "--catalog-ttl", default="60", help="LYO_LEARNING__CATALOG_TTL (0: every page built)"
    )
    parser.add_argument("--python-load", action="store_true", help="bench/_load.py, not wrk")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    parser.add_argument("--readme", default=README, help="write the results here ('' = no)")
    parser.add_argument(
        "--stats", action="store_true", help="the instructor statistics section instead"
    )
    parser.add_argument("--enrollments", type=int, default=10_000, help="for --stats")
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    CATALOG_TTL[0] = args.catalog_ttl
    if args.baseline:
        result = run_baseline(args.baseline, args.scenario, args.seconds, args.concurrency)
        print(json.dumps(asyncio.run(result)))
        return
    if args.stats:
        stats_section(args)
        return
    if args.quick:
        args.duration, args.warmup, args.repeat = 3, 1, 1
    report = measure(args)
    print("\n" + table(report))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    if args.readme:
        command = "python bench/learning.py" + (" --quick" if args.quick else "")
        write_readme(args.readme, report, command)


if __name__ == "__main__":
    main()
