"""Task throughput, enqueue to done: N no-op tasks through the kernel against plain
taskiq-redis, measured in the same run with the same worker processes and concurrency.

- kernel: ``Kernel.load`` with the bench plugin on a temporary PostgreSQL database and Redis
  (a unique ``LYO_REDIS_PREFIX``); ``await kernel.tasks.enqueue(noop)`` N times; W
  ``python -m kernel worker`` processes; done when every ``TaskRun`` row has succeeded.
- taskiq-redis: a bare ``RedisStreamBroker`` with a ``RedisAsyncResultBackend`` and
  ``taskiq worker --workers W`` running the same no-op; done when the consumer group has
  read and acknowledged every message (taskiq acknowledges once the result is saved).

Workers are started and warmed up before the clock starts. Two phases of N tasks each:
flow (enqueue while the workers run: first enqueue to last done) and drain (enqueue while
the workers are stopped with SIGSTOP, then resume them: resume to last done, the workers'
capacity). CPU time per task is read from /proc for the workers, this process, the
PostgreSQL backends of the benchmark's database and the Redis server; on a shared machine
it is steadier than wall time. Workers get ``socket_timeout=120`` in their Redis URL: with
redis-py's default (5 s) a worker stopped for longer dies on its pending XREADGROUP.
Run it from the repository root::

    python -m bench.tasks --json bench/results/tasks.json
    python -m bench.tasks --quick
    python -m bench.tasks --breakdown   # CPU per step of a kernel task, one process
    python -m bench.tasks --profile bench/results/profile  # cProfile dumps of the workers

Timings are printed, never asserted.
"""

from __future__ import annotations

import os
import sys

if os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = os.path.dirname(sys.path[0])  # run as ``python bench/tasks.py``

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import _runtime as rt

GROUP = "bench"


# -- the measurement, the same for both ---------------------------------------------------


async def measure(
    args: argparse.Namespace,
    procs: list[Any],
    consumers: Callable[[], Awaitable[int]],
    send: Callable[[int], Awaitable[Any]],
    finished: Callable[[int], Awaitable[bool]],
    poll: float,
    meter: rt.CpuMeter,
) -> dict[str, Any]:
    """Warm up, then two phases of ``args.tasks`` tasks each.

    - flow: enqueue while the workers run; clock from the first enqueue to the last done.
    - drain: enqueue while the workers are stopped (SIGSTOP), so enqueue/s is the client
      alone; then resume them: clock from the resume to the last done (worker capacity).
    """
    n = args.tasks
    warmup = await rt.warm_up(consumers, args, send, procs)
    await rt.wait_for(lambda: finished(warmup), 60, "the warm-up", procs=procs)
    flow_start = time.time()
    await rt.gather_limited(n, args.enqueuers, send)
    flow_enqueued = time.time()
    flow_done = await rt.wait_for(
        lambda: finished(warmup + n), args.timeout, "the flow phase", procs=procs, interval=poll
    )
    rt.pause(procs, True)
    await asyncio.sleep(0.5)  # let anything in flight settle
    cpu_enqueue = await meter.snapshot()
    drain_enqueue = time.time()
    await rt.gather_limited(n, args.enqueuers, send)
    drain_enqueued = time.time()
    cpu_enqueued = await meter.snapshot()
    rt.pause(procs, False)
    drain_start = time.time()
    drain_done = await rt.wait_for(
        lambda: finished(warmup + 2 * n),
        args.timeout,
        "the drain phase",
        procs=procs,
        interval=poll,
    )
    cpu_done = await meter.snapshot()
    return {
        "cpu_ms_per_task": {
            "enqueue": meter.spent(cpu_enqueue, cpu_enqueued, n),
            "execute": meter.spent(cpu_enqueued, cpu_done, n),
        },
        "warmup": warmup,
        "flow": (flow_start, flow_enqueued, flow_done),
        "drain": (drain_enqueue, drain_enqueued, drain_start, drain_done),
    }


