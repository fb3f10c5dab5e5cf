"""Push notifications delivered per second to a local FCM server: through the task path
(``notifications:send_push`` runs in ``lyo worker`` processes: the delivery row, the
device lookup, the FCM call, the attempt row and the status update) against direct
``Fcm.send`` calls from one process, in the same run, against the same server.

The FCM server is the test suite's (``plugins/notifications/tests/fcm_server.py``: the
OAuth2 JWT grant and ``messages:send`` over real sockets), in a process of its own. PostgreSQL (a
temporary database), Redis (a unique prefix) and W workers, warmed up before the clock
starts. From the repository root, with lyo-notifications installed::

    python -m bench.notifications --count 500 --workers 2

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
import subprocess
import time
import uuid
from typing import Any

from bench import _runtime as rt

TESTS = os.path.join(rt.ROOT, "plugins", "notifications", "tests")
TOKEN = "bench:" + "t" * 60


async def direct(server: dict[str, Any], count: int, concurrency: int) -> float:
    from lyo_notifications.push import Fcm

    client = Fcm(server["credentials"], server["url"], concurrency)
    await client.send(TOKEN, "warm", "up", {})
    started = time.perf_counter()

    async def one(i: int) -> None:
        outcome = await client.send(f"{TOKEN}{i}", "Title", "Body", {"n": str(i)})
        assert outcome.message_id, outcome

    await rt.gather_limited(count, concurrency, one)
    elapsed = time.perf_counter() - started
    await client.close()
    return count / elapsed


async def through_tasks(
    server: dict[str, Any], count: int, workers: int, concurrency: int
) -> float:
    from lyo_auth import plugin as auth
    from lyo_notifications import plugin as notifications
    from lyo_notifications.models import Delivery, Device
    from lyo_notifications.tasks import send_push

    from kernel import Kernel, Settings
    from kernel.testing import temporary_database

    prefix = rt.unique_prefix()
    async with temporary_database() as url:
        settings = Settings(
            env="test",
            database_url=url,
            redis_url=rt.REDIS_URL,
            redis_prefix=prefix,
            log_level="WARNING",
            access_log=False,
        )
        kernel = Kernel.load(settings, [auth, notifications], discover=False)
        await kernel.start()  # applies the migrations before any worker starts
        kernel.activate()
        env = rt.worker_env(url, prefix)
        env.update(
            {
                "LYO_PLUGINS__MODULES": "",
                "LYO_PLUGINS__ENABLED": "auth,notifications",
                "LYO_PLUGINS__REQUIRED": "auth,notifications",
                "LYO_NOTIFICATIONS__FCM_CREDENTIALS": os.environ[
                    "LYO_NOTIFICATIONS__FCM_CREDENTIALS"
                ],
                "LYO_NOTIFICATIONS__FCM_BASE_URL": os.environ["LYO_NOTIFICATIONS__FCM_BASE_URL"],
                "LYO_NOTIFICATIONS__PUSH_CONCURRENCY": str(concurrency),
            }
        )
        with rt.processes() as procs:
            for _ in range(workers):
                procs.append(rt.start(rt.kernel_worker(concurrency), env))
            users = [str(uuid.uuid4()) for _ in range(count + workers * 4)]
            await Device.bulk_create(
                [
                    Device(
                        id=uuid.uuid4(),
                        user_id=u,
                        platform="android",
                        token=f"{TOKEN}{u}",
                        token_hash=uuid.uuid4().hex,
                    )
                    for u in users
                ]
            )
            rows = [
                Delivery(
                    id=uuid.uuid4(),
                    user_id=u,
                    channel="push",
                    key="bench",
                    category="reminders",
                    kind="message",
                    title="Title",
                    body="Body",
                )
                for u in users
            ]
            await Delivery.bulk_create(rows)
            warm, timed = rows[: workers * 4], rows[workers * 4 :]

            async def sent(batch: list[Delivery]) -> bool:
                rt.check_alive(procs, "worker")
                done = await Delivery.filter(key="bench", status="sent").count()
                return done >= (len(warm) if batch is warm else len(rows))

            for d in warm:
                await kernel.tasks.enqueue(send_push, delivery_id=str(d.id))
            await rt.wait_for(lambda: sent(warm), 120, "warm-up deliveries")
            started = time.perf_counter()

            async def enqueue(i: int) -> None:
                await kernel.tasks.enqueue(send_push, delivery_id=str(timed[i].id))

            await rt.gather_limited(len(timed), 32, enqueue)
            await rt.wait_for(lambda: sent(timed), 600, "timed deliveries", interval=0.1)
            elapsed = time.perf_counter() - started
            rt.stop(procs)
        await kernel.stop()
    return len(timed) / elapsed


async def measure(args: argparse.Namespace, server: dict[str, Any]) -> None:
    os.environ["LYO_NOTIFICATIONS__FCM_CREDENTIALS"] = json.dumps(server["credentials"])
    os.environ["LYO_NOTIFICATIONS__FCM_BASE_URL"] = server["url"]
    baseline = await direct(server, args.count, args.concurrency)
    tasks = await through_tasks(server, args.count, args.workers, args.concurrency)
    print(f"direct Fcm.send, {args.concurrency} in flight: {baseline:8.1f} pushes/s")
    print(f"task path, {args.workers} workers:          {tasks:8.1f} pushes/s")
    print(f"ratio task path / direct: {tasks / baseline:.2f} (target >= 0.8)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    # the server runs in a process of its own, so that it shares no interpreter with
    # the direct client (the baseline) any more than with the workers
    child = subprocess.Popen(
        [sys.executable, os.path.join(TESTS, "fcm_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        asyncio.run(measure(args, json.loads(child.stdout.readline())))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)


if __name__ == "__main__":
    main()
