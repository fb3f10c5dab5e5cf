"""Instructor statistics (``GET /api/learning/courses/{id}/stats``) of a course with
10,000 enrollments: latency of a computation (cache miss) and of a cached answer.

The stats section of ``bench/learning.py`` (``python bench/learning.py --stats``; kept
in its own module, apart from the catalog's). A fresh PostgreSQL database gets the
migrations and one published course of 10 lessons (two with a quiz), 10,000 enrollments
spread over 90 days (about 8 % completed), each learner's progress on the lessons they
reached (about 32,000 rows) and quiz attempts (1 or 2 per learner reaching a quiz).
``lyo serve`` runs with ``LYO_ENV=production`` and Redis (the kernel cache), the real
``auth`` plugin (an admin's token: the statistics are for the course's editors).

- **miss**: one request per ``days`` value 1..N, each a different cache key, so each
  runs the five aggregate queries (sent together);
- **hit**: sequential requests for the same key, answered from Redis;
- **hit, 8 clients**: the same with 8 concurrent clients.

Each prints p50 / p99 / max in ms of one request, client side (one API process; the
client in the same machine); the target is p99 under 100 ms. On a shared machine the
figures move with the load average printed with them. Writes the table to
``bench/README-learning-stats.md`` (``--readme ''``: don't).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from typing import Any

from learning import ROOT, create_database, drop_database, dsn, free_port, kernel_env

README = os.path.join(ROOT, "bench", "README-learning-stats.md")
LESSONS = 10
QUIZ_LESSONS = (3, 7)
QUIZ = [{"type": "quiz", "kind": "single", "question": "?", "options": ["a", "b"], "answer": 1}]
PASSWORD = "bench-password-" + "x" * 12


async def seed(url: str, enrollments: int, author_id: str) -> str:
    """The course and its learners (see the module docstring); returns the course id."""
    import asyncpg  # type: ignore[import-untyped]

    rng = random.Random(7)
    now = datetime.now(UTC)
    course_id = uuid.uuid4()
    lesson_ids = [uuid.uuid4() for _ in range(LESSONS)]
    versions = {n: uuid.uuid4() for n in QUIZ_LESSONS}
    rows: dict[str, list[tuple[Any, ...]]] = {
        "enrollment": [], "lesson_progress": [], "quiz_attempt": [],
    }  # fmt: skip
    for _ in range(enrollments):
        user = str(uuid.uuid4())
        enrolled = now - timedelta(seconds=rng.uniform(0, 90 * 86400))
        reached = min(LESSONS, int(rng.expovariate(0.25)))
        done = reached == LESSONS and rng.random() < 0.9
        rows["enrollment"].append((uuid.uuid4(), user, course_id, enrolled, now if done else None))
        for n in range(reached):
            completed = n < reached - 1 or done
            touched = enrolled + (now - enrolled) * rng.random()
            attempts = 0
            if n in versions:
                attempts = rng.choice((1, 2))
                for number in range(1, attempts + 1):
                    passed = completed and number == attempts
                    rows["quiz_attempt"].append((
                        uuid.uuid4(), user, lesson_ids[n], course_id, versions[n], number,
                        "[1]" if passed else "[0]", "[true]" if passed else "[false]",
                        100 if passed else 0, passed, touched,
                    ))  # fmt: skip
            rows["lesson_progress"].append((
                uuid.uuid4(), user, lesson_ids[n], course_id,
                "completed" if completed else "in_progress", 100 if completed else 50,
                60, None, attempts, 100 if completed and attempts else None,
                touched if completed else None, touched,
            ))  # fmt: skip
    connection = await asyncpg.connect(dsn(url))
    try:
        await connection.execute(
            "INSERT INTO learning_course (id, title, slug, description, level, status, "
            "author_id, metadata, created_at, updated_at, published_at) VALUES ($1, 'Stats', "
            "'stats', '', 'beginner', 'published', $2, '{}', now(), now(), now())",
            course_id,
            author_id,
        )
        for n, lesson_id in enumerate(lesson_ids):
            content = json.dumps(QUIZ if n in versions else [{"type": "text", "text": "..."}])
            await connection.execute(
                "INSERT INTO learning_lesson (id, course_id, position, title, content, "
                "estimated_minutes, quiz_version, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, 5, 1, now(), now())",
                lesson_id, course_id, n, f"Lesson {n}", content,
            )  # fmt: skip
            if n in versions:
                await connection.execute(
                    "INSERT INTO learning_quiz_version (id, lesson_id, version, questions, "
                    "pass_mark, created_at) VALUES ($1, $2, 1, $3, 70, now())",
                    versions[n], lesson_id, json.dumps(QUIZ),
                )  # fmt: skip
        columns = {
            "enrollment": ["id", "user_id", "course_id", "enrolled_at", "completed_at"],
            "lesson_progress": [
                "id", "user_id", "lesson_id", "course_id", "status", "percent", "seconds_spent",
                "last_position", "attempts", "score", "completed_at", "updated_at",
            ],
            "quiz_attempt": [
                "id", "user_id", "lesson_id", "course_id", "quiz_id", "number", "answers",
                "results", "score", "passed", "created_at",
            ],
        }  # fmt: skip
        for table, records in rows.items():
            await connection.copy_records_to_table(
                f"learning_{table}", records=records, columns=columns[table]
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    print(
        f"seeded {enrollments} enrollments, {len(rows['lesson_progress'])} progress rows, "
        f"{len(rows['quiz_attempt'])} quiz attempts",
        file=sys.stderr,
    )
    return str(course_id)


def _lyo(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kernel", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"lyo {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(ordered), "p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1], 2)}


async def _timed(client: Any, url: str) -> float:
    started = time.perf_counter()
    response = await client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
    return elapsed


async def _measure(base: str, token: str, course_id: str, misses: int, hits: int) -> Any:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/learning/courses/{course_id}/stats"
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        body = (await client.get(f"{url}?days=30")).json()
        assert body["enrollments"] > 0, body
        miss = [await _timed(client, f"{url}?days={d}") for d in range(31, 31 + misses)]
        hit = [await _timed(client, f"{url}?days=30") for _ in range(hits)]

        async def worker() -> list[float]:
            return [await _timed(client, f"{url}?days=30") for _ in range(hits // 8)]

        concurrent = [t for ts in await asyncio.gather(*(worker() for _ in range(8))) for t in ts]
    return body, {
        "miss (computed)": _percentiles(miss),
        "hit (cached)": _percentiles(hit),
        "hit, 8 clients": _percentiles(concurrent),
    }


def run(enrollments: int, misses: int, hits: int, readme: str, quick: bool) -> dict[str, Any]:
    if not any(ep.name == "auth" for ep in entry_points(group="lyo.plugins")):
        raise SystemExit("the stats section needs the auth plugin: pip install -e plugins/auth")
    load_before = [round(x, 2) for x in os.getloadavg()]
    url = asyncio.run(create_database())
    try:
        env = kernel_env(url, "production")
        env["LYO_TRUSTED_HOSTS"] = "127.0.0.1,localhost"
        _lyo("migrate", env=env)
        email = "bench-stats@example.com"
        _lyo("auth", "create-admin", email, "--password", PASSWORD, env=env)
        course_id = asyncio.run(seed(url, enrollments, author_id="bench-author"))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "kernel", "serve", "--port", str(port), "--workers", "1"]
        with tempfile.TemporaryFile() as log:
            server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
            try:
                token = _login(base, email, server)
                body, results = asyncio.run(_measure(base, token, course_id, misses, hits))
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(20)
                except subprocess.TimeoutExpired:
                    server.kill()
    finally:
        asyncio.run(drop_database(url))
    report = {
        "enrollments": body["enrollments"],
        "completion_rate": body["completion_rate"],
        "active_learners_30d": body["active_learners_30d"],
        "results": results,
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_before": load_before,
    }
    text = table(report)
    print("\n" + text)
    if readme:
        command = "python bench/learning.py --stats" + (" --quick" if quick else "")
        with open(readme, "w") as out:
            out.write(
                "# Benchmark: instructor statistics (learning plugin)\n\n"
                f"Written by `{command}` on {datetime.now(UTC).date()}; "
                f"{report['machine']}, load average {report['load_average_before']}.\n\n"
                f"{(__doc__ or '').split(chr(10) + chr(10), 1)[1]}\n{text}\n"
            )
        print(f"wrote {os.path.relpath(readme, ROOT)}", file=sys.stderr)
    return report


def _login(base: str, email: str, server: subprocess.Popen[bytes]) -> str:
    import httpx

    deadline = time.monotonic() + 90
    while True:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            answer = httpx.post(
                f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}
            )
            return str(answer.json()["access_token"])
        except (httpx.TransportError, KeyError):
            if time.monotonic() > deadline:
                raise SystemExit("the server did not sign the admin in within 90 s") from None
            time.sleep(0.3)


def table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['enrollments']} enrollments (completion rate {report['completion_rate']}, "
        f"{report['active_learners_30d']} active in 30 days).",
        "",
        "| request | n | p50 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, r in report["results"].items():
        lines.append(f"| {name} | {r['n']} | {r['p50']} | {r['p99']} | {r['max']} |")
    return "\n".join(lines) + "\n"