def figures(target: str, args: argparse.Namespace, t: dict[str, Any]) -> dict[str, Any]:
    n = args.tasks
    flow_start, flow_enqueued, flow_done = t["flow"]
    drain_enqueue, drain_enqueued, drain_start, drain_done = t["drain"]
    return {
        "target": target,
        "tasks": n,
        "enqueue_per_s": round(n / (drain_enqueued - drain_enqueue), 1),
        "flow_tasks_per_s": round(n / (flow_done - flow_start), 1),
        "flow_enqueue_per_s": round(n / (flow_enqueued - flow_start), 1),
        "drain_tasks_per_s": round(n / (drain_done - drain_start), 1),
        "cpu_ms_per_task": t["cpu_ms_per_task"],
    }


# -- plain taskiq-redis ----------------------------------------------------------------------


def make_taskiq_broker(prefix: str, url: str = rt.REDIS_URL) -> Any:
    """A bare taskiq-redis stream broker and result backend with one no-op task."""
    from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

    broker = RedisStreamBroker(
        url,
        queue_name=f"{prefix}:stream",
        consumer_group_name=GROUP,
        xread_block=1000,
    ).with_result_backend(
        RedisAsyncResultBackend(url, result_ex_time=86400, prefix_str=f"{prefix}:result")
    )

    async def noop() -> None:
        return None

    broker.register_task(noop, task_name="bench:noop")
    return broker


def taskiq_broker() -> Any:
    """The broker factory ``taskiq worker bench.tasks:taskiq_broker`` loads."""
    return make_taskiq_broker(os.environ["BENCH_TASKIQ_PREFIX"], rt.PAUSABLE_REDIS_URL)


async def run_taskiq(args: argparse.Namespace) -> dict[str, Any]:
    from redis.asyncio import Redis

    prefix = rt.unique_prefix()
    stream = f"{prefix}:stream"
    broker = make_taskiq_broker(prefix)
    await broker.startup()  # declares the consumer group: nothing kicked is missed
    redis = Redis.from_url(rt.REDIS_URL)
    task = broker.find_task("bench:noop")
    env = {**os.environ, "BENCH_TASKIQ_PREFIX": prefix}
    cmd = [sys.executable, "-m", "taskiq", "worker", "bench.tasks:taskiq_broker"]
    cmd += ["--workers", str(args.workers), "--max-async-tasks", str(args.concurrency)]
    cmd += ["--log-level", "WARNING"]

    async def kick(_: int) -> None:
        await task.kiq()

    async def finished(total: int) -> bool:
        return await rt.group_done(redis, stream, GROUP, total)

    try:
        with rt.processes() as procs:
            procs.append(rt.start(cmd, env))
            meter = rt.CpuMeter(procs, None)
            times = await measure(
                args, procs, lambda: rt.consumers(redis, stream, GROUP), kick, finished, 0.02, meter
            )
    finally:
        await broker.shutdown()
        await rt.delete_prefix(redis, prefix)
        await redis.aclose()
    return figures("taskiq-redis", args, times)


# -- the kernel ----------------------------------------------------------------------------


async def db_stats(url: str) -> dict[str, int]:
    """Counters of the benchmark's own database (flushed by backends as they exit)."""
    import asyncpg  # type: ignore[import-untyped]

    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(url.rsplit("/", 1)[0].replace("postgres://", "postgresql://"))
    try:
        row = await admin.fetchrow(
            "SELECT xact_commit, tup_inserted, tup_updated FROM pg_stat_database "
            "WHERE datname = $1",
            name,
        )
    finally:
        await admin.close()
    return dict(row)


async def table_stats(url: str) -> dict[str, int]:
    """Counters of ``kernel_task_run``: HOT updates (no index touched) and its indexes."""
    import asyncpg  # type: ignore[import-untyped]

    db = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        row = await db.fetchrow(
            "SELECT n_tup_hot_upd, (SELECT count(*) FROM pg_indexes WHERE tablename = "
            "'kernel_task_run') AS indexes FROM pg_stat_user_tables "
            "WHERE relname = 'kernel_task_run'"
        )
    finally:
        await db.close()
    return {"tup_hot_updated": row["n_tup_hot_upd"], "indexes": row["indexes"]}


