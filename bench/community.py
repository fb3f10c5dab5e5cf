"""Community reads through the whole kernel vs bare asyncpg running the same statements,
and search latency.

A fresh PostgreSQL database gets the kernel's and the community plugin's migrations,
2,000 discussions over 10 courses (two pinned in each), 100,000 replies, and one
discussion holding a 200-reply thread (20 top-level replies with 9 answers each; 40 of
them and the discussion carry reactions). Then, in the same run, for each read:

- kernel: ``lyo serve`` (Hypercorn, one worker, production settings, Redis) with the
  community plugin, loaded by wrk (or this script's httpx load generator, asking for
  uncompressed answers as wrk does) from another process, anonymous:
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
rounds. The main figure is CPU time per answer, server process against baseline
process (``/proc/<pid>/stat``, ``time.process_time()``): on a machine shared with other
work it moves much less than throughput. PostgreSQL's and Redis's own CPU is counted
for neither side.

Run from the repository root (``pip install -e . -e plugins/community``)::

    python bench/community.py            # --quick: one short round
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = os.path.dirname(sys.path[0])  # run as a script: import bench.learning

import argparse
import asyncio
import json
import random
import shutil
import statistics
import subprocess
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.learning import cpu_seconds, free_port, percentiles, pins, wrk

POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
COURSES = [uuid.UUID(int=n + 1) for n in range(10)]
BIG = uuid.UUID(int=10**6)
TERMS = ["bowline knot", "reef", "sheet bend", '"figure eight"', "hitch -clove"]
WORDS = [  # noqa: RUF100
    "bowline",
    "reef",
    "knot",
    "sheet",
    "bend",
    "hitch",
    "clove",
    "figure",
    "eight",
    "rope",
    "line",
    "sail",
    "boat",
    "mast",
]

DISCUSSION_COLUMNS = (
    "id, title, body, body_html, author_id, category_id, course_id, lesson_id, tags, "
    "mentions, mentioned_users, pinned, locked, hidden, state, deleted_at, reply_count, "
    "reaction_count, view_count, created_at, edited_at, last_activity_at"
)
REPLY_COLUMNS = (
    "id, discussion_id, parent_id, depth, author_id, body, body_html, mentions, "
    "mentioned_users, hidden, state, deleted_at, reaction_count, created_at, edited_at"
)
PUBLIC_REPLY = "state = 'published' AND NOT hidden"
PUBLIC_COURSE = "state = 'published' AND NOT hidden AND deleted_at IS NULL AND course_id = $1"
ACTIVE_ORDER = "ORDER BY pinned DESC, last_activity_at DESC, id DESC"
#: the listing's first page: its total, then its rows
LIST_SQL = [
    f"SELECT count(*) FROM community_discussion WHERE {PUBLIC_COURSE}",
    f"SELECT {DISCUSSION_COLUMNS} FROM community_discussion WHERE {PUBLIC_COURSE} "
    f"{ACTIVE_ORDER} LIMIT 20 OFFSET 0",
]
#: the course feed's first page: one row more than it shows, for the cursor
FEED_SQL = (
    f"SELECT {DISCUSSION_COLUMNS} FROM community_discussion WHERE {PUBLIC_COURSE} "
    f"{ACTIVE_ORDER} LIMIT 21"
)
THREAD_SQL = [
    f"SELECT {DISCUSSION_COLUMNS} FROM community_discussion WHERE id = $1",
    f"SELECT {REPLY_COLUMNS} FROM community_reply WHERE {PUBLIC_REPLY} AND discussion_id = $1 "
    "AND depth = 1 ORDER BY created_at, id LIMIT 21",
    f"SELECT {REPLY_COLUMNS} FROM community_reply WHERE {PUBLIC_REPLY} AND root_id = ANY($1) "
    "ORDER BY depth, created_at, id",
    "SELECT target_id, kind, count(id) AS n FROM community_reaction WHERE "
    "(target_type = 'reply' AND target_id = ANY($1)) OR "
    "(target_type = 'discussion' AND target_id = ANY($2)) GROUP BY target_id, kind",
]


#: the runs of the trivial route (``/health/live``), measured in every round
FLOOR = "floor"


def dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


# -- data ----------------------------------------------------------------------------------


async def seed(url: str) -> None:
    import asyncpg

    rnd = random.Random(7)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn(url))

    def text(n: int) -> str:
        return " ".join(rnd.choice(WORDS) for _ in range(n))

    discussions, replies, reactions = [], [], []
    ids = [BIG] + [uuid.UUID(int=10**6 + n) for n in range(1, 2000)]
    for n, did in enumerate(ids):
        when = now - timedelta(minutes=rnd.randint(0, 100_000))
        body = text(30)
        pinned = 10 <= n < 30  # two per course
        discussions.append(
            (did, "a" + str(n % 300), body, f"<p>{body}</p>", "[]", "published", False, 0,
             when, text(6), COURSES[n % 10], "[]", pinned, False, 0, 0, when)
        )  # fmt: skip
    start = now - timedelta(days=1)
    for top in range(20):  # the big thread: 20 top-level replies, 9 answers each
        root = uuid.uuid4()
        replies.append(
            (root, "u1", text(20), "<p>x</p>", "[]", "published", False, 0,
             start + timedelta(seconds=top * 10), BIG, None, None, 1)
        )  # fmt: skip
        for k in range(9):
            replies.append(
                (uuid.uuid4(), "u2", text(20), "<p>x</p>", "[]", "published", False, 0,
                 start + timedelta(seconds=top * 10 + k + 1), BIG, root, root, 2)
            )  # fmt: skip
    for n, reply in enumerate(replies[:200:5]):  # 40 of them get two reactions each
        for kind in ("like", "thanks"):
            reactions.append((f"r{n}", "reply", reply[0], kind, now))
    reactions += [(f"d{n}", "discussion", BIG, "like", now) for n in range(5)]
    while len(replies) < 100_000:
        did = rnd.choice(ids[1:])
        replies.append(
            (uuid.uuid4(), "u3", text(15), "<p>x</p>", "[]", "published", False, 0,
             now - timedelta(minutes=rnd.randint(0, 100_000)), did, None, None, 1)
        )  # fmt: skip
    post = ["id", "author_id", "body", "body_html", "mentions", "state", "hidden",
            "reaction_count", "created_at"]  # fmt: skip
    await conn.copy_records_to_table(
        "community_discussion",
        records=discussions,
        columns=[
            *post,
            "title",
            "course_id",
            "tags",
            "pinned",
            "locked",
            "reply_count",
            "view_count",
            "last_activity_at",
        ],
    )
    await conn.copy_records_to_table(
        "community_reply",
        records=replies,
        columns=[*post, "discussion_id", "parent_id", "root_id", "depth"],
    )
    await conn.copy_records_to_table(
        "community_reaction",
        records=reactions,
        columns=["user_id", "target_type", "target_id", "kind", "created_at"],
    )
    for table, key in (("community_discussion", "discussion"), ("community_reply", "reply")):
        await conn.execute(
            f"UPDATE {table} t SET reaction_count = c.n FROM (SELECT target_id, count(*) n "
            f"FROM community_reaction WHERE target_type = '{key}' GROUP BY target_id) c "
            "WHERE c.target_id = t.id"
        )
    await conn.execute(
        "UPDATE community_discussion d SET reply_count = c.n FROM (SELECT discussion_id, "
        "count(*) n FROM community_reply GROUP BY discussion_id) c WHERE c.discussion_id = d.id"
    )
    await conn.execute("ANALYZE")
    await conn.close()


# -- the asyncpg baseline ------------------------------------------------------------------


def _discussion(row: Any) -> dict[str, Any]:
    deleted = row["deleted_at"] is not None
    out = {**dict(row), "held": row["state"] == "held", "deleted": deleted}
    for name in ("tags", "mentions", "mentioned_users"):
        if name in out:
            out[name] = json.loads(out[name])
    del out["state"], out["deleted_at"]
    return out


def _reply(row: Any) -> dict[str, Any]:
    out = _discussion(row)
    out.update(reactions={}, children=[])
    return out


async def run_baseline(url: str, name: str, seconds: float, concurrency: int) -> dict[str, Any]:
    import asyncpg
    import orjson

    pool = await asyncpg.create_pool(dsn(url), min_size=10, max_size=10)
    utc = orjson.OPT_UTC_Z

    async def listing() -> bytes:
        total = await pool.fetchval(LIST_SQL[0], COURSES[3])
        rows = await pool.fetch(LIST_SQL[1], COURSES[3])
        page = {"items": [_discussion(r) for r in rows], "total": total, "page": 1,
                "size": 20, "pages": -(-total // 20)}  # fmt: skip
        return orjson.dumps(page, option=utc, default=str)

    async def feed() -> bytes:
        rows = await pool.fetch(FEED_SQL, COURSES[3])
        page = {"items": [_discussion(r) for r in rows[:20]], "next_cursor": "x"}
        return orjson.dumps(page, option=utc, default=str)

    async def thread() -> bytes:
        discussion = await pool.fetchrow(THREAD_SQL[0], BIG)
        tops = (await pool.fetch(THREAD_SQL[1], BIG))[:20]
        nodes = {r["id"]: _reply(r) for r in tops}
        items = list(nodes.values())
        for r in await pool.fetch(THREAD_SQL[2], list(nodes)):
            node = _reply(r)
            nodes[r["parent_id"]]["children"].append(node)
            nodes[r["id"]] = node
        reacted = [i for i, node in nodes.items() if node["reaction_count"]]
        counts: dict[Any, dict[str, int]] = {}
        for r in await pool.fetch(THREAD_SQL[3], reacted, [BIG]):
            counts.setdefault(r["target_id"], {})[r["kind"]] = r["n"]
        for i in reacted:
            nodes[i]["reactions"] = counts.get(i, {})
        body = {
            **_discussion(discussion),
            "reactions": {"counts": counts.get(BIG, {}), "mine": []},
            "subscribed": False,
            "replies": {"items": items, "next_cursor": "x"},
        }
        return orjson.dumps(body, option=utc, default=str)

    page = {"list": listing, "feed": feed, "thread": thread}[name]
    for _ in range(20):
        await page()
    durations: list[float] = []
    deadline = time.perf_counter() + seconds

    async def lane() -> None:
        while (started := time.perf_counter()) < deadline:
            await page()
            durations.append(time.perf_counter() - started)

    cpu, begun = time.process_time(), time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - begun, time.process_time() - cpu
    await pool.close()
    return {
        "rps": len(durations) / elapsed,
        **percentiles(durations),
        "requests": len(durations),
        "cpu_ms": cpu * 1000 / len(durations),
    }


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


def load(url: str, seconds: float, connections: int, pin: Any) -> dict[str, Any]:
    if shutil.which("wrk"):
        return wrk(url, seconds, connections, pin)
    cmd = [sys.executable, __file__, "--load", url, "--seconds", str(seconds),
           "--connections", str(connections)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, preexec_fn=pin)
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


def start_server(url: str, cached: bool, pin: Any) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kernel", "serve", "--port", str(port)],
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


def measure(
    url: str, cached: bool, args: argparse.Namespace, pin: tuple[Any, Any]
) -> tuple[dict[str, list[tuple[dict[str, Any], dict[str, Any]]]], list[float]]:
    """Alternating kernel and baseline runs per read; search latencies (cached server)."""
    server, base = start_server(url, cached, pin[0])
    targets = {
        "list": f"{base}/api/community/discussions?course_id={COURSES[3]}&sort=active",
        "feed": f"{base}/api/community/courses/{COURSES[3]}/discussions?sort=active",
        "thread": f"{base}/api/community/discussions/{BIG}",
    }
    runs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {name: [] for name in targets}
    latencies: list[float] = []
    try:
        for target in targets.values():
            load(target, 1, args.connections, pin[1])  # warm-up
        for _ in range(args.rounds):
            # the floor, every round: what a trivial kernel route costs the same server
            cpu = cpu_seconds(server.pid)
            floor = load(f"{base}/health/live", args.seconds, args.connections, pin[1])
            floor["cpu_ms"] = (cpu_seconds(server.pid) - cpu) * 1000 / floor["requests"]
            runs.setdefault(FLOOR, []).append((floor, {}))
            print(f"  /health/live: {floor['rps']:.0f} req/s, {floor['cpu_ms']:.2f} CPU ms",
                  file=sys.stderr)  # fmt: skip
            for name, target in targets.items():
                cpu = cpu_seconds(server.pid)
                kernel = load(target, args.seconds, args.connections, pin[1])
                kernel["cpu_ms"] = (cpu_seconds(server.pid) - cpu) * 1000 / kernel["requests"]
                bare = baseline(url, name, args.seconds, args.connections, pin[0])
                runs[name].append((kernel, bare))
                print(f"  {'cached' if cached else 'uncached'} {name}: kernel "
                      f"{kernel['rps']:.0f} req/s {kernel['cpu_ms']:.2f} CPU ms, asyncpg "
                      f"{bare['rps']:.0f} pages/s {bare['cpu_ms']:.2f} CPU ms",
                      file=sys.stderr)  # fmt: skip
        if cached:
            for n in range(args.searches):
                term = urllib.request.quote(TERMS[n % len(TERMS)])
                started = time.perf_counter()
                with urllib.request.urlopen(f"{base}/api/community/search?q={term}") as answer:
                    answer.read()
                latencies.append(time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return runs, latencies


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(mode: str, runs: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]) -> None:
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
    generator = "wrk" if shutil.which("wrk") else "httpx (this script)"
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
    report("read cache", cached)
    report("no cache", uncached)
    cuts = percentiles(latencies)
    print(
        f"\nsearch over 102,000 posts, one request at a time: p50 {cuts['p50_ms']} ms, "
        f"p99 {cuts['p99_ms']} ms ({len(latencies)} requests)"
    )


if __name__ == "__main__":
    main()
