"""Community reads through the whole kernel vs bare asyncpg running the same statements,
and search latency.

A fresh PostgreSQL database gets the kernel's and the community plugin's migrations,
2,000 discussions over 10 courses and 100,000 replies, one discussion holding a
200-reply thread (20 top-level replies with 9 answers each). Then, in the same run:

- kernel: ``lyo serve`` (Hypercorn, one worker, production settings, Redis) with the
  community plugin, loaded by wrk (or an httpx load generator) in another process:
  ``GET /api/community/discussions?course_id=...&sort=active`` (a course's active
  discussions, 20 a page) and ``GET /api/community/discussions/{id}`` (the 200-reply
  thread: the discussion, its reactions and one page of 20 top-level replies with their
  subtrees);
- asyncpg: the same statements the routes run, with asyncpg and orjson alone, by as many
  concurrent coroutines as wrk has connections;
- search: ``GET /api/community/search?q=...`` one request at a time, p50/p99.

Run from the repository root (``pip install -e . -e plugins/community``)::

    python bench/community.py            # --quick: shorter
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
import subprocess
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.learning import cpu_seconds, free_port, percentiles, pins, python_load, wrk

POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
COURSES = [uuid.UUID(int=n + 1) for n in range(10)]
BIG = uuid.UUID(int=10**6)
TERMS = ["bowline knot", "reef", "sheet bend", '"figure eight"', "hitch -clove"]

LIST_SQL = (
    "SELECT * FROM community_discussion WHERE state = 'published' AND NOT hidden "
    "AND deleted_at IS NULL AND course_id = $1 ORDER BY last_activity_at DESC, id DESC LIMIT 21"
)
THREAD_SQL = [
    "SELECT * FROM community_discussion WHERE id = $1",
    "SELECT * FROM community_reply WHERE state = 'published' AND NOT hidden AND discussion_id = $1"
    " AND depth = 1 ORDER BY created_at, id LIMIT 21",
    "SELECT * FROM community_reply WHERE state = 'published' AND NOT hidden AND root_id = ANY($1)"
    " ORDER BY depth, created_at, id",
    "SELECT target_id, kind, count(id) FROM community_reaction WHERE target_type = 'reply' "
    "AND target_id = ANY($1) GROUP BY target_id, kind",
    "SELECT target_id, kind, count(id) FROM community_reaction WHERE target_type = 'discussion' "
    "AND target_id = ANY($1) GROUP BY target_id, kind",
]
WORDS = [
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

    discussions, replies = [], []
    ids = [BIG] + [uuid.UUID(int=10**6 + n) for n in range(1, 2000)]
    for n, did in enumerate(ids):
        when = now - timedelta(minutes=rnd.randint(0, 100_000))
        body = text(30)
        discussions.append(
            (
                did,
                "a" + str(n % 300),
                body,
                f"<p>{body}</p>",
                "[]",
                "published",
                False,
                0,
                when,
                text(6),
                COURSES[n % 10],
                "[]",
                False,
                False,
                0,
                0,
                when,
            )
        )
    start = now - timedelta(days=1)
    for top in range(20):  # the big thread: 20 top-level replies, 9 answers each
        root = uuid.uuid4()
        replies.append(
            (
                root,
                "u1",
                text(20),
                "<p>x</p>",
                "[]",
                "published",
                False,
                0,
                start + timedelta(seconds=top * 10),
                BIG,
                None,
                None,
                1,
            )
        )
        for k in range(9):
            replies.append(
                (
                    uuid.uuid4(),
                    "u2",
                    text(20),
                    "<p>x</p>",
                    "[]",
                    "published",
                    False,
                    0,
                    start + timedelta(seconds=top * 10 + k + 1),
                    BIG,
                    root,
                    root,
                    2,
                )
            )
    while len(replies) < 100_000:
        did = rnd.choice(ids[1:])
        replies.append(
            (
                uuid.uuid4(),
                "u3",
                text(15),
                "<p>x</p>",
                "[]",
                "published",
                False,
                0,
                now - timedelta(minutes=rnd.randint(0, 100_000)),
                did,
                None,
                None,
                1,
            )
        )
    await conn.copy_records_to_table(
        "community_discussion",
        records=discussions,
        columns=[
            "id",
            "author_id",
            "body",
            "body_html",
            "mentions",
            "state",
            "hidden",
            "reaction_count",
            "created_at",
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
        columns=[
            "id",
            "author_id",
            "body",
            "body_html",
            "mentions",
            "state",
            "hidden",
            "reaction_count",
            "created_at",
            "discussion_id",
            "parent_id",
            "root_id",
            "depth",
        ],
    )
    await conn.execute(
        "UPDATE community_discussion d SET reply_count = c.n FROM (SELECT discussion_id, "
        "count(*) n FROM community_reply GROUP BY discussion_id) c WHERE c.discussion_id = d.id"
    )
    await conn.execute("ANALYZE")
    await conn.close()


# -- the asyncpg baseline ------------------------------------------------------------------


async def run_baseline(
    url: str, name: str, seconds: float, concurrency: int, sequential: int = 0
) -> dict[str, Any]:
    import asyncpg
    import orjson

    pool = await asyncpg.create_pool(dsn(url), min_size=10, max_size=10)

    async def listing() -> bytes:
        rows = await pool.fetch(LIST_SQL, COURSES[3])
        return orjson.dumps(
            {"items": [dict(r) for r in rows[:20]], "next_cursor": None}, default=str
        )

    async def thread() -> bytes:
        discussion = await pool.fetchrow(THREAD_SQL[0], BIG)
        tops = await pool.fetch(THREAD_SQL[1], BIG)
        below = await pool.fetch(THREAD_SQL[2], [r["id"] for r in tops[:20]])
        ids = [r["id"] for r in tops] + [r["id"] for r in below]
        counts = await pool.fetch(THREAD_SQL[3], ids)
        mine = await pool.fetch(THREAD_SQL[4], [BIG])
        nodes = {r["id"]: {**dict(r), "children": []} for r in tops[:20]}
        for r in below:
            node = {**dict(r), "children": []}
            nodes[r["parent_id"]]["children"].append(node)
            nodes[r["id"]] = node
        body = {
            **dict(discussion),
            "reactions": [dict(c) for c in counts + mine],
            "replies": {"items": [nodes[r["id"]] for r in tops[:20]], "next_cursor": None},
        }
        return orjson.dumps(body, default=str)

    page = listing if name == "list" else thread
    for _ in range(20):
        await page()
    if sequential:
        began = time.perf_counter()
        for _ in range(sequential):
            await page()
        await pool.close()
        return {"ms": (time.perf_counter() - began) * 1000 / sequential}
    durations: list[float] = []
    deadline = time.perf_counter() + seconds

    async def lane() -> None:
        while (started := time.perf_counter()) < deadline:
            await page()
            durations.append(time.perf_counter() - started)

    begun = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    elapsed = time.perf_counter() - begun
    await pool.close()
    return {"rps": len(durations) / elapsed, **percentiles(durations), "errors": 0}


async def in_process(url: str, requests: int) -> list[tuple[str, float, float]]:
    """Each read ``requests`` times one after another inside this process: through the
    kernel's app (Quart's test client: routing, validation, ORM, JSON; no HTTP server)
    and through the asyncpg baseline. On a machine shared with other work this ratio is
    steadier than the load test's, whose load generator competes for the same cores."""
    os.environ.update(env_for(url))
    # the test client's host is "localhost"; test, not production: no pending-migration
    # check or JSON access log matters here
    os.environ.update(LYO_ACCESS_LOG="false", LYO_TRUSTED_HOSTS="*", LYO_ENV="test")
    from kernel import create_app, load_settings

    app = create_app(load_settings())
    out = []
    async with app.test_app():
        client = app.test_client()
        for name, path in (
            ("list", f"/api/community/discussions?course_id={COURSES[3]}&sort=active"),
            ("thread", f"/api/community/discussions/{BIG}"),
        ):
            for _ in range(20):
                assert (await client.get(path)).status_code == 200
            began = time.perf_counter()
            for _ in range(requests):
                await client.get(path)
            kernel_ms = (time.perf_counter() - began) * 1000 / requests
            base = await run_baseline(url, name, 0, 1, sequential=requests)
            out.append((name, kernel_ms, base["ms"]))
    return out