async def run_kernel(args: argparse.Namespace) -> dict[str, Any]:
    from redis.asyncio import Redis

    from bench import benchplugin
    from kernel.data.models import TaskRun
    from kernel.tasks import stream as stream_name
    from kernel.testing import temporary_database

    prefix = rt.unique_prefix()
    stream = stream_name(prefix, "default")
    redis = Redis.from_url(rt.REDIS_URL)
    polls = 0

    async def finished(total: int) -> bool:
        nonlocal polls
        polls += 1
        return await TaskRun.filter(status="succeeded").count() >= total

    async with temporary_database() as url:
        kernel = await rt.start_kernel(url, prefix)

        async def enqueue(_: int) -> None:
            await kernel.tasks.enqueue(benchplugin.noop)

        env = rt.worker_env(url, prefix, LYO_REDIS_URL=rt.PAUSABLE_REDIS_URL)
        if args.profile:
            os.makedirs(args.profile, exist_ok=True)
        try:
            with rt.processes() as procs:
                for n in range(args.workers):
                    out = args.profile and os.path.join(args.profile, f"kernel-worker{n}.prof")
                    procs.append(rt.start(rt.kernel_worker(args.concurrency, out or None), env))
                meter = rt.CpuMeter(procs, url)
                try:
                    times = await measure(
                        args,
                        procs,
                        lambda: rt.consumers(redis, stream, "lyo"),
                        enqueue,
                        finished,
                        0.2,
                        meter,
                    )
                finally:
                    await meter.close()
            runs = await TaskRun.filter(status="succeeded").values_list("created_at", "finished_at")
        finally:
            await rt.delete_results_of(redis, stream)
            await kernel.stop()
            await rt.delete_prefix(redis, prefix)
            await redis.aclose()
        await asyncio.sleep(1)  # let the backends that exited publish their counters
        stats = await db_stats(url)
        stats.update(await table_stats(url))
    result = figures("kernel", args, times)
    # exact ends from the rows (the polls above see them up to 50 ms late)
    flow_start = times["flow"][0]
    drain_enqueue, _, drain_start, _ = times["drain"]
    flow = [
        (c.timestamp(), f.timestamp())
        for c, f in runs
        if flow_start <= c.timestamp() < drain_enqueue
    ]
    drain = [f.timestamp() for c, f in runs if c.timestamp() >= drain_enqueue]
    if len(flow) == args.tasks and len(drain) == args.tasks:
        result["flow_tasks_per_s"] = round(args.tasks / (max(f for _, f in flow) - flow_start), 1)
        result["drain_tasks_per_s"] = round(args.tasks / (max(drain) - drain_start), 1)
    result["flow_enqueue_to_done"] = rt.percentiles([f - c for c, f in flow])
    executed = times["warmup"] + 2 * args.tasks
    # whole run (set-up and warm-up included, this benchmark's polls excluded)
    result["db_per_task"] = {
        "transactions": round((stats["xact_commit"] - polls) / executed, 2),
        "rows_inserted": round(stats["tup_inserted"] / executed, 2),
        "rows_updated": round(stats["tup_updated"] / executed, 2),
        "rows_hot_updated": round(stats["tup_hot_updated"] / executed, 2),
        "task_run_indexes": stats["indexes"],
    }
    return result


# -- the report ----------------------------------------------------------------------------


