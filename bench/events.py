"""Event throughput and latency, publish to durable handler, against the same number of
plain task enqueues through the kernel, measured in the same run on the same workers.

- events: ``await kernel.events.publish(Ping(seq=i))`` (an outbox row and a NOTIFY in its
  own transaction); the relay in the workers turns it into a ``kernel:deliver`` task, which
  runs the durable handler ``bench:on_ping``.
- tasks (the baseline): ``await kernel.tasks.enqueue(stamp, sent=time.time())``; a worker
  runs ``bench:stamp``.

Both the handler and the task record ``now - start`` (the event's ``occurred_at``, the
task's enqueue time) in a Redis list, so both latencies mean "from the publisher's call to
the code running in a worker". Two phases each: a burst (N at once, concurrently: the
throughput, and latency with a backlog) and a paced phase (``--rate`` per second: latency
without a backlog). PostgreSQL (a temporary database), Redis (a unique prefix) and W
``python -m kernel worker`` processes, started and warmed up before the clock starts.
Run it from the repository root::

    python -m bench.events --json bench/results/events.json
    python -m bench.events --quick

Timings are printed, never asserted.
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = os.path.dirname(sys.path[0])  # run as ``python bench/events.py``

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import _runtime as rt

TARGETS = ("tasks", "events")


async def run(args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    from redis.asyncio import Redis

    from bench import benchplugin
    from kernel.tasks import stream as stream_name
    from kernel.testing import temporary_database

    prefix = rt.unique_prefix()
    key = benchplugin.stamps_key(prefix)
    redis = Redis.from_url(rt.REDIS_URL)
    results: dict[str, list[dict[str, Any]]] = {t: [] for t in TARGETS}
    async with temporary_database() as url:
        kernel = await rt.start_kernel(url, prefix)

        async def enqueue(_: int) -> None:
            await kernel.tasks.enqueue(benchplugin.stamp, sent=time.time())

        async def publish(i: int) -> None:
            await kernel.events.publish(benchplugin.Ping(seq=i))

        senders: dict[str, Callable[[int], Awaitable[None]]] = {
            "tasks": enqueue,
            "events": publish,
        }
        recorded = 0
        meter: rt.CpuMeter | None = None

        async def arrived(total: int) -> bool:
            return int(await redis.llen(key)) >= total

        async def phase(
            target: str, kind: str, procs: list[Any], count: int, rate: float | None
        ) -> dict[str, Any]:
            nonlocal recorded
            assert meter is not None
            send = senders[target]
            cpu_before = await meter.snapshot()
            started = time.time()
            if rate is None:
                await rt.gather_limited(count, args.publishers, send)
            else:
                for i in range(count):  # on a fixed schedule, so lateness does not pile up
                    await asyncio.sleep(max(0.0, started + i / rate - time.time()))
                    await send(i)
            sent = time.time()
            await rt.wait_for(
                lambda: arrived(recorded + count),
                args.timeout,
                f"{target} ({kind})",
                procs=procs,
                interval=0.02,
            )
            cpu = meter.spent(cpu_before, await meter.snapshot(), count)
            rows = await redis.lrange(key, recorded, recorded + count - 1)
            recorded += count
            delays, times = zip(*(map(float, row.split()) for row in rows), strict=True)
            return {
                "target": target,
                "phase": kind,
                "count": count,
                "send_per_s": round(count / (sent - started), 1),
                "per_s": round(count / (max(times) - started), 1),
                "seconds": round(max(times) - started, 3),
                **rt.percentiles(list(delays)),
                "cpu_ms": cpu,
            }

        env = rt.worker_env(url, prefix)
        stream = stream_name(prefix, "default")
        try:
            with rt.processes() as procs:
                for _ in range(args.workers):
                    procs.append(rt.start(rt.kernel_worker(args.concurrency), env))
                meter = rt.CpuMeter(procs, url)
                warm = await rt.warm_up(
                    lambda: rt.consumers(redis, stream, "lyo"), args, enqueue, procs
                )
                await rt.wait_for(lambda: arrived(warm), 60, "the warm-up", procs=procs)
                recorded = warm
                await rt.gather_limited(args.warmup, args.publishers, publish)
                await rt.wait_for(
                    lambda: arrived(recorded + args.warmup), 60, "the event warm-up", procs=procs
                )
                recorded += args.warmup
                for n in range(args.repeat):
                    order = TARGETS if n % 2 == 0 else TARGETS[::-1]
                    for target in order:  # interleaved, so drift hits both alike
                        r = await phase(target, "burst", procs, args.count, None)
                        print(f"  {target} burst: {r['per_s']:.0f}/s", file=sys.stderr)
                        results[target].append(r)
                    for target in order:
                        r = await phase(target, "paced", procs, args.paced, args.rate)
                        print(
                            f"  {target} paced: p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms",
                            file=sys.stderr,
                        )
                        results[target].append(r)
        finally:
            if meter is not None:
                await meter.close()
            await rt.delete_results_of(redis, stream)
            await kernel.stop()
            await rt.delete_prefix(redis, prefix)
            await redis.aclose()
    return results


def median(rows: list[dict[str, Any]], phase: str, key: str) -> dict[str, Any]:
    chosen = sorted((r for r in rows if r["phase"] == phase), key=lambda r: r[key])
    return chosen[(len(chosen) - 1) // 2]


def report(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    burst = {t: median(runs[t], "burst", "per_s") for t in TARGETS}
    paced = {t: median(runs[t], "paced", "p50_ms") for t in TARGETS}
    base_b, base_p = burst["tasks"], paced["tasks"]
    print(
        f"\nburst: {args.count} at once, {args.publishers} concurrent publishers, "
        f"{args.workers} workers x {args.concurrency}"
    )
    print(f"{'target':<8} {'send/s':>8} {'done/s':>8} {'vs tasks':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for t in TARGETS:
        r = burst[t]
        r["vs_tasks"] = rt.ratio(r["per_s"], base_b["per_s"])
        print(
            f"{t:<8} {r['send_per_s']:>8.0f} {r['per_s']:>8.0f} {rt.fmt(r['vs_tasks']):>9} "
            f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
        )
    parts = ("client", "workers", "postgres", "redis")
    print("\nCPU ms per item in the burst (client: publisher/enqueuer process)")
    print(f"{'target':<8} " + " ".join(f"{p:>9}" for p in parts) + f" {'sum':>8} {'vs tasks':>9}")
    total = {t: sum(burst[t]["cpu_ms"][p] for p in parts) for t in TARGETS}
    for t in TARGETS:
        cells = " ".join(f"{burst[t]['cpu_ms'][p]:>9.3f}" for p in parts)
        burst[t]["cpu_vs_tasks"] = rt.ratio(total[t], total["tasks"])
        print(f"{t:<8} {cells} {total[t]:>8.3f} {rt.fmt(burst[t]['cpu_vs_tasks']):>9}")
    print(f"\npaced: {args.paced} at {args.rate:g}/s")
    print(f"{'target':<8} {'p50 ms':>8} {'p99 ms':>8} {'p50 vs tasks':>13} {'p99 vs tasks':>13}")
    for t in TARGETS:
        r = paced[t]
        r["p50_vs_tasks"] = rt.ratio(r["p50_ms"], base_p["p50_ms"])
        r["p99_vs_tasks"] = rt.ratio(r["p99_ms"], base_p["p99_ms"])
        print(
            f"{t:<8} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
            f"{rt.fmt(r['p50_vs_tasks']):>13} {rt.fmt(r['p99_vs_tasks']):>13}"
        )
    return {"burst": burst, "paced": paced}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="events (tasks) per burst")
    parser.add_argument("--paced", type=int, default=300, help="events (tasks) per paced phase")
    parser.add_argument("--rate", type=float, default=50, help="per second in the paced phase")
    parser.add_argument("--warmup", type=int, default=100, help="events and tasks before")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=10, help="tasks at once per worker")
    parser.add_argument("--publishers", type=int, default=16, help="concurrent publish calls")
    parser.add_argument("--repeat", type=int, default=3, help="phases per target; median kept")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait per phase")
    parser.add_argument("--quick", action="store_true", help="a small run (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="write the results here")
    args = parser.parse_args()
    args.enqueuers = args.publishers  # what rt.warm_up reads
    if args.quick:
        args.count, args.paced, args.warmup, args.repeat = 300, 100, 30, 1
    runs = asyncio.run(run(args))
    summary = report(args, runs)
    settings = {k: v for k, v in vars(args).items() if k != "json"}
    rt.write_json(args.json, {"settings": settings, "summary": summary, "runs": runs})


if __name__ == "__main__":
    main()
