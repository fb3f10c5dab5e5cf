"""The cost of fan-out on read, the feeds plugin's choice, against baselines measured in
the same run on the same database (PostgreSQL, a temporary database):

- ``GET /api/feeds/me`` p50/p99 for a user following 1,000 users (each with activity)
  against a user following 10 of them;
- ``GET /api/feeds/courses/{id}`` for a course with 10,000 learners' activity against a
  course with 10;
- the write side: recording one activity (what fan-out on read writes: one row and its
  source) against the timeline rows fan-out on write would insert for the same activity
  in a course with 10,000 learners (one multi-row INSERT of 10,000 rows).

Feed pages are cached (``lyo_feeds.caching``): each feed is measured computed (its
reader's token renewed before each request, as a new activity of someone they follow
does: the cache's miss path, the figure before caching) and cached (repeated reads).
Invalidation is a fan-out: recording an activity renews the token of each follower (and
pushes it to them), so it is measured for an actor with ``--followed`` followers against
one with 10, and each of the two parts alone.

Requests go through the app's routes (test client: routing, auth, validation, queries,
serialization), with the kernel cache on Redis. From the repository root, with
lyo-feeds installed::

    python -m bench.feeds --followed 1000 --learners 10000 --requests 200

With ``--embeddings`` (needs torch and ``lyo-feeds[model]``), instead
(:mod:`bench.feeds_discovery`): embedding throughput through the task path against
raw ``SentenceTransformer.encode`` on the same texts, interleaved rounds, then
``GET /discover`` and ``GET /search`` p50/p99 over ``--courses`` courses::

    python -m bench.feeds --embeddings --courses 10000 --requests 100

``--quick`` makes every size small (a sanity run of a minute or so).

Timings are printed, never asserted.
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = os.path.dirname(sys.path[0])

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import _runtime as rt

PERMISSIONS = frozenset({"feeds:read", "feeds:follow"})


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from lyo_feeds import plugin as feeds
    from lyo_feeds.activity import Draft, push, record
    from lyo_feeds.caching import renew, renew_all
    from lyo_feeds.models import Activity, Follow

    from kernel import Envelope, Identity, Settings, create_app, transaction
    from kernel.testing import temporary_database, token_plugin

    tokens = {
        name: Identity(id=name, permissions=PERMISSIONS, kind="user") for name in ("wide", "narrow")
    }
    async with temporary_database() as url:
        settings = Settings(
            env="test",
            database_url=url,
            redis_url=rt.REDIS_URL,
            redis_prefix=rt.unique_prefix(),
            access_log=False,
            log_level="WARNING",
        )
        app = create_app(settings, [feeds, token_plugin(tokens)], discover=False)
        async with app.test_app():
            app.kernel.activate()
            client = app.test_client()
            base = datetime.now(UTC) - timedelta(days=30)
            users = [f"user-{i}" for i in range(args.followed)]
            big, small = str(uuid.uuid4()), str(uuid.uuid4())
            rows = []
            # activity of the followed users: 20 each, spread over 30 days
            for n, user in enumerate(users):
                for k in range(20):
                    rows.append(
                        Activity(
                            id=uuid.uuid4(),
                            actor_id=user,
                            verb="enrolled",
                            object_type="course",
                            object_id=str(uuid.uuid4()),
                            occurred_at=base,
                            created_at=base + timedelta(seconds=n * 20 + k),
                            objects=[],
                            data={},
                        )
                    )
            # a course with many learners (and one with few), by unfollowed users
            for i in range(args.learners + 10):
                course = big if i < args.learners else small
                rows.append(
                    Activity(
                        id=uuid.uuid4(),
                        actor_id=f"learner-{i}",
                        verb="enrolled",
                        object_type="course",
                        object_id=course,
                        course_id=course,
                        occurred_at=base,
                        created_at=base + timedelta(seconds=i),
                        objects=[],
                        data={},
                    )
                )
            for chunk in range(0, len(rows), 5000):
                await Activity.bulk_create(rows[chunk : chunk + 5000])
            # "wide" follows every user, "narrow" 10; "star" is followed by every user
            # (the invalidation fan-out of its activity), "few" by 10 of them
            await Follow.bulk_create(
                [Follow(user_id="wide", kind="user", target_id=u) for u in users]
                + [Follow(user_id="narrow", kind="user", target_id=u) for u in users[:10]]
                + [Follow(user_id=u, kind="user", target_id="star") for u in users]
                + [Follow(user_id=u, kind="user", target_id="few") for u in users[:10]]
            )
            # one learner in five of the big course is followers-only or private, so the
            # visibility filters have rows to weigh
            db = Activity._meta.db
            await db.execute_script(
                "INSERT INTO feeds_privacy (user_id, visibility, updated_at) "
                "SELECT 'learner-' || g, CASE WHEN g % 10 = 0 THEN 'private' ELSE 'followers' END,"
                f" now() FROM generate_series(0, {args.learners - 1}, 5) g; ANALYZE;"
            )
            n = args.requests
            results: dict[str, Any] = {}
            for name, path, token in [
                ("me_following_10", "/api/feeds/me", "narrow"),
                (f"me_following_{args.followed}", "/api/feeds/me", "wide"),
                ("course_10_learners", f"/api/feeds/courses/{small}", "wide"),
                (f"course_{args.learners}_learners", f"/api/feeds/courses/{big}", "wide"),
            ]:
                headers = {"Authorization": f"Bearer {token}"}

                async def miss(token: str = token) -> None:
                    await renew(f"viewer:{token}")  # as new activity they may see does

                results[name + "_computed"] = await percentiles_of(
                    client, path, headers, n, before=miss
                )
                results[name + "_cached"] = await percentiles_of(client, path, headers, n)

            def envelope() -> Envelope:
                return Envelope(
                    id=uuid.uuid4(),
                    type="learning.enrolled.v1",
                    version=1,
                    occurred_at=datetime.now(UTC),
                    request_id=None,
                    payload={},
                )

            # the write side: one activity recorded (committed, pushed, and the feeds of
            # its readers invalidated), by an actor with 10 followers and with all of them
            for actor in ("few", "star"):
                times = []
                for _i in range(20):
                    started = time.perf_counter()
                    async with transaction():  # as a delivery runs it
                        await record(
                            envelope(), Draft(actor, "enrolled", "course", str(uuid.uuid4()))
                        )
                    times.append(time.perf_counter() - started)
                followers = args.followed if actor == "star" else 10
                results[f"write_one_activity_{followers}_followers"] = rt.percentiles(times)
            # the two parts of the 1,000-follower write that grow with its readers
            readers, some = set(users), await Activity.first()
            for name, part in (
                (f"invalidate_{args.followed}_readers", lambda: renew_all(viewers(readers))),
                (f"push_to_{args.followed}_readers", lambda: push(some, readers)),
            ):
                times = []
                for _i in range(20):
                    started = time.perf_counter()
                    await part()
                    times.append(time.perf_counter() - started)
                results[name] = rt.percentiles(times)
            await db.execute_script(
                "CREATE TABLE bench_timeline (owner_id VARCHAR(64), activity_id UUID,"
                " created_at TIMESTAMPTZ, PRIMARY KEY (owner_id, created_at, activity_id))"
            )
            fan_out = []
            for _i in range(5):
                activity = str(uuid.uuid4())
                started = time.perf_counter()
                await db.execute_query(
                    "INSERT INTO bench_timeline SELECT 'learner-' || g, $1, now()"
                    " FROM generate_series(1, $2) g",
                    [activity, args.learners],
                )
                fan_out.append(time.perf_counter() - started)
            results[f"write_fan_out_{args.learners}_rows"] = rt.percentiles(fan_out)
    r = results
    wide, narrow = f"me_following_{args.followed}", "me_following_10"
    results["ratios"] = {
        f"me_{args.followed}_p50_computed_vs_cached": rt.ratio(
            r[wide + "_computed"]["p50_ms"], r[wide + "_cached"]["p50_ms"]
        ),
        f"me_p50_computed_{args.followed}_vs_10": rt.ratio(
            r[wide + "_computed"]["p50_ms"], r[narrow + "_computed"]["p50_ms"]
        ),
        f"write_p50_{args.followed}_vs_10_followers": rt.ratio(
            r[f"write_one_activity_{args.followed}_followers"]["p50_ms"],
            r["write_one_activity_10_followers"]["p50_ms"],
        ),
    }
    results["activities"] = len(rows)
    results["machine"] = rt.machine()
    return results


def viewers(users: set[str]) -> list[str]:
    return [f"viewer:{u}" for u in users]


async def percentiles_of(
    client: Any,
    path: str,
    headers: dict[str, str],
    n: int,
    before: Callable[[], Awaitable[None]] | None = None,
    query: Callable[[], dict[str, str]] | None = None,
) -> dict[str, float]:
    """p50/p99 of ``n`` GETs of ``path`` (after 5 unmeasured), each after ``before()``
    (not timed), with the query string ``query()``; every answer must be a 200 with
    items."""
    times = []
    for i in range(n + 5):
        if before is not None:
            await before()
        started = time.perf_counter()
        response = await client.get(path, headers=headers, query_string=query() if query else None)
        if i >= 5:
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, await response.get_data()
        assert (await response.get_json())["items"], path
    return rt.percentiles(times)


QUICK = {"followed": 100, "learners": 1000, "requests": 30, "courses": 1000, "round_texts": 64}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followed", type=int, default=1000)
    parser.add_argument("--learners", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--embeddings", action="store_true")
    parser.add_argument("--courses", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3 at least)")
    parser.add_argument("--round-texts", type=int, default=512, help="texts per side per round")
    parser.add_argument("--batch", type=int, default=64, help="texts per encode and per task")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both sides")
    parser.add_argument("--quick", action="store_true", help="small sizes: a sanity run")
    parsed = parser.parse_args()
    if parsed.quick:
        for name, value in QUICK.items():
            setattr(parsed, name, value)
    if parsed.embeddings:
        from bench.feeds_discovery import run as discovery

        report = asyncio.run(discovery(parsed))
    else:
        report = asyncio.run(main(parsed))
    print(json.dumps(report, indent=2, default=str))
