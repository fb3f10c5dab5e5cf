"""The community benchmark's data and its bare side (``bench/community.py``): the seed,
and the asyncpg + orjson program that runs the statements the uncached routes run and
shapes their answers into the same JSON."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.learning import percentiles

COURSES = [uuid.UUID(int=n + 1) for n in range(10)]
BIG = uuid.UUID(int=10**6)
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