# -- the run -------------------------------------------------------------------------------


def env_for(url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LYO_")},
        "LYO_ENV": "production",
        "LYO_DATABASE_URL": url,
        "LYO_PLUGINS__ENABLED": "community",
        "LYO_SECRET_KEY": "bench-" + "k" * 40,
        "LYO_REDIS_URL": REDIS_URL,
        "LYO_REDIS_PREFIX": f"bench-community-{uuid.uuid4().hex[:8]}",
        "LYO_TRUSTED_HOSTS": "127.0.0.1",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        result = asyncio.run(
            run_baseline(args.baseline, args.scenario, args.seconds, args.connections)
        )
        print(json.dumps(result))
        return
    seconds = 4.0 if args.quick else 10.0
    database = f"bench_community_{uuid.uuid4().hex[:8]}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    url = f"{POSTGRES}/{database}"
    env = env_for(url)
    server = None
    try:
        subprocess.run(
            [sys.executable, "-m", "kernel", "migrate"], env=env, check=True, capture_output=True
        )
        began = time.perf_counter()
        asyncio.run(seed(url))
        print(
            f"seeded 2,000 discussions and 100,000 replies in {time.perf_counter() - began:.0f} s"
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server_pin, load_pin, pinned = pins(False)
        server = subprocess.Popen(
            [sys.executable, "-m", "kernel", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=server_pin,
        )
        targets = {
            "list": f"{base}/api/community/discussions?course_id={COURSES[3]}&sort=active",
            "thread": f"{base}/api/community/discussions/{BIG}",
        }
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(targets["thread"]) as answer:
                    thread = json.loads(answer.read())
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not answer") from None
                time.sleep(0.3)
        replies = sum(1 + len(r["children"]) for r in thread["replies"]["items"])
        assert replies == 200, replies
        load = wrk if shutil.which("wrk") else python_load
        rows = []
        for name, target in targets.items():
            cpu = cpu_seconds(server.pid)
            kernel_result = load(target, seconds, args.connections, load_pin)
            cpu = cpu_seconds(server.pid) - cpu
            cmd = [
                sys.executable,
                __file__,
                "--baseline",
                url,
                "--scenario",
                name,
                "--seconds",
                str(seconds),
                "--connections",
                str(args.connections),
            ]
            out = subprocess.run(
                cmd, capture_output=True, text=True, check=True, preexec_fn=server_pin
            ).stdout
            base_result = json.loads(out)
            rows.append((name, kernel_result, base_result))
        latencies = []
        for n in range(100 if args.quick else 300):
            term = urllib.request.quote(TERMS[n % len(TERMS)])
            started = time.perf_counter()
            with urllib.request.urlopen(f"{base}/api/community/search?q={term}") as answer:
                answer.read()
            latencies.append(time.perf_counter() - started)
        server.terminate()
        server.wait(timeout=30)
        server = None
        sequential = asyncio.run(in_process(url, 50 if args.quick else 200))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", database])
    print(
        f"\nload: {load.__name__}, {args.connections} connections, {seconds:.0f} s each, "
        f"pinned: {pinned}"
    )
    print("| read | kernel req/s | p50 / p99 ms | asyncpg req/s | p50 / p99 ms | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, k, b in rows:
        print(
            f"| {name} | {k['rps']:.0f} | {k['p50_ms']:.1f} / {k['p99_ms']:.1f} | "
            f"{b['rps']:.0f} | {b['p50_ms']:.1f} / {b['p99_ms']:.1f} | "
            f"**{k['rps'] / b['rps']:.2f}** |"
        )
    print("\none request at a time, in one process (no HTTP server, no load generator):")
    print("| read | kernel ms | asyncpg ms | ratio (asyncpg / kernel time) |")
    print("| --- | ---: | ---: | ---: |")
    for name, kernel_ms, base_ms in sequential:
        print(f"| {name} | {kernel_ms:.2f} | {base_ms:.2f} | **{base_ms / kernel_ms:.2f}** |")
    cuts = percentiles(latencies)
    print(
        f"\nsearch over 102,000 posts, one request at a time: p50 {cuts['p50_ms']} ms, "
        f"p99 {cuts['p99_ms']} ms ({len(latencies)} requests)"
    )


if __name__ == "__main__":
    main()