def print_table(results: list[dict[str, Any]]) -> dict[str, Any]:
    base = next(r for r in results if r["target"] == "taskiq-redis")
    print(
        f"\n{'target':<13} {'tasks':>6} {'enqueue/s':>10} {'flow/s':>8} {'vs taskiq':>10} "
        f"{'drain/s':>8} {'vs taskiq':>10}"
    )
    for r in results:
        r["flow_vs_taskiq"] = rt.ratio(r["flow_tasks_per_s"], base["flow_tasks_per_s"])
        r["drain_vs_taskiq"] = rt.ratio(r["drain_tasks_per_s"], base["drain_tasks_per_s"])
        r["enqueue_vs_taskiq"] = rt.ratio(r["enqueue_per_s"], base["enqueue_per_s"])
        print(
            f"{r['target']:<13} {r['tasks']:>6} {r['enqueue_per_s']:>10.0f} "
            f"{r['flow_tasks_per_s']:>8.0f} {rt.fmt(r['flow_vs_taskiq']):>10} "
            f"{r['drain_tasks_per_s']:>8.0f} {rt.fmt(r['drain_vs_taskiq']):>10}"
        )
    kernel = next(r for r in results if r["target"] == "kernel")
    lat, db = kernel["flow_enqueue_to_done"], kernel["db_per_task"]
    print(
        f"kernel flow enqueue->done p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms; "
        f"per task ~{db['transactions']:.1f} DB transactions, "
        f"{db['rows_inserted']:.1f} rows inserted, {db['rows_updated']:.1f} rows updated "
        f"({db['rows_hot_updated']:.1f} HOT: no index touched; the table has "
        f"{db['task_run_indexes']} indexes)"
    )
    print("\nCPU ms per task (enqueue: workers stopped; execute: the drain)")
    parts = ("client", "workers", "postgres", "redis")
    print(f"{'target':<13} {'phase':<8} " + " ".join(f"{p:>9}" for p in parts) + f" {'sum':>8}")
    for r in results:
        for phase, cpu in r["cpu_ms_per_task"].items():
            cells = " ".join(f"{cpu[p]:>9.3f}" for p in parts)
            print(f"{r['target']:<13} {phase:<8} {cells} {sum(cpu[p] for p in parts):>8.3f}")
    goals = {}
    for phase in ("flow", "drain"):
        value = kernel[f"{phase}_vs_taskiq"] or 0.0
        goal = f"kernel {phase} >= 0.8 x taskiq-redis"
        goals[goal] = [value, value >= 0.8]
        print(f"{'met   ' if value >= 0.8 else 'MISSED'} {goal}: {value:.2f}")
    return goals


async def breakdown(args: argparse.Namespace) -> dict[str, Any]:
    """CPU per call of each step a kernel task takes, in this process (the kernel's own
    methods on a temporary database), one call at a time and, for the statements that
    concurrent runs share, 10 at a time; next to raw asyncpg and Redis calls: where a kernel
    worker's time goes."""
    import uuid

    import asyncpg  # type: ignore[import-untyped]
    from redis.asyncio import Redis

    from bench import benchplugin
    from kernel import Identity, TaskContext
    from kernel.data.models import TaskRun
    from kernel.tasks import snapshot
    from kernel.testing import temporary_database

    n = args.tasks
    prefix = rt.unique_prefix()
    rows: list[dict[str, Any]] = []
    redis = Redis.from_url(rt.REDIS_URL)
    async with temporary_database() as url:
        kernel = await rt.start_kernel(url, prefix)
        tasks = kernel.tasks
        ids: list[uuid.UUID] = []
        raw = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
        pool = await asyncpg.create_pool(
            url.replace("postgres://", "postgresql://"), min_size=1, max_size=1
        )
        meter = rt.CpuMeter([], url)
        sql = "UPDATE kernel_task_run SET percent = percent + 1 WHERE id = $1"

        async def enqueue(i: int) -> None:
            ids.append((await tasks.enqueue(benchplugin.noop)).id)

        async def pooled(i: int) -> None:
            async with pool.acquire() as connection:
                await connection.execute(sql, ids[i])

        def context(i: int) -> TaskContext:
            return TaskContext(ids[i], "bench:noop", 1, Identity(), None, kernel)

        from taskiq import TaskiqResult
        from taskiq_redis import RedisAsyncResultBackend

        # the baseline's result backend (the kernel has none: results live in its table)
        backend = RedisAsyncResultBackend(rt.REDIS_URL, prefix_str=f"{prefix}:result")
        result = TaskiqResult(is_err=False, return_value=None, execution_time=0.0, log=None)
        frozen: dict[str, Any] = {}

        async def finish(i: int) -> None:
            await tasks.worker.finish(ids[i], "succeeded", result=None, percent=100.0)

        async def finish_again(i: int) -> None:
            await tasks.worker.finish(ids[n + i], "succeeded", result=None, percent=100.0)

        async def published(i: int) -> None:
            if not frozen:  # a finished run's snapshot, as finish publishes it
                frozen.update(snapshot(await TaskRun.get(id=ids[0])))
            await tasks.publish(ids[i], frozen)

        # (name, step, calls at a time); the enqueues make 2 n runs: n for each lease pass
        steps: list[tuple[str, Any, int]] = [
            ("enqueue: INSERT task run + XADD", enqueue, 1),
            ("enqueue, 10 at a time (shared INSERT)", enqueue, 10),
            ("worker: take_lease (UPDATE, PUBLISH)", lambda i: tasks.worker.take_lease(ids[i]), 1),
            ("worker: finish (UPDATE RETURNING, PUBLISH)", finish, 1),
            (
                "worker: take_lease, 10 at a time",
                lambda i: tasks.worker.take_lease(ids[n + i]),
                10,
            ),
            ("worker: finish, 10 at a time", finish_again, 10),
            (
                "worker: check_cancelled (SELECT; progress only)",
                lambda i: context(i).check_cancelled(),
                1,
            ),
            ("worker: hub publish of a snapshot", published, 1),
            (
                "reference: taskiq result backend SET",
                lambda i: backend.set_result(f"r{i}", result),
                1,
            ),
            ("reference: asyncpg UPDATE, one connection", lambda i: raw.execute(sql, ids[i]), 1),
            ("reference: asyncpg UPDATE, pool acquire", pooled, 1),
            ("reference: Redis PUBLISH", lambda i: redis.publish(f"{prefix}:rt:x", "x" * 300), 1),
        ]
        try:
            for name, step, at_once in steps:
                before, wall = await meter.snapshot(), time.perf_counter()
                await rt.gather_limited(n, at_once, step)
                wall = time.perf_counter() - wall
                spent = meter.spent(before, await meter.snapshot(), n)
                rows.append(
                    {
                        "step": name,
                        "client_cpu_us": round(spent["client"] * 1000),
                        "postgres_cpu_us": round(spent["postgres"] * 1000),
                        "wall_us": round(wall * 1e6 / n),
                    }
                )
        finally:
            await meter.close()
            await raw.close()
            await pool.close()
            await backend.shutdown()
            await rt.delete_results_of(redis, stream_name(prefix))
            await kernel.stop()
            await rt.delete_prefix(redis, prefix)
            await redis.aclose()
    print(f"\nper call, {n} calls each (client CPU is this process's)")
    print(f"{'step':<48} {'client CPU us':>13} {'postgres CPU us':>15} {'wall us':>8}")
    for r in rows:
        print(
            f"{r['step']:<48} {r['client_cpu_us']:>13} {r['postgres_cpu_us']:>15} {r['wall_us']:>8}"
        )
    return {"breakdown": rows}


