"""Push notifications delivered per second to a local FCM server: through the task path
(``notifications:send_push`` runs in ``lyo worker`` processes, in batches as
``notify`` queues them: the deliveries, their devices, the FCM calls, the attempts and
the statuses) against direct ``Fcm.send`` calls from one process, same run, same server.

Made to be trusted on a small shared machine: the two sides run in interleaved rounds
(the order alternating), the medians are kept (of the rates, and of each round's paired
ratio), and CPU time is measured beside wall time (other load disturbs it far less):
milliseconds of CPU per push of the sending side, this process for the direct calls, the
worker processes plus this process (enqueuing) for the task path; PostgreSQL's backends,
Redis and the FCM server are shown apart. Per-push latency p50/p99: the call for the
direct side, queueing to the recorded attempt for the task path.

The FCM server is the test suite's (``plugins/notifications/tests/fcm_server.py``: the
OAuth2 JWT grant and ``messages:send`` over real sockets) in a process of its own.
PostgreSQL (a temporary database), Redis (a unique prefix), W workers warmed up before
the clock starts. From the repository root, with lyo-notifications installed::

    python -m bench.notifications                 # 5 rounds of 400 pushes a side
    python -m bench.notifications --quick         # a sanity run
    python -m bench.notifications --batch 1       # one delivery per task run

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
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench import _runtime as rt

TESTS = os.path.join(rt.ROOT, "plugins", "notifications", "tests")
TOKEN = "bench:" + "t" * 60


class Bench:
    """The running pieces: the FCM server, the kernel, the workers, the direct client."""

    def __init__(self, args: argparse.Namespace, server: dict[str, Any], server_pid: int):
        self.args, self.server, self.server_pid = args, server, server_pid
        self.client: Any = None
        self.kernel: Any = None
        self.meter: Any = None
        self.procs: list[subprocess.Popen[bytes]] = []

    async def direct(self) -> dict[str, Any]:
        """``count`` pushes from this process, ``concurrency`` in flight."""
        latencies: list[float] = []

        async def one(i: int) -> None:
            began = time.perf_counter()
            outcome = await self.client.send(f"{TOKEN}{i}", "Title", "Body", {"n": str(i)})
            latencies.append(time.perf_counter() - began)
            assert outcome.message_id, outcome

        return await self._timed(
            lambda: rt.gather_limited(self.args.count, self.args.concurrency, one), latencies
        )

    async def tasks(self) -> dict[str, Any]:
        """``count`` deliveries (one device each) queued ``batch`` to a run, as ``notify``
        queues them; the clock runs from the first enqueue to the last status."""
        from lyo_notifications.models import Attempt, Delivery, Device
        from lyo_notifications.tasks import send_push

        key = uuid.uuid4().hex[:12]
        users = [str(uuid.uuid4()) for _ in range(self.args.count)]
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
                key=key,
                category="reminders",
                kind="message",
                title="Title",
                body="Body",
            )
            for u in users
        ]
        await Delivery.bulk_create(rows)
        ids = [str(d.id) for d in rows]
        batches = [ids[i : i + self.args.batch] for i in range(0, len(ids), self.args.batch)]
        queued: dict[str, float] = {}

        async def work() -> None:
            async def enqueue(i: int) -> None:
                for delivery_id in batches[i]:
                    queued[delivery_id] = time.time()
                await self.kernel.tasks.enqueue(send_push, delivery_ids=batches[i])

            await rt.gather_limited(len(batches), 32, enqueue)

            async def sent() -> bool:
                rt.check_alive(self.procs, "worker")
                return await Delivery.filter(key=key, status="sent").count() >= len(rows)

            await rt.wait_for(sent, 600, "timed deliveries", interval=0.05)

        result = await self._timed(work, [])
        attempts = await Attempt.filter(delivery_id__in=ids).values_list(
            "delivery_id", "created_at"
        )
        result["latency"] = rt.percentiles(
            [
                max(0.0, at.astimezone(UTC).timestamp() - queued[str(d)])
                for d, at in attempts
                if isinstance(at, datetime)
            ]
        )
        return result

    async def _timed(self, work: Any, latencies: list[float]) -> dict[str, Any]:
        before = await self.meter.snapshot()
        server_before = rt.cpu_of_pids([self.server_pid]).get(self.server_pid, 0.0)
        started = time.perf_counter()
        await work()
        elapsed = time.perf_counter() - started
        after = await self.meter.snapshot()
        server_after = rt.cpu_of_pids([self.server_pid]).get(self.server_pid, 0.0)
        cpu = rt.CpuMeter.spent(before, after, self.args.count)
        cpu["server"] = round((server_after - server_before) * 1000 / self.args.count, 3)
        return {
            "per_s": round(self.args.count / elapsed, 1),
            "cpu_ms": cpu,
            "latency": rt.percentiles(latencies),
        }


async def run(args: argparse.Namespace, server: dict[str, Any], server_pid: int) -> None:
    from lyo_auth import plugin as auth
    from lyo_notifications import plugin as notifications
    from lyo_notifications.push import Fcm

    from kernel import Kernel, Settings
    from kernel.testing import temporary_database

    bench = Bench(args, server, server_pid)
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
        bench.kernel = Kernel.load(settings, [auth, notifications], discover=False)
        await bench.kernel.start()  # applies the migrations before any worker starts
        bench.kernel.activate()
        env = rt.worker_env(url, prefix)
        env.update(
            {
                "LYO_PLUGINS__MODULES": "",
                "LYO_PLUGINS__ENABLED": "auth,notifications",
                "LYO_PLUGINS__REQUIRED": "auth,notifications",
                "LYO_NOTIFICATIONS__FCM_CREDENTIALS": json.dumps(server["credentials"]),
                "LYO_NOTIFICATIONS__FCM_BASE_URL": server["url"],
                "LYO_NOTIFICATIONS__PUSH_CONCURRENCY": str(args.concurrency),
            }
        )
        bench.client = Fcm(server["credentials"], server["url"], args.concurrency)
        await bench.client.send(TOKEN, "warm", "up", {})
        with rt.processes() as procs:
            bench.procs = procs
            for _ in range(args.workers):
                procs.append(rt.start(rt.kernel_worker(args.worker_concurrency), env))
            bench.meter = rt.CpuMeter(procs, url)
            # warm-up: every worker loaded, connected and through its first runs
            saved = args.count
            args.count = 8 * args.workers
            await bench.tasks()
            await bench.direct()
            args.count = saved
            rounds = []
            for number in range(args.rounds):
                order = ("direct", "tasks") if number % 2 == 0 else ("tasks", "direct")
                measured = {side: await getattr(bench, side)() for side in order}
                rounds.append(measured)
                report_round(number + 1, measured)
            rt.stop(procs)
            await bench.meter.close()
        await bench.client.close()
        await bench.kernel.stop()
    summary(args, rounds)


def _app_cpu(side: str, measured: dict[str, Any]) -> float:
    """CPU ms per push of the sending side (see the module)."""
    cpu = measured[side]["cpu_ms"]
    return cpu["client"] + (cpu["workers"] if side == "tasks" else 0.0)


def report_round(number: int, measured: dict[str, Any]) -> None:
    direct, tasks = measured["direct"], measured["tasks"]
    print(
        f"round {number}: direct {direct['per_s']:7.1f}/s  tasks {tasks['per_s']:7.1f}/s  "
        f"ratio {tasks['per_s'] / direct['per_s']:.2f}  "
        f"cpu ms/push direct {_app_cpu('direct', measured):.2f} "
        f"tasks {_app_cpu('tasks', measured):.2f} (pg {tasks['cpu_ms']['postgres']:.2f}, "
        f"redis {tasks['cpu_ms']['redis']:.2f})",
        flush=True,
    )


def summary(args: argparse.Namespace, rounds: list[dict[str, Any]]) -> None:
    def med(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    rate = {s: med([r[s]["per_s"] for r in rounds]) for s in ("direct", "tasks")}
    ratio = med([r["tasks"]["per_s"] / r["direct"]["per_s"] for r in rounds])
    cpu = {s: med([_app_cpu(s, r) for r in rounds]) for s in ("direct", "tasks")}
    cpu_ratio = med([_app_cpu("direct", r) / _app_cpu("tasks", r) for r in rounds])
    side_cpu = {
        k: med([r["tasks"]["cpu_ms"][k] for r in rounds]) for k in ("postgres", "redis", "server")
    }
    latency = {s: rounds[len(rounds) // 2][s]["latency"] for s in ("direct", "tasks")}
    print()
    print(
        f"{args.rounds} interleaved rounds of {args.count} pushes a side; task path: "
        f"{args.workers} workers, batches of {args.batch}; direct: {args.concurrency} in flight"
    )
    print(
        f"direct Fcm.send   median {rate['direct']:8.1f} pushes/s  cpu {cpu['direct']:.2f} ms/push"
    )
    print(f"task path         median {rate['tasks']:8.1f} pushes/s  cpu {cpu['tasks']:.2f} ms/push")
    print(
        f"  (task path besides: postgres {side_cpu['postgres']:.2f}, redis "
        f"{side_cpu['redis']:.2f}, fcm server {side_cpu['server']:.2f} ms/push)"
    )
    print(f"throughput ratio task/direct (median of rounds): {ratio:.2f}  (target >= 0.8)")
    print(f"CPU ratio direct/task (median of rounds):        {cpu_ratio:.2f}")
    for side in ("direct", "tasks"):
        lat = latency[side]
        print(f"latency {side:6}  p50 {lat['p50_ms']:8.1f} ms  p99 {lat['p99_ms']:8.1f} ms")
    rt.write_json(
        args.json,
        {
            "args": vars(args),
            "rounds": rounds,
            "median": {"per_s": rate, "ratio": ratio, "cpu_ms": cpu, "cpu_ratio": cpu_ratio},
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=400, help="pushes a side per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--batch", type=int, default=100, help="deliveries per task run")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 100")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.count, args.rounds = 100, 3
    # the server runs in a process of its own, so that it shares no interpreter with
    # the direct client (the baseline) any more than with the workers
    child = subprocess.Popen(
        [sys.executable, os.path.join(TESTS, "fcm_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        asyncio.run(run(args, json.loads(child.stdout.readline()), child.pid))
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)


if __name__ == "__main__":
    main()
