"""The cost of fan-out on read, the feeds plugin's choice, against baselines measured in
the same run on the same database (PostgreSQL, a temporary database):

- ``GET /api/feeds/me`` p50/p99 for a user following 1,000 users (each with activity)
  against a user following 10 of them;
- ``GET /api/feeds/courses/{id}`` for a course with 10,000 learners' activity against a
  course with 10;
- the write side: recording one activity (what fan-out on read writes: one row and its
  source) against the timeline rows fan-out on write would insert for the same activity
  in a course with 10,000 learners (one multi-row INSERT of 10,000 rows).

Requests go through the app's routes (test client: routing, auth, validation, queries,
serialization). From the repository root, with lyo-feeds installed::

    python -m bench.feeds --followed 1000 --learners 10000 --requests 200

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
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import _runtime as rt

PERMISSIONS = frozenset({"feeds:read", "feeds:follow"})


async def main(args: argparse.Namespace) -> dict[str, Any]:
    from lyo_feeds import plugin as feeds
    from lyo_feeds.activity import Draft, record
    from lyo_feeds.models import Activity, Follow

    from kernel import Envelope, Identity, Settings, create_app
    from kernel.testing import temporary_database, token_plugin

    tokens = {
        name: Identity(id=name, permissions=PERMISSIONS, kind="user") for name in ("wide", "narrow")
    }
    async with temporary_database() as url:
        settings = Settings(env="test", database_url=url, access_log=False, log_level="WARNING")
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
            await Follow.bulk_create(
                [Follow(user_id="wide", kind="user", target_id=u) for u in users]
                + [Follow(user_id="narrow", kind="user", target_id=u) for u in users[:10]]
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
                results[name] = await _percentiles(client, path, token, n, name)
            # the write side
            write_one = []
            for i in range(20):
                envelope = Envelope(
                    id=uuid.uuid4(),
                    type="learning.enrolled.v1",
                    version=1,
                    occurred_at=datetime.now(UTC),
                    request_id=None,
                    payload={},
                )
                started = time.perf_counter()
                await record(envelope, Draft(f"new-{i}", "enrolled", "course", big, course_id=big))
                write_one.append(time.perf_counter() - started)
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
            results["write_on_read_model"] = rt.percentiles(write_one)
            results[f"write_fan_out_{args.learners}"] = rt.percentiles(fan_out)
    r = results
    wide, narrow = r[f"me_following_{args.followed}"], r["me_following_10"]
    big_r, small_r = r[f"course_{args.learners}_learners"], r["course_10_learners"]
    w, f = r["write_on_read_model"], r[f"write_fan_out_{args.learners}"]
    results["ratios"] = {
        f"me_p50_{args.followed}_vs_10": rt.ratio(wide["p50_ms"], narrow["p50_ms"]),
        f"course_p50_{args.learners}_vs_10": rt.ratio(big_r["p50_ms"], small_r["p50_ms"]),
        "fan_out_write_p50_vs_one_row": rt.ratio(f["p50_ms"], w["p50_ms"]),
    }
    results["activities"] = len(rows)
    results["machine"] = rt.machine()
    return results


async def _percentiles(client: Any, path: str, token: str, n: int, name: str) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(5):
        assert (await client.get(path, headers=headers)).status_code == 200
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, await response.get_data()
        assert (await response.get_json())["items"], name
    return rt.percentiles(times)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followed", type=int, default=1000)
    parser.add_argument("--learners", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=200)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2, default=str))