def stream_name(prefix: str) -> str:
    from kernel.tasks import stream

    return stream(prefix, "default")


async def main_async(args: argparse.Namespace) -> None:
    environment = await rt.environment()
    rt.print_environment(environment)
    runs: dict[str, list[dict[str, Any]]] = {"taskiq-redis": [], "kernel": []}
    for _ in range(args.repeat):  # interleaved, so drift hits both alike
        for target, run in (("taskiq-redis", run_taskiq), ("kernel", run_kernel)):
            r = await run(args)
            runs[target].append(r)
            print(
                f"  {target}: flow {r['flow_tasks_per_s']:.0f} tasks/s, "
                f"drain {r['drain_tasks_per_s']:.0f} tasks/s",
                file=sys.stderr,
            )
    key = "flow_tasks_per_s"
    results = [sorted(rs, key=lambda r: r[key])[(len(rs) - 1) // 2] for rs in runs.values()]
    goals = print_table(results)
    settings = {k: v for k, v in vars(args).items() if k not in ("json", "profile")}
    environment["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report = {"settings": settings, "environment": environment, "results": results}
    rt.write_json(args.json, {**report, "goals": goals})


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=3000, help="tasks timed per target")
    parser.add_argument("--warmup", type=int, default=200, help="tasks run before the clock")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=10, help="tasks at once per worker")
    parser.add_argument("--enqueuers", type=int, default=16, help="concurrent enqueue calls")
    parser.add_argument("--repeat", type=int, default=1, help="runs per target; median kept")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait per run")
    parser.add_argument("--quick", action="store_true", help="a small run (under a minute)")
    parser.add_argument("--profile", metavar="DIR", help="cProfile each kernel worker into DIR")
    parser.add_argument("--json", metavar="PATH", help="write the results here")
    parser.add_argument(
        "--breakdown", action="store_true", help="CPU per step of a kernel task instead"
    )
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.warmup, args.repeat = min(args.tasks, 500), 50, 1
    if args.breakdown:
        args.tasks = min(args.tasks, 1000)
        rt.write_json(args.json, asyncio.run(breakdown(args)))
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
